"""The engine: healthy runs, explanations, the explains-DAG, consistent remedies, split-independent causes."""

import numpy as np
import pytest

from fixtures.diagnosis import diagnose_dynamics, healthy_run
from fixtures.dynamics import binary_dynamics, dynamics_from_logits
from fixtures.imbalance_runs import majority_only_run, rare_recalled_run
from fixtures.noise_runs import noisy_labels_run
from lossgap.diagnosis import REGISTRY, Verdict
from lossgap.diagnosis.engine import _discount
from lossgap.errors import ConfigError


def test_a_run_that_learned_and_converged_is_healthy():
    diagnosis = diagnose_dynamics(healthy_run())
    assert diagnosis.healthy, diagnosis.to_text()
    assert diagnosis.headline.startswith("No problem found")
    assert diagnosis.healthy_confidence >= 0.9


def test_every_cause_only_explains_causes_after_it():
    order = [cause.code for cause in REGISTRY]
    for cause in REGISTRY:
        assert all(order.index(code) > order.index(cause.code) for code in cause.explains), cause.code
    assert sorted(order) == sorted({"no_signal", "unstable_optimization", "label_noise", "class_imbalance_bias",
                                    "underfitting", "overfitting", "confidence_refinement"})


def test_an_explained_cause_is_discounted_and_says_by_what():
    raw = [Verdict(cause.code, 0.0, "s") for cause in REGISTRY]
    raw = [Verdict(v.cause, {"unstable_optimization": 0.8, "label_noise": 0.9}.get(v.cause, 0.0), "s") for v in raw]
    discounted = {verdict.cause: verdict for verdict in _discount(raw)}
    noise = discounted["label_noise"]
    assert abs(noise.confidence - 0.9 * 0.2) < 1e-12          # an explainer at 0.8 or more counts in full
    assert noise.evidence["explained_by"] == {"unstable_optimization": 0.8}
    assert discounted["unstable_optimization"].confidence == 0.8
    weak = [Verdict(v.cause, {"unstable_optimization": 0.2, "label_noise": 0.9}.get(v.cause, 0.0), "s") for v in raw]
    assert {v.cause: v for v in _discount(weak)}["label_noise"].confidence == 0.9   # a doubt at 0.2 explains nothing


def test_an_explainer_can_say_it_explains_none_of_one_cause():
    # Overfitting found as a train-val accuracy gap says why accuracy stops where it does, not why the val loss
    # falls under a flat accuracy: refinement keeps its confidence beside it, while a plain overfit explains it.
    def verdicts(overfitting_evidence):
        return [Verdict(cause.code, {"overfitting": 0.75, "confidence_refinement": 0.9}.get(cause.code, 0.0), "s",
                        overfitting_evidence if cause.code == "overfitting" else {}) for cause in REGISTRY]

    gap = {v.cause: v for v in _discount(verdicts({"explains_share": {"confidence_refinement": 0.0}}))}
    assert gap["confidence_refinement"].confidence == 0.9
    plain = {v.cause: v for v in _discount(verdicts({}))}
    assert abs(plain["confidence_refinement"].confidence - 0.9 * 0.25) < 1e-12


def test_the_shown_split_never_changes_the_causes():
    dynamics, _ = noisy_labels_run()
    on_val = diagnose_dynamics(dynamics)
    on_train = diagnose_dynamics(dynamics, split="train")
    assert on_val.causes == on_train.causes
    assert [v.confidence for v in on_val.verdicts] == [v.confidence for v in on_train.verdicts]
    assert on_train.split == "train"


def test_one_epoch_is_diagnosed_with_what_it_cannot_show():
    labels = np.arange(50) % 2
    prob = np.full((1, 50), 0.7)
    diagnosis = diagnose_dynamics({"train": binary_dynamics(prob, labels, split="train"),
                                   "val": binary_dynamics(prob, labels)})
    assert any("one epoch only" in note for note in diagnosis.limitations)
    assert diagnosis.verdict("overfitting").confidence == 0.0
    assert diagnosis.verdict("underfitting").confidence == 0.0


