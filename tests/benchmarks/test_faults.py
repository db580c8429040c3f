"""The suite's fault injection and rule baselines do exactly what they say (they decide the ground truth)."""

import numpy as np

from fault_suite import baselines, faults
from fixtures.training import make_splits


def data(n=200, classes=4, seed=0):
    return make_splits(num_train=n, num_val=8, classes=classes, seed=seed).train


def test_symmetric_flips_move_exactly_the_asked_share_to_another_class():
    clean = data()
    noisy, flipped = faults.flip_symmetric(clean, 0.2, np.random.default_rng(1))
    changed = clean.ids[clean.labels != noisy.labels]
    assert len(flipped) == 40 and set(changed.tolist()) == set(flipped.tolist())


def test_class_pair_flips_only_the_source_class_into_the_target():
    clean = data()
    noisy, flipped = faults.flip_class_pair(clean, 0, 2, 0.4, np.random.default_rng(2))
    changed = clean.labels != noisy.labels
    assert set(clean.labels[changed]) == {0} and set(noisy.labels[changed]) == {2}
    assert changed.sum() == round(0.4 * (clean.labels == 0).sum()) == len(flipped)


def test_shuffling_keeps_the_class_counts():
    clean = data()
    shuffled = faults.shuffle_labels(clean, np.random.default_rng(3))
    assert np.array_equal(clean.class_counts(), shuffled.class_counts())
    assert not np.array_equal(clean.labels, shuffled.labels)


def test_imbalance_leaves_the_kept_class_whole_and_the_others_near_five_percent():
    clean = data(n=900, classes=3)
    rare = faults.imbalance(clean, 0, 0.05, np.random.default_rng(4))
    counts = rare.class_counts()
    assert counts[0] == (clean.labels == 0).sum()
    assert np.allclose(counts[1:] / counts.sum(), 0.05, atol=0.01)


def test_stretch_repeats_every_step_and_scales_lengths():
    clean = make_splits(num_train=10, num_val=4, variable=True).train
    long = faults.stretch(clean, 3)
    assert np.array_equal(long.lengths, clean.lengths * 3)
    assert np.array_equal(long.features[:, ::3], clean.features)


def test_autotrainer_and_sagemaker_rules_fire_on_their_published_thresholds():
    flat = {"train_loss": np.full(20, 1.0), "val_loss": np.full(20, 1.0),
            "train_accuracy": np.full(20, 0.5), "grad_norm": np.ones(20)}
    found = baselines.autotrainer_findings(flat)
    assert {"not_converged", "slow_convergence"} <= set(found) and "explode" not in found
    flat["grad_norm"][5] = 100.0
    assert "explode" in baselines.autotrainer_findings(flat)
    sagemaker = baselines.sagemaker_findings(flat, np.array([100, 5]), np.array([0.1, 0.2]))
    assert sagemaker["ClassImbalance"] == "class_imbalance_bias" and "LossNotDecreasing" in sagemaker
    assert baselines.verdict(sagemaker, ("Overfit", "ClassImbalance")) == "class_imbalance_bias"
