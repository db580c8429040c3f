"""overfitting_cost: what a val-loss rise cost, and the rises that a few val samples, val copies of training inputs
or val answers wrong from the start carry rather than memorisation."""

import numpy as np

from fixtures.diagnosis import diagnose_dynamics
from fixtures.dynamics import binary_dynamics
from fixtures.overfitting import (CONFIG, memorising_run, overconfident_dynamics, overfit_dynamics,
                                  small_val_answers_lost_run)


def test_the_sentence_says_whether_the_rise_cost_val_accuracy_or_only_confidence():
    # Runs of new-user trials read overfitting 0.7-0.99 on a val-loss rise whose stopping point changed test accuracy
    # by 0.003 or less, and the sentence did not say the rise cost nothing in accuracy.
    confident = diagnose_dynamics(overconfident_dynamics(), config=CONFIG).verdict("overfitting")
    assert confident.confidence >= 0.5, confident.summary
    assert ("val accuracy did not fall with it (0.900 at epoch 11, 0.900 at epoch 40, within its noise of +-0.021): "
            "the whole rise came from 20 samples it got wrong at both epochs growing surer of the wrong class (the "
            "others' loss fell meanwhile), which costs the calibration of its probabilities rather than right "
            "answers, so stopping at epoch 11 mainly buys better probabilities") in confident.summary, confident.summary
    assert confident.evidence["val_accuracy_cost"] == 0.0
    # A rise that took val accuracy down with it says so instead.
    costly = diagnose_dynamics(overfit_dynamics(), config=CONFIG).verdict("overfitting")
    assert "; val accuracy fell with it (0.750 at epoch 10, 0.000 at epoch 40)" in costly.summary, costly.summary
    assert "calibration" not in costly.summary


def test_the_val_samples_that_carry_a_rise_are_named_for_a_look_at_their_labels():
    # GunPoint with 15% of its val labels flipped: 97% of the rise came from 12 samples, 11 of them the flipped ones,
    # and nothing pointed at them.
    run = overconfident_dynamics()
    verdict = diagnose_dynamics(run, config=CONFIG).verdict("overfitting")
    wrong_ids = run["val"].sample_ids[np.arange(200) % 10 == 0]
    named = verdict.evidence["contradicted_val_ids"]
    assert sorted(named) == sorted(wrong_ids.tolist())
    # The whole rise is theirs (the others' loss fell) and accuracy held: their check comes first (trial 19: val labels
    # shifted by one in 18 of 129 samples read overfitting 1.00 with this check sixth).
    assert verdict.evidence["rise_all_in_val_errors"]
    advice = verdict.remedies[0]
    assert advice.name == "inspect_val_labels" and advice.action.startswith("look at the val samples it contradicts "
                                                                             "most surely (")
    assert "if their labels are wrong, it measures those labels rather than the model" in advice.action
    # Where the right answers' loss rose too, they are named after the model's own remedies.
    shared = diagnose_dynamics(overconfident_dynamics(right_sureness=-0.0005), config=CONFIG).verdict("overfitting")
    assert shared.evidence["contradicted_val_ids"] and not shared.evidence["rise_all_in_val_errors"], shared.summary
    assert shared.remedies[-1].name == "inspect_val_labels" and shared.remedies[0].name != "inspect_val_labels"
    # A rise spread over the right answers growing less sure names none.
    costly = diagnose_dynamics(overfit_dynamics(), config=CONFIG).verdict("overfitting")
    assert "contradicted_val_ids" not in costly.evidence
    assert "inspect_val_labels" not in {remedy.name for remedy in costly.remedies}