def test_a_run_too_short_for_a_trend_is_not_called_healthy():
    # Two epochs below the majority baseline: nothing can be judged, and "No problem found" would be a claim.
    labels = np.array([0] * 30 + [1] * 20)
    prob = np.where(labels == 0, 0.45, 0.7)[None, :].repeat(2, axis=0)   # accuracy 0.4 against 0.6
    diagnosis = diagnose_dynamics({"train": binary_dynamics(prob, labels, split="train"),
                                   "val": binary_dynamics(prob, labels)})
    assert diagnosis.headline.startswith("Too short to judge: 2 epochs"), diagnosis.headline
    assert not diagnosis.healthy and not diagnosis.judgeable and diagnosis.healthy_confidence == 0.0
    assert diagnosis.to_dict()["healthy"] is False and diagnosis.to_dict()["judgeable"] is False


def test_asking_for_a_cause_that_does_not_exist_is_an_error():
    diagnosis = diagnose_dynamics(healthy_run())
    with pytest.raises(ConfigError, match="'overfit' is not a cause; use one of .*overfitting"):
        diagnosis.verdict("overfit")


def test_ties_in_argmax_and_a_class_absent_from_val_are_handled():
    epochs = 6
    train_labels = np.arange(90) % 3
    val_labels = np.arange(40) % 2            # class 2 never appears in val
    dynamics = {"train": dynamics_from_logits(np.zeros((epochs, 90, 3)), train_labels, split="train",
                                              keep_logits=False),
                "val": dynamics_from_logits(np.zeros((epochs, 40, 3)), val_labels, split="val")}
    diagnosis = diagnose_dynamics(dynamics)
    assert diagnosis.per_class["recall"][2] is None
    assert diagnosis.per_class["predicted_share"][0] == 1.0
    # Every prediction a tie at the prior: nothing moved, so no cause beyond "did not fit" can be claimed.
    assert diagnosis.causes[0] == "underfitting"


def test_a_run_with_only_val_recorded_is_judged_without_inventing_train_faults():
    diagnosis = diagnose_dynamics({"val": healthy_run()["val"]})
    assert diagnosis.healthy, diagnosis.to_text()   # a missing train split is not a NaN loss
    assert any("no train loss was recorded" in note for note in diagnosis.limitations)


def _own_loop_run(out, epochs=4):
    """An own-loop run of ``epochs`` epochs (random logits) saved with save_recorded_run."""
    import torch

    import lossgap
    recorder, generator = lossgap.Recorder(), torch.Generator().manual_seed(0)
    labels = torch.arange(80) % 2
    for _ in range(epochs):
        recorder.update("train", torch.arange(60), torch.randn(60, 2, generator=generator), labels[:60])
        recorder.update("val", torch.arange(60, 80), torch.randn(20, 2, generator=generator), labels[60:])
        recorder.end_epoch()
    return lossgap.save_recorded_run(recorder, out)


def test_an_own_loop_or_lightning_fit_marked_interrupted_gets_the_ended_early_note(tmp_path):
    import json

    import lossgap
    run = _own_loop_run(tmp_path / "run")
    assert not any("ended early" in note or "epoch store" in note for note in lossgap.diagnose(run).limitations)
    summary = json.loads((run / "summary.json").read_text())
    # What LossgapCallback writes when Ctrl-C stops the fit after epoch 4 of 10.
    summary.update(status="interrupted", epochs_planned=10, stopped_by="KeyboardInterrupt")
    (run / "summary.json").write_text(json.dumps(summary))
    notes = [note for note in lossgap.diagnose(run).limitations if "ended early" in note]
    assert notes == ["the run ended early: its fit was interrupted by KeyboardInterrupt after epoch 4 of 10, so "
                     "what came later is unknown; record the run again"]
    # Interrupted after its last planned epoch (e.g. during teardown): nothing is missing.
    summary.update(epochs_planned=4)
    (run / "summary.json").write_text(json.dumps(summary))
    assert not any("ended early" in note for note in lossgap.diagnose(run).limitations)


