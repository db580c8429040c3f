"""The diagnosis's first line: "No cause found" when the model learned nothing that shows on val."""

from dataclasses import replace

import numpy as np
from fixtures.diagnosis import diagnose_dynamics, healthy_run, learned_then_converged
from fixtures.dynamics import binary_dynamics
from fixtures.imbalance_runs import weighted_trade_run
from fixtures.unstable_runs import faded_run
from fixtures.val_split_runs import shifted_mix_run
from lossgap.diagnosis import diagnose_evidence, gather_evidence
from lossgap.diagnosis.headline import LEARNED_LITTLE_CAP, headline, learned_little


def _evidence(learned: bool):
    evidence = gather_evidence({}, healthy_run(), train_config={"optimizer": {"name": "adam", "lr": 0.003}})
    if learned:
        return evidence
    # Val accuracy 0.52 on 200 samples against a majority share of 0.50, and the val loss not clearly below the
    # prior's: what the model learned does not show on val.
    weak = replace(evidence.signal, accuracy=0.52, num_correct=104, p_value=0.3, significant=False)
    return replace(evidence, signal=weak, loss_clearly_below_prior=False)


def test_nothing_found_in_a_model_that_learned_nothing_visible_is_no_cause_found_not_no_problem():
    # An ArrowHead LSTM-FCN with 40% of its labels flipped, val accuracy 0.43 against a majority share of 0.38, had
    # read "No problem found" 0.87: no rule named a fault, but nothing showed the run was fine either.
    weak, fine = _evidence(learned=False), _evidence(learned=True)
    assert learned_little(weak) and not learned_little(fine)
    line = headline([], [], weak, LEARNED_LITTLE_CAP)
    assert line.startswith("No cause found (0.50): val accuracy 0.520 at epoch ")
    assert ("is not significantly above the majority baseline 0.500: the model learned little that carries over to "
            "val, and no rule can tell why from these curves") in line
    assert headline([], [], fine, 0.9).startswith("No problem found (0.90)")


def test_no_cause_found_is_never_surer_than_its_cap():
    # The weak signal is pasted onto healthy dynamics, whose balanced accuracy still shows signal: no rule fires.
    diagnosis = diagnose_evidence(_evidence(learned=False))
    assert not diagnosis.verdicts and diagnosis.headline.startswith("No cause found (0.50)"), diagnosis.headline
    assert diagnosis.healthy_confidence == LEARNED_LITTLE_CAP
    assert diagnose_evidence(_evidence(learned=True)).healthy_confidence > LEARNED_LITTLE_CAP


def test_val_drawn_from_another_mix_of_classes_is_named_where_accuracy_trails_its_majority_share():
    # A model trained on 50/50 and judged on 85/15, at its task's ceiling, had read "No problem found (0.91): val
    # accuracy 0.810 at epoch 3 (majority baseline 0.850)" without a word on why it sat below that baseline.
    shifted = diagnose_dynamics(shifted_mix_run())
    assert shifted.evidence.signal.accuracy < shifted.evidence.signal.baseline_accuracy
    assert shifted.headline.startswith("No problem found"), shifted.headline
    assert "val holds another mix of classes than train, so that baseline is no fair bar: balanced accuracy" \
        in shifted.headline
    note = next(note for note in shifted.limitations if note.startswith("train and val hold different mixes"))
    assert "class 0 50% of train and 98% of val" in note and "Check how val was drawn" in note
    # The same model judged on the mix it trained on: no note, no clause.
    even = diagnose_dynamics(shifted_mix_run(val_counts=(100, 100)))
    assert "another mix" not in even.headline
    assert not any(note.startswith("train and val hold different mixes") for note in even.limitations)


def test_val_labels_that_contradict_what_the_model_learned_are_named_first():
    # A GRU whose val classes were rotated against train's read overfitting 1.00 at val accuracy 0.000 on four
    # classes, without a word on the labels.
    run = healthy_run()
    labels = np.arange(200) % 2
    run["val"] = binary_dynamics(1.0 - learned_then_converged(200, seed=1), labels)  # sure of the other class
    rotated = diagnose_dynamics(run)
    assert rotated.headline.startswith("Val labels contradict what the model learned: val accuracy 0.000 at epoch 20 "
                                       "is far below the 0.500 that guesses ignoring the labels get"), rotated.headline
    assert any("look coded differently from train's" in note for note in rotated.limitations)
    assert not diagnose_dynamics(healthy_run()).headline.startswith("Val labels contradict")


def test_val_that_is_the_training_set_again_is_named_first():
    # An own loop whose val pass iterated the training set (the article's flaw) read "No problem found" 0.95 on
    # random labels.
    run = healthy_run()
    train = run["train"]
    run["val"] = replace(train, split="val")
    same = diagnose_dynamics(run)
    assert same.headline.startswith("Val looks like the training set: 400 of its 400 samples carry a training "
                                    "sample's id and label"), same.headline
    assert any("val looks like the training set, so every val figure measures" in note for note in same.limitations)
    assert not diagnose_dynamics(healthy_run()).headline.startswith("Val looks like")