def test_a_rise_that_lies_all_in_val_copies_of_training_inputs_is_no_overfitting_of_held_out_samples():
    # Copies of training rows carrying random labels, a fifth of val: overfitting 0.94 with "stop at epoch 1", while the
    # other val samples' loss fell 0.122 -> 0.097.
    run = overconfident_dynamics()
    carriers = run["val"].sample_ids[np.arange(200) % 10 == 0].tolist()   # the 20 samples whose loss rises
    shared = {"val": {"count": 20, "same_label": 0, "ids": carriers}}
    alone = diagnose_dynamics(run, config=CONFIG).verdict("overfitting")
    copied = diagnose_dynamics(run, config=CONFIG, shared_inputs=shared).verdict("overfitting")
    assert alone.confidence > 0.5 and copied.confidence == 0.3 and copied.evidence["rise_in_copies"]
    assert "; but the rise lies all in the 20 val samples that copy training inputs (their loss " in copied.summary
    assert "on held-out samples the model did not get worse" in copied.summary
    # Copies that do not carry the rise leave the verdict as it was.
    others = run["val"].sample_ids[np.arange(200) % 10 == 1].tolist()
    bystanders = diagnose_dynamics(run, config=CONFIG, shared_inputs={"val": {"count": 20, "same_label": 20,
                                                                              "ids": others}})
    assert bystanders.verdict("overfitting").confidence == alone.confidence


def test_a_rise_that_is_one_val_samples_while_accuracy_held_is_only_considered():
    # ItalyPowerDemand at 14 val samples: the whole rise one sample's growing surer of a wrong answer, accuracy flat;
    # it had read overfitting 0.99, early stopping first, which lowered test accuracy 0.962 -> 0.927 on 1029 series.
    from lossgap.diagnosis.causes.overfitting import ONE_SAMPLE_CAP

    epochs, n = 30, 14
    ramp = np.clip(np.arange(1, epochs + 1) / 5, 0, 1)[:, None]
    train = 0.5 + np.linspace(0.1, 0.49, epochs)[:, None] + np.zeros((1, 60))  # the train loss keeps falling
    val = 0.5 + ramp * np.full((1, n), 0.4)
    val[:, 0] = np.where(np.arange(epochs) < 10, 0.3, np.linspace(0.3, 0.01, epochs))  # one sample, ever surer wrong
    diagnosis = diagnose_dynamics({"train": binary_dynamics(train, np.arange(60) % 2, split="train"),
                                   "val": binary_dynamics(val, np.arange(n) % 2)})
    verdict = diagnosis.verdict("overfitting")
    assert verdict.confidence == ONE_SAMPLE_CAP and "rise_in_one_sample" in verdict.evidence, diagnosis.to_text()
    assert "so the rise is one val sample of 14 (id " in verdict.summary
    assert diagnosis.headline.startswith("No problem found"), diagnosis.headline
    # Spread over several samples, the same rise is overfitting.
    val[:, :4] = val[:, [0]]
    spread = diagnose_dynamics({"train": binary_dynamics(train, np.arange(60) % 2, split="train"),
                                "val": binary_dynamics(val, np.arange(n) % 2)})
    assert spread.causes[:1] == ["overfitting"] and "rise_in_one_sample" not in spread.verdict("overfitting").evidence


def test_a_rise_that_a_few_val_samples_carry_while_the_rest_fall_is_only_considered():
    # A trial's GRU, solved (test 0.991 at its last epoch against 0.988 at the val-loss minimum, on 3000 clean series),
    # had read overfitting 0.91 with "stop at epoch 39": two of its 500 val samples grew surer wrong (6.4 and 6.2 nats)
    # while the other 498 samples' loss fell.
    from lossgap.diagnosis.causes.overfitting import ONE_SAMPLE_CAP

    epochs, n = 40, 500
    axis = np.arange(epochs)[:, None]
    train = 0.5 + np.linspace(0.1, 0.495, epochs)[:, None] + np.zeros((1, 400))  # the train loss keeps falling
    # Every right answer sure by epoch 10, a little surer after; two samples ever surer wrong from epoch 10 on.
    val = np.where(axis < 10, 0.5 + 0.048 * axis, 0.98 + 0.005 * (axis - 10) / 30) + np.zeros((1, n))
    val[:, :2] = np.where(axis < 10, 0.4, 0.4 * np.exp(-0.2 * (axis - 10)))
    run = {"train": binary_dynamics(train, np.arange(400) % 2, split="train"),
           "val": binary_dynamics(val, np.arange(n) % 2)}
    diagnosis = diagnose_dynamics(run)
    verdict = diagnosis.verdict("overfitting")
    ids = run["val"].sample_ids.tolist()
    assert verdict.evidence["rise_in_few_samples"][:2] == ids[:2], diagnosis.to_text()
    assert verdict.confidence == ONE_SAMPLE_CAP and "overfitting" not in diagnosis.causes, diagnosis.to_text()
    assert f"the 5 val samples of 500 whose loss rose most (ids {ids[0]}, {ids[1]}," in verdict.summary
    assert "the other 495 samples' loss fell" in verdict.summary
    # Spread over a tenth of val, the same rise is overfitting.
    val[:, :50] = val[:, [0]]
    spread = diagnose_dynamics({"train": binary_dynamics(train, np.arange(400) % 2, split="train"),
                                "val": binary_dynamics(val, np.arange(n) % 2)})
    assert spread.causes[:1] == ["overfitting"], spread.to_text()
    assert "rise_in_few_samples" not in spread.verdict("overfitting").evidence


