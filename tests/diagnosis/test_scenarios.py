"""End to end: train on data built to have one cause, and the diagnosis names that cause (three seeds each)."""

import numpy as np
import pytest

from fixtures.scenarios import SEEDS
from lossgap.data.synthetic import generate_synthetic


@pytest.mark.parametrize("seed", SEEDS)
def test_random_labels_are_no_signal(scenario_run, seed):
    diagnosis = scenario_run("no_signal", seed).diagnosis
    assert diagnosis.causes[0] == "no_signal", diagnosis.to_text()
    assert diagnosis.verdict("no_signal").evidence["p_value"] > 0.01


@pytest.mark.parametrize("seed", SEEDS)
def test_ten_percent_flipped_labels_are_named_and_the_falling_loss_is_refinement(scenario_run, seed):
    # The article's plateau: 10% of the labels flipped cap accuracy near 0.9 while the loss keeps falling.
    result = scenario_run("confidence_refinement", seed)
    diagnosis = result.diagnosis
    assert diagnosis.causes[0] == "label_noise", diagnosis.to_text()
    assert "overfitting" not in diagnosis.causes, diagnosis.to_text()
    source = generate_synthetic(f"synthetic:frequency,samples=800,noise=0.1,seed={seed}")
    flipped = set(np.intersect1d(source.flipped_ids, diagnosis.evidence.train.sample_ids).tolist())
    suspects = set(diagnosis.suspected_mislabeled)
    assert len(suspects & flipped) / len(suspects) > 0.8
    # The fall of the loss on the plateau comes from samples that stayed right, not from samples crossing.
    groups = {group["name"]: group for group in diagnosis.ledger["groups"]}
    assert groups["stayed_correct"]["loss_change"] < diagnosis.ledger["loss_change"] / 2


@pytest.mark.parametrize("seed", SEEDS)
def test_little_data_and_a_large_model_overfit_from_the_val_loss_minimum(scenario_run, seed):
    result = scenario_run("overfitting", seed)
    diagnosis = result.diagnosis
    assert "overfitting" in diagnosis.causes, diagnosis.to_text()
    onset = diagnosis.overfitting["onset_epoch"]
    val_loss = np.array([row["val_loss"] for row in result.fit.history])
    smoothed = np.convolve(np.pad(val_loss, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    assert abs(onset - (int(np.argmin(smoothed)) + 1)) <= 2
    assert val_loss[-1] > val_loss[onset - 1] + 0.1
    train_loss = np.array([row["train_loss"] for row in result.fit.history])
    assert train_loss[-1] < train_loss[onset - 1]
    remedy = next(r for r in diagnosis.verdict("overfitting").remedies if r.name == "early_stopping")
    assert f"epoch {diagnosis.overfitting['val_loss_min_epoch']}" in remedy.action
    assert "--early-stopping" in remedy.command


@pytest.mark.parametrize("seed", SEEDS)
def test_a_90_5_5_split_with_hard_rare_classes_is_class_imbalance_bias(scenario_run, seed):
    diagnosis = scenario_run("class_imbalance_bias", seed).diagnosis
    assert diagnosis.causes[0] == "class_imbalance_bias", diagnosis.to_text()
    assert any(remedy.name == "class_weights" for remedy in diagnosis.verdicts[0].remedies)


@pytest.mark.parametrize("seed", SEEDS)
def test_flipped_labels_are_label_noise_and_the_flipped_ids_are_the_suspects(scenario_run, seed):
    result = scenario_run("label_noise", seed)
    diagnosis = result.diagnosis
    assert "label_noise" in diagnosis.causes, diagnosis.to_text()
    source = generate_synthetic(f"synthetic:frequency,samples=1000,noise=0.3,seed={seed}")
    train_ids = diagnosis.evidence.train.sample_ids
    flipped = set(np.intersect1d(source.flipped_ids, train_ids).tolist())
    suspects = set(diagnosis.suspected_mislabeled)
    assert len(suspects & flipped) / len(suspects) > 0.8   # most suspects really were flipped
    assert len(suspects & flipped) / len(flipped) > 0.8    # most flipped samples are suspected


def test_diagnosis_json_has_the_designed_shape(scenario_run):
    import json

    run_dir = scenario_run("no_signal", 0).run_dir
    payload = json.loads((run_dir / "diagnosis.json").read_text())
    for key in ("verdicts", "plateaus", "ledger", "overfitting", "suspected_mislabeled", "calibration", "per_class"):
        assert key in payload
    verdict = payload["verdicts"][0]
    assert set(verdict) >= {"cause", "confidence", "summary", "evidence", "remedies"}
    assert 0 <= verdict["confidence"] <= 1
    assert set(payload["overfitting"]) >= {"onset_epoch", "best_epoch", "val_loss_min_epoch"}
    assert payload["best_epoch"] == json.loads((run_dir / "summary.json").read_text())["best_epoch"]