def test_a_class_weighted_run_is_also_judged_by_the_balanced_accuracy_its_loss_aims_at():
    # A 95/5 run with --class-weights balanced read "No problem found ... val accuracy 0.965 (majority baseline
    # 0.950)" only, and its overfitting line named the unweighted val loss's lowest epoch as "val loss was lowest".
    labels_train, labels_val = (np.arange(400) % 10 == 0).astype(int), (np.arange(200) % 10 == 0).astype(int)
    run = {"train": binary_dynamics(learned_then_converged(400), labels_train, split="train"),
           "val": binary_dynamics(learned_then_converged(200, seed=1), labels_val)}
    config = {"class_weights": "balanced", "epochs": 20}
    weighted = diagnose_dynamics(run, config=config)
    balanced = weighted.evidence.val_per_class.balanced_accuracy[weighted.evidence.best_epoch - 1]
    assert weighted.headline.startswith("No problem found"), weighted.headline
    assert f"; balanced accuracy {balanced:.3f}, what its class-weighted loss aims at)" in weighted.headline
    overfitting = weighted.verdict("overfitting")
    assert overfitting.summary.startswith("the unweighted val loss was lowest at"), overfitting.summary
    plain = diagnose_dynamics(run, config={"epochs": 20})
    assert "balanced accuracy" not in plain.headline
    assert plain.verdict("overfitting").summary.startswith("val loss was lowest at")


def _tiny_val_run(val_right: int, epochs=12, n=120, val=6):
    """Two classes; train learned to 75% right (loss well below the prior's), val ``val_right`` of 6 right and sure
    (a val loss half the prior's, which 6 samples cannot confirm: no_signal stays "considered"); flat after epoch 4."""
    ramp = np.clip(np.arange(1, epochs + 1) / 4, 0, 1)[:, None]
    train_level = np.where(np.arange(n) % 4 == 0, 0.3, 0.85)[None, :]
    val_level = np.where(np.arange(val) < val_right, 0.9, 0.45)[None, :]
    return {"train": binary_dynamics(0.5 + ramp * (train_level - 0.5), np.arange(n) % 2, split="train"),
            "val": binary_dynamics(0.5 + ramp * (val_level - 0.5), np.arange(val) % 2)}


def test_a_val_split_too_small_to_show_anything_is_no_cause_found_with_what_train_shows():
    # An ArrowHead LSTM 60% right on its training set at the end, val 0.667 then 0.167 on 6 samples, had read "No
    # problem found" 0.53: on 6 samples 4 right is no evidence either way.
    diagnosis = diagnose_dynamics(_tiny_val_run(val_right=4))
    assert diagnosis.headline.startswith("No cause found (0.50): val accuracy 0.667 at epoch "), diagnosis.headline
    assert "on 6 val samples is not significantly above the majority baseline 0.500, and " in diagnosis.headline
    assert "val is too small to show whether the model learned anything that carries over" in diagnosis.headline
    assert "on train it got 75% right at best" in diagnosis.headline
    assert diagnosis.healthy_confidence <= LEARNED_LITTLE_CAP
    # Every val sample right on the same split is evidence that what it learned carries over: a model 75% right on
    # its own training set is then named too weak.
    shown = diagnose_dynamics(_tiny_val_run(val_right=6))
    assert shown.causes[:1] == ["underfitting"], shown.headline


def test_a_val_split_of_thirty_at_its_majority_share_is_no_cause_found_not_no_problem():
    # A 300-step LSTM memorising 87% of its training set, val 0.533 on 30 samples, the majority share, had read "No
    # problem found" 0.54 (test 0.435): at 30 samples an accuracy half-way to 1 would still not test significant, so
    # "learned little" could not be said, and the check for splits too small to show anything stopped at 29.
    from lossgap.diagnosis.headline import SMALL_VAL, signal_unshown

    evidence = _evidence(learned=False)
    at_share = replace(evidence.signal, num_samples=SMALL_VAL, num_correct=16, accuracy=16 / 30,
                       baseline_accuracy=16 / 30, p_value=0.6)
    thirty = replace(evidence, signal=at_share)
    assert not learned_little(thirty) and signal_unshown(thirty)
    line = headline([], [], thirty, LEARNED_LITTLE_CAP)
    assert line.startswith("No cause found (0.50): val accuracy 0.533 at epoch ") and "on 30 val samples" in line
    assert "val is too small to show whether the model learned anything" in line
    # Large enough to show a lift, it is "learned little" instead, as before.
    assert learned_little(evidence) and not signal_unshown(evidence)