def test_a_run_gone_nan_traces_its_loss_up_to_its_last_finite_epoch():
    # Without a plateau the ledger spans the whole run; for a run whose logits went NaN at epoch 6 that was
    # epochs 1-10, and the sentence said no val sample had been recorded.
    run = healthy_run(epochs=10)
    for split in run.values():
        split.true_log_prob[5:] = np.nan
    diagnosis = diagnose_dynamics(run)
    assert diagnosis.causes[0] == "unstable_optimization"
    assert "between epochs 1 and 5" in diagnosis.ledger_sentence and "recorded" not in diagnosis.ledger_sentence


def test_printing_a_diagnosis_shows_its_text_and_its_repr_stays_short():
    # print(diagnosis) dumped a dataclass repr of about 14,000 characters.
    diagnosis = diagnose_dynamics(noisy_labels_run()[0])
    assert str(diagnosis) == diagnosis.to_text()
    assert repr(diagnosis).startswith("Diagnosis(") and len(repr(diagnosis)) < 200
    assert f"{diagnosis.verdicts[0].cause} {diagnosis.verdicts[0].confidence:.2f}" in repr(diagnosis)


def test_a_perfect_fit_of_recorded_train_samples_is_not_called_unrecorded():
    # Every train sample certain at the lowest-loss epoch: the paired test's differences are all equal. That had
    # read "train samples were not recorded" beside a dynamics.npz that held them.
    labels = np.arange(40) % 4
    logits = np.zeros((6, 40, 4))
    logits[:, np.arange(40), labels] = np.array([1.0, 3.0, 10.0, 60.0, 60.0, 60.0])[:, None]
    dynamics = {"train": dynamics_from_logits(logits, labels, split="train", keep_logits=False),
                "val": dynamics_from_logits(logits[:, :20], labels[:20])}
    diagnosis = diagnose_dynamics(dynamics)
    assert not any("not recorded" in note or "cannot be tested" in note for note in diagnosis.limitations)
    no_train = diagnose_dynamics({"val": dynamics["val"]})
    assert any("no train split was recorded" in note for note in no_train.limitations)


def test_val_recorded_in_training_mode_leads_the_headline_and_the_notes():
    settings = {"evaluation": {"train_mode_epochs": {"val": 20}}}
    diagnosis = diagnose_dynamics(healthy_run(), settings=settings)
    assert diagnosis.headline.startswith("Val was recorded with the model in training mode in 20 of 20 epochs "
                                         "(call model.eval() before the val pass); read with that in mind: ")
    assert diagnosis.limitations[0].startswith("val was recorded with the model in training mode")
    assert not diagnose_dynamics(healthy_run()).headline.startswith("Val was recorded")


def test_to_text_shows_the_considered_causes_the_cli_shows():
    from lossgap.diagnosis.verdict import CONSIDERED_SHOWN, considered_confidence

    from fixtures.imbalance_runs import weak_across_classes_run

    diagnosis = diagnose_dynamics(weak_across_classes_run(weak_recall=0.2))
    shown = [v for v in diagnosis.considered if v.confidence >= CONSIDERED_SHOWN]
    assert shown, diagnosis.to_dict()["considered"]
    for verdict in shown:
        assert (f"- considered, not found: {verdict.cause} ({considered_confidence(verdict.confidence)}): "
                f"{verdict.summary}") in diagnosis.to_text()
    hidden = [v for v in diagnosis.considered if v.confidence < CONSIDERED_SHOWN]
    assert all(f"considered, not found: {v.cause} " not in diagnosis.to_text() for v in hidden)


def test_no_problem_names_the_last_epochs_accuracy_when_the_run_keeps_the_last_epoch():
    # An own loop without early stopping keeps its last epoch: "0.836 at epoch 56" was a lucky epoch of a curve
    # that ended at 0.724.
    dynamics = healthy_run()
    prob = dynamics["val"].true_prob.copy()
    prob[-1, :40] = 0.3  # the last epoch loses 40 of 200
    dynamics = {"train": dynamics["train"], "val": binary_dynamics(prob, dynamics["val"].labels)}
    kept_last = diagnose_dynamics(dynamics, summary={"best_epoch": 10})
    assert kept_last.headline.startswith(f"No problem found ({kept_last.healthy_confidence:.2f}): val accuracy 1.000 "
                                         "at epoch 10 (majority baseline 0.500; 0.800 at epoch 20, the last)"), \
        kept_last.headline
    restored = diagnose_dynamics(dynamics, summary={"best_epoch": 10, "delivered_epoch": 10})
    assert "the last" not in restored.headline


