"""How much a sequence's length alone says of its label: a rule fitted on train, measured on every split."""

import numpy as np

from lossgap.data.lengths import length_shortcut
from lossgap.data.sequence import DatasetSplits, SequenceData


def _split(lengths, labels, split, max_length=200, classes=2):
    n = len(labels)
    return SequenceData(np.zeros((n, max_length, 1), dtype=np.float32), np.asarray(lengths), np.asarray(labels),
                        np.arange(n), tuple(f"class {c}" for c in range(classes)), split=split)


def _leaky_lengths(labels, rng):
    """Class 0 10-59 steps long, class 1 150-200: the length says the class."""
    return np.where(labels == 0, rng.integers(10, 60, len(labels)), rng.integers(150, 201, len(labels)))


def test_lengths_that_say_the_class_in_train_only_are_measured_on_each_split_with_the_rule_fitted_on_train():
    rng = np.random.default_rng(0)
    train_labels, val_labels = np.arange(400) % 2, np.arange(100) % 2
    train = _split(_leaky_lengths(train_labels, rng), train_labels, "train")
    fair = _split(rng.integers(10, 201, 100), val_labels, "val")
    payload = length_shortcut(DatasetSplits(train=train, val=fair))
    assert payload["bins"] == 10 and payload["train"] == {"accuracy": 1.0, "majority": 0.5, "samples": 400}
    assert abs(payload["val"]["accuracy"] - 0.5) < 0.15 and payload["val"]["majority"] == 0.5
    # Val drawn the same way is predicted by the same rule; val drawn the other way round is predicted wrong, which
    # a rule fitted on val itself would have hidden.
    same = _split(_leaky_lengths(val_labels, rng), val_labels, "val")
    reversed_val = _split(_leaky_lengths(1 - val_labels, rng), val_labels, "val")
    assert length_shortcut(DatasetSplits(train=train, val=same))["val"]["accuracy"] == 1.0
    assert length_shortcut(DatasetSplits(train=train, val=reversed_val))["val"]["accuracy"] == 0.0


def test_lengths_unrelated_to_the_labels_give_the_majority_share_and_fixed_lengths_or_tiny_splits_nothing():
    rng = np.random.default_rng(1)
    labels = np.arange(600) % 3
    train = _split(rng.integers(10, 201, 600), labels, "train", classes=3)
    val = _split(rng.integers(10, 201, 150), np.arange(150) % 3, "val", classes=3)
    payload = length_shortcut(DatasetSplits(train=train, val=val))
    # Ten bins of 60 samples each fit some chance structure on train, little of which carries to val.
    assert payload["train"]["accuracy"] < 0.45 and abs(payload["val"]["accuracy"] - 1 / 3) < 0.12
    fixed = _split(np.full(600, 200), labels, "train", classes=3)
    assert length_shortcut(DatasetSplits(train=fixed, val=val)) is None
    few = _split(rng.integers(10, 201, 39), np.arange(39) % 3, "train", classes=3)
    assert length_shortcut(DatasetSplits(train=few, val=val)) is None
