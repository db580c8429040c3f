"""Captions say in plain words what each figure shows, with the run's own numbers."""

import numpy as np
import pytest

from fixtures.dynamics import binary_dynamics, dynamics_from_logits
from lossgap.diagnosis import diagnose_record
from lossgap.report import captions, figures
from lossgap.run.rundir import read_run


@pytest.fixture
def evidence(refining_run):
    return diagnose_record(read_run(refining_run)).evidence


def test_curves_caption_names_the_plateau_the_best_epoch_and_the_noise(evidence):
    text = captions.curves_caption(evidence)
    # 150 val samples: two samples' worth of accuracy is 2/150 = 0.013.
    assert "150 val samples" in text and "(0.013)" in text
    assert "epochs 1\u201330: val loss fell by 0.571" in text
    assert "lowest val loss, at epoch 30" in text
    assert "majority class (0.333)" in text and "overfitting" not in text


def test_ledger_caption_ends_with_the_ledger_sentence_of_the_plateau(evidence):
    text = captions.ledger_caption(evidence)
    assert "the plateau, epoch 1 to 30 (shaded on the left)" in text
    assert text.endswith(evidence.ledger_sentence + ".")
    assert "79% came from samples that were already right" in text


def test_true_probability_caption_draws_1_over_c_only_beyond_two_classes(evidence, tmp_path, kit):
    three = captions.true_probability_caption(evidence)
    assert "1/3 = 0.333 (dotted line)" in three
    assert "median went from 0.500 at epoch 1 to 0.950 at epoch 30" in three
    two_class = {"val": binary_dynamics(np.full((4, 6), 0.7), labels=np.array([0, 1] * 3))}
    run = kit.write_run(tmp_path / "binary", two_class, class_names=["no", "yes"])
    two = captions.true_probability_caption(diagnose_record(read_run(run)).evidence)
    assert "exactly when that probability is above 0.5" in two and "1/" not in two


def test_per_class_caption_names_classes_never_predicted(tmp_path, kit):
    rng = np.random.default_rng(0)
    labels = np.arange(60) % 3
    logits = rng.normal(size=(6, 60, 3))
    logits[:, :, 2] = -20.0  # class "rare" never wins
    val = dynamics_from_logits(logits, labels, split="val")
    run = kit.write_run(tmp_path / "never", {"val": val}, class_names=["a", "b", "rare"])
    evidence = diagnose_record(read_run(run)).evidence
    text = captions.per_class_caption(evidence, ["a", "b", "rare"])
    assert "Never predicted at epoch 6: rare." in text


def test_calibration_caption_reports_ece_and_the_loss_temperature_removes(evidence):
    calibration = figures.val_calibration(evidence)
    text = captions.calibration_caption(calibration, evidence.val.num_samples)
    final = calibration.reliability_final.ece
    assert f"{final:.3f} at epoch 30 (last)" in text
    fit = calibration.temperature_final
    assert f"T = {fit.temperature:.2f}" in text and f"{calibration.loss_removed_share:.0%} of it" in text


def test_data_map_caption_counts_the_ringed_suspects(evidence):
    text = captions.data_map_caption(evidence)
    count = len(evidence.suspects.indices)
    assert count >= 30  # the 30 samples whose label the hand-made model always contradicts
    assert f"Ringed: {count} samples ({count / 300:.1%} of the training set)" in text
    assert "over epochs 1\u201330" in text


def test_the_data_map_caption_says_where_its_window_ends_and_why():
    from types import SimpleNamespace

    from lossgap.report.captions import data_map_caption

    def caption(until, epochs):
        samples = SimpleNamespace(burn_in=0, until_epoch=until, num_epochs=epochs, num_samples=100)
        return data_map_caption(SimpleNamespace(train_samples=samples, suspects=None))

    whole = "epochs 1\u201360 (the whole run: its val loss, smoothed over 3 epochs, was lowest at the end)"
    assert whole in caption(60, 60)
    assert "epochs 1\u201347 (up to epoch 47, where its val loss smoothed over 3 epochs was lowest" in caption(47, 60)