def test_early_stopping_on_val_accuracy_at_its_ceiling_is_noted_when_the_val_loss_fell_far_after():
    # 6 val samples at 1.000 from epoch 6 kept epoch 6 (val loss 0.274) where epoch 16 reached 0.011.
    epochs, n = 16, 40
    labels = np.arange(n) % 2
    prob = np.clip(0.4 + 0.04 * np.arange(epochs), 0.0, 0.995)[:, None] + np.zeros((1, n))
    dynamics = {"train": binary_dynamics(prob, labels, split="train"), "val": binary_dynamics(prob, labels)}
    config = {"epochs": 30, "early_stopping": {"patience": 10, "monitor": "val_accuracy"}}
    kept_early = diagnose_dynamics(dynamics, config=config, summary={"best_epoch": 4, "delivered_epoch": 4})
    note = next(note for note in kept_early.limitations if note.startswith("early stopping watched val accuracy"))
    assert "reached 1.000 at epoch 4" in note and "with --monitor val_loss the later model is kept" in note
    on_loss = {**config, "early_stopping": {"patience": 10, "monitor": "val_loss"}}
    assert not any("watched val accuracy" in note for note in diagnose_dynamics(
        dynamics, config=on_loss, summary={"best_epoch": 4, "delivered_epoch": 4}).limitations)


def test_no_problem_says_how_sure_it_is_and_is_never_sure_on_a_tiny_val_split():
    # A 0.51 and a 0.95 had read alike; and a BasicMotions GRU early-stopped on 8 val samples (train 0.72, test
    # 0.85 without early stopping) had read "No problem found" 0.92.
    sure = diagnose_dynamics(healthy_run())
    assert sure.healthy_confidence > 0.9
    assert sure.headline.startswith(f"No problem found ({sure.healthy_confidence:.2f}): val accuracy")
    dynamics = healthy_run()
    tiny_val = {"train": dynamics["train"],
                "val": binary_dynamics(dynamics["val"].true_prob[:, :8], dynamics["val"].labels[:8])}
    small = diagnose_dynamics(tiny_val)
    assert not small.causes and small.healthy_confidence == 0.7, small.to_text()
    assert small.headline.startswith("No problem found (0.70): ")
    assert "8 val samples: one sample is 12.5 points of accuracy" in small.to_text()


def test_a_permuted_label_control_is_always_reported_not_only_inside_a_no_signal_sentence():
    # A healthy run trained with --control permuted-labels had printed nothing about its control.
    from lossgap.diagnosis.engine import diagnose_evidence
    from lossgap.diagnosis.evidence import gather_evidence

    evidence = gather_evidence({}, healthy_run(), train_config=None, control_val_accuracy=0.5)
    diagnosis = diagnose_evidence(evidence, run="runs/hand")
    assert not diagnosis.causes
    assert ("permuted-label control: val accuracy 0.500 against 1.000 with the true labels" in diagnosis.to_text()
            and "the true labels carry signal the shuffled ones do not" in diagnosis.to_text()), diagnosis.to_text()
    chance = diagnose_evidence(gather_evidence({}, healthy_run(), train_config=None, control_val_accuracy=1.0),
                               run="runs/hand")
    assert "not clearly better than shuffled labels" in chance.to_text()


def test_a_train_loss_recorded_but_never_finite_is_said_to_be_so_not_to_be_missing():
    # An own MLP at SGD lr 5, its loss NaN in every epoch, had been told "no train loss was recorded".
    import warnings

    from fixtures.diagnosis import diagnose_dynamics, learned_then_converged
    from fixtures.dynamics import binary_dynamics

    labels = np.arange(400) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        run = {"train": binary_dynamics(np.zeros((20, 400)), labels, split="train"),  # log 0: every loss infinite
               "val": binary_dynamics(learned_then_converged(200, 20, seed=1), labels[:200])}
        limitations = diagnose_dynamics(run).limitations
    assert any(note.startswith("the train loss was never finite: whether the model fitted") for note in limitations)
    assert not any("no train loss was recorded" in note for note in limitations)


