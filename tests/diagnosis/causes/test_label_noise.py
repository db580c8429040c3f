"""label_noise: samples contradicted while the model fits the rest of their class; never a weak model's errors."""

import numpy as np

from fixtures.diagnosis import diagnose_dynamics, majority_only_run, noisy_labels_run, weak_model_run
from fixtures.dynamics import dynamics_from_logits


def test_flipped_labels_against_a_model_that_fits_the_rest_are_label_noise():
    dynamics, flipped = noisy_labels_run()
    diagnosis = diagnose_dynamics(dynamics)
    assert diagnosis.causes[0] == "label_noise", diagnosis.to_text()
    suspects = set(diagnosis.suspected_mislabeled)
    truly = set(flipped.tolist())
    assert len(suspects & truly) / len(suspects) > 0.9 and len(suspects & truly) / len(truly) > 0.9
    evidence = diagnosis.verdict("label_noise").evidence
    assert evidence["contradiction_depth"] > 0.8 and evidence["rest_of_class_accuracy"] > 0.95


def test_a_weak_models_errors_are_not_label_noise():
    diagnosis = diagnose_dynamics(weak_model_run())
    assert "label_noise" not in diagnosis.causes, diagnosis.to_text()
    # Its errors sit nearer the boundary than its right answers: not the mirror image flipped labels make.
    assert diagnosis.verdict("label_noise").evidence["contradiction_depth"] < 0.8


def test_rare_classes_a_model_never_predicts_are_not_label_noise():
    diagnosis = diagnose_dynamics(majority_only_run())
    assert "label_noise" not in diagnosis.causes, diagnosis.to_text()


def test_one_way_confusion_of_two_classes_is_label_noise():
    rng = np.random.default_rng(7)
    epochs, n = 25, 900
    labels = np.arange(n) % 3
    true = labels.copy()
    members = np.flatnonzero(true == 0)
    flipped = rng.choice(members, size=int(0.4 * members.size), replace=False)
    labels[flipped] = 1                                  # a labeller who calls 40% of class 0 "class 1"
    ramp = np.clip(np.arange(epochs) / 5, 0, 1)[:, None, None]
    logits = ramp * 2.5 * np.eye(3)[true][None, :, :] + rng.normal(0, 0.05, (epochs, n, 3))
    val_true = np.arange(300) % 3
    val_logits = ramp * 2.5 * np.eye(3)[val_true][None, :, :] + rng.normal(0, 0.05, (epochs, 300, 3))
    diagnosis = diagnose_dynamics({"train": dynamics_from_logits(logits, labels, split="train", keep_logits=False),
                                   "val": dynamics_from_logits(val_logits, val_true)})
    assert diagnosis.causes[0] == "label_noise", diagnosis.to_text()
    evidence = diagnosis.verdict("label_noise").evidence
    assert evidence["one_way_pair"] == [1, 0] and evidence["reverse_pair_ratio"] == 0.0