def test_a_delivered_model_back_at_the_majority_baseline_is_never_no_problem_found():
    # Trial 15: a 2-layer LSTM at dropout 0.5, val 0.428 at epoch 10 against a baseline of 0.270 and 0.272 at its last,
    # delivered, epoch, had read "No problem found" 0.55 ("loss and accuracy tell the same story").
    diagnosis = diagnose_dynamics(faded_run())
    assert diagnosis.evidence.delivered_epoch == 30 and diagnosis.evidence.best_epoch == 10
    assert not diagnosis.causes and diagnosis.healthy_confidence <= LEARNED_LITTLE_CAP
    assert diagnosis.headline.startswith("No cause found (0.50): val accuracy 0.710 at epoch 10 (majority baseline "
                                         "0.500), but the model the run delivers, epoch 30's, is back at 0.505"), (
        diagnosis.headline)
    # Delivering the best epoch (early stopping's restore) keeps what it learned.
    kept = diagnose_dynamics(faded_run(), summary={"best_epoch": 10, "delivered_epoch": 10})
    assert "back at" not in kept.headline, kept.headline


def test_a_class_weighted_run_whose_balanced_accuracy_shows_what_it_learned_is_not_told_val_is_too_small():
    # Trial 16's weighted runs on 8%-rare data (300 val samples, balanced accuracy 0.77-0.87, the constant answer 0.50)
    # had read "val is too small to show whether the model learned anything": the test was on plain accuracy, which the
    # weights trade away on purpose.
    weighted = diagnose_dynamics(weighted_trade_run(), config={"class_weights": "balanced", "epochs": 20})
    evidence = weighted.evidence
    assert evidence.signal.accuracy < evidence.signal.baseline_accuracy and evidence.balanced_signal_p < 1e-6
    assert weighted.headline.startswith("No problem found"), weighted.headline
    assert "what its class-weighted loss aims at" in weighted.headline and "too small" not in weighted.headline
    # Unweighted, the same figures are a model below the majority share on a split that could not show otherwise.
    plain = diagnose_dynamics(weighted_trade_run(), config={"epochs": 20})
    assert not plain.headline.startswith("No problem found"), plain.headline


def test_nothing_found_for_a_model_far_from_fitting_its_training_set_is_no_cause_found_not_no_problem():
    # Trials 17 and 18 read "No problem found" 0.55-0.70 at train 0.43-0.76, on tasks where a working model or another
    # rate reaches val 0.97-1.00: whether a level that far from a fit is the task's ceiling the curves cannot tell.
    from fixtures.underfitting import level_run
    from lossgap.diagnosis.headline import UNFITTED_SHARE

    config = {"model": {"kind": "lstm", "hidden_size": 32}, "optimizer": {"name": "adam", "lr": 0.003}, "epochs": 30}
    far = diagnose_dynamics(level_run(0.3), config=config, sequence_length=20)
    assert not far.causes and not far.explanations, far.to_text()
    wrong = 1.0 - float(far.evidence.curves.train_accuracy[-1])
    assert wrong >= UNFITTED_SHARE
    assert far.headline.startswith(f"No cause found ({LEARNED_LITTLE_CAP:.2f})"), far.headline
    assert f"but the model gets {wrong:.0%} of its own training samples wrong at epoch 30" in far.headline
    assert far.healthy_confidence == LEARNED_LITTLE_CAP
    # diagnosis.json says so too: "No cause found" is not healthy (trial 23's script read healthy: true beside it).
    assert not far.healthy and far.to_dict()["healthy"] is False and far.to_dict()["no_cause_found"] is True
    # Near a fit, nothing found is "No problem found" as before.
    near = diagnose_dynamics(level_run(0.05), config=config, sequence_length=20)
    assert near.headline.startswith("No problem found") and near.healthy_confidence > LEARNED_LITTLE_CAP, near.headline
    assert near.healthy and near.to_dict()["no_cause_found"] is False


def test_gradients_that_look_never_zeroed_are_named_before_any_headline():
    # Trial 19: an own GRU at Adam without optimizer.zero_grad() read overfitting 1.00 with nothing on the loop; its
    # gradient norm grew 4.1 -> 30.5 while its train loss fell to 0.014. lossgap's own trainer zeroes them itself.
    from fixtures.gradients import observed_gradients

    epochs, names = 20, ("gru.weight_ih_l0", "gru.weight_hh_l0", "head.weight")
    total = np.geomspace(0.67, 416, epochs)
    gradients = observed_gradients(names, np.repeat(total[:, None] / 2, 3, axis=1), total)
    own = gather_evidence({}, healthy_run(), train_config=None, settings={"optimizer": {"name": "adam", "lr": 0.003}})
    text = diagnose_evidence(replace(own, gradients=gradients)).headline
    assert text.startswith("The gradients look never zeroed: their total norm grew from 0.67 to 416"), text
    assert "check that optimizer.zero_grad() runs in every training step" in text
    trainer = gather_evidence({}, healthy_run(), train_config={"optimizer": {"name": "adam", "lr": 0.003}})
    assert "never zeroed" not in diagnose_evidence(replace(trainer, gradients=gradients)).headline