def test_tensors_backward_never_reached_get_a_note_even_where_the_model_fits():
    # An own GRU stack detached after its first layer fitted with its second alone (val 0.98), and nothing said the
    # first layer never trained.
    from dataclasses import replace

    from fixtures.gradients import observed_gradients
    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    epochs, names = 20, ("rnn1.weight_ih_l0", "rnn1.weight_hh_l0", "rnn2.weight_ih_l0", "head.weight")
    grad = np.full((epochs, len(names)), 0.1)
    grad[:, :2] = np.nan
    evidence = replace(gather_evidence({}, healthy_run(epochs=epochs), train_config=None),
                       gradients=observed_gradients(names, grad))
    notes = diagnose_evidence(evidence).limitations
    assert any(note.startswith("no gradient reached rnn1.weight_ih_l0, rnn1.weight_hh_l0 in any epoch")
               for note in notes), notes
    assert not any("no gradient reached" in note for note in diagnose_dynamics(healthy_run()).limitations)


def test_a_rate_far_above_its_range_gets_a_note_where_no_finding_names_it():
    # Trial 14's 3-class run at Adam 0.05 read "No problem found" with nothing on its rate (1.5 test points under 0.003).
    def notes(lr, run):
        return diagnose_dynamics(run, config={"optimizer": {"name": "adam", "lr": lr}, "epochs": 20}).limitations

    fast = [note for note in notes(0.05, healthy_run()) if "usual range" in note]
    assert fast == ["the learning rate 0.05 is 5x the top of Adam's usual range (0.0001-0.01): steps that large "
                    "overshoot instead of descending; nothing here shows it hurting this run, but a run at a rate "
                    "within that range tells"]
    assert not [note for note in notes(0.003, healthy_run()) if "usual range" in note]
    # Beside unstable optimisation considered (its paragraph listing exploded gradients, say), the note does not say
    # nothing shows (trial 24: an LSTM-FCN at AdamW 0.3 read both).
    from lossgap.diagnosis.engine import _limitations

    evidence = diagnose_dynamics(healthy_run(), config={"optimizer": {"name": "adam", "lr": 0.05}, "epochs": 20}).evidence
    doubted = [note for note in _limitations(evidence, rate_doubted=True) if "usual range" in note]
    assert doubted == ["the learning rate 0.05 is 5x the top of Adam's usual range (0.0001-0.01): steps that large "
                       "overshoot instead of descending; the signs of unstable optimisation above fall short of a "
                       "finding, but a run at a rate within that range tells"]


def test_rare_classes_too_thin_in_val_to_show_a_lean_keep_no_problem_found_unsure_and_say_why():
    # An LSTM-FCN on 85/5/5/5 data, 3 val samples per rare class and 8 of the 9 right, had read "No problem found"
    # 0.75 with nothing said of the rare classes; 60 held-back samples of them were recalled 0.77. Trial 24's
    # ItalyPowerDemand at 34:4, one rare val sample, read 0.70 with its rare class recalled 0.70 on test: such runs were
    # right about 3 times in 10, so the confidence is at most 0.55.
    from lossgap.diagnosis.engine import THIN_RARE_HEALTHY_CAP

    thin = diagnose_dynamics(rare_recalled_run(rare_val=3))
    assert not thin.causes and thin.healthy_confidence == THIN_RARE_HEALTHY_CAP == 0.55, thin.to_text()
    note = next(note for note in thin.limitations if note.startswith("rare classes"))
    assert note.startswith("rare classes 1, 2 have 3 val samples each: a model that misses a fifth of a class")
    # 10 val samples each: a fifth of them missed is 2, which recall shows.
    enough = diagnose_dynamics(rare_recalled_run(rare_val=10))
    assert not enough.causes and enough.healthy_confidence > 0.9
    assert not any(note.startswith("rare class") for note in enough.limitations), enough.to_text()
    # Where the lean is found, the note would only repeat it.
    found = diagnose_dynamics(majority_only_run())
    assert found.causes[0] == "class_imbalance_bias"
    assert not any(note.startswith("rare class") for note in found.limitations)