def test_a_rise_on_val_samples_wrong_from_the_first_epoch_is_not_memorisation():
    # A quarter of the val labels flipped (train 0.944, val 0.710 at epoch 1): overfitting 1.00 with "stop at epoch 1"
    # first, where the model kept improving on the true val labels (0.93 -> 0.965).
    from fixtures.val_split_runs import val_wrong_from_start_run
    from lossgap.diagnosis.causes.overfitting import ONE_SAMPLE_CAP

    diagnosis = diagnose_dynamics(val_wrong_from_start_run())
    verdict = diagnosis.verdict("overfitting")
    assert verdict.confidence == ONE_SAMPLE_CAP and verdict.evidence["wrong_from_the_start"], diagnosis.to_text()
    assert "too soon for the model to have memorised its training set" in verdict.summary
    assert verdict.remedies[0].name == "inspect_val_labels"


def test_overfitting_points_at_the_training_samples_it_memorised_after_contradicting_them():
    # Trial 23: 5-13% of the labels flipped in train and val, no early stopping, read overfitting 0.95-1.00 with no
    # word of the training samples it memorised, nearly all of them the flipped ones. The confidence stays (the
    # dynamics cannot tell them from hard samples); the last remedy says to look at them.
    verdict = diagnose_dynamics(memorising_run()).verdict("overfitting")
    assert verdict.confidence >= 0.5 and verdict.evidence["memorised_suspects"] == 10
    assert verdict.remedies[-1].name == "inspect_suspects"
    assert "memorised after epoch" in verdict.remedies[-1].action
    # Suspects the model never memorised are not what it overfits.
    kept = diagnose_dynamics(memorising_run(memorised_from=100)).verdict("overfitting")
    assert "memorised_suspects" not in kept.evidence
    assert all(remedy.name != "inspect_suspects" for remedy in kept.remedies)


def test_a_rise_one_val_sample_carries_is_overfitting_when_other_answers_turned_wrong_too():
    # Trial 24: 12 val samples, 3 turned from right to wrong (1.000 -> 0.750) while one carried most of the rise, had
    # read "one answer growing surer is no sign the model got worse" and "No problem found" 0.55 (test 0.738 against
    # 0.920 for the same model with early stopping on the whole pool).
    lost = diagnose_dynamics(small_val_answers_lost_run(lost=2))
    verdict = lost.verdict("overfitting")
    assert lost.causes[0] == "overfitting" and verdict.confidence > 0.9, lost.to_text()
    assert "rise_in_one_sample" not in verdict.evidence and "growing surer is no sign" not in verdict.summary
    assert "3 fewer of its 12 samples right" in verdict.summary
    # One answer turned wrong, the one that carries the rise: still a few answers growing surer.
    one = diagnose_dynamics(small_val_answers_lost_run(lost=0)).verdict("overfitting")
    assert "rise_in_one_sample" in one.evidence and one.confidence <= 0.45
    # Two of 120 lost is the noise floor itself (two samples' worth), not beyond it (trial 25: a mild rate that cost
    # nothing had read overfitting 1.00 by a float's last bit).
    floor = diagnose_dynamics(small_val_answers_lost_run(lost=1, val=120)).verdict("overfitting")
    assert "rise_in_one_sample" in floor.evidence and floor.confidence <= 0.45, floor.summary
