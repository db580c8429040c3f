"""SequenceData and DatasetSplits checks: float32 range, NaN located, every val/test class present in train."""

import warnings

import numpy as np
import pytest

from lossgap.data.sequence import DatasetSplits, SequenceData
from lossgap.errors import DataError


def data_with(value, position=(2, 1, 0)):
    features = np.zeros((4, 3, 1))
    features[position] = value
    return SequenceData(features, np.full(4, 3), np.arange(4) % 2, np.arange(10, 14), ("a", "b"), name="d.npz")


def test_a_finite_value_beyond_float32_is_named_as_such_without_a_numpy_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in cast" would be raised here
        with pytest.raises(DataError, match=r"^d\.npz \(train split\): X holds 1e\+39 at sample 2 \(id 12\), step 1, "
                                            r"feature 0, beyond float32's range .*; rescale that feature"):
            data_with(1e39)
        assert data_with(3e38).features.dtype == np.float32  # the largest values float32 holds pass


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf_names_the_first_sample_step_and_feature(value):
    with pytest.raises(DataError, match=r"X contains NaN or inf in 1 sample\(s\) \(first: sample 2 \(id 12\), "
                                        r"step 1, feature 0\); impute or drop them"):
        data_with(value)


@pytest.mark.parametrize("split", ["val", "test"])
def test_a_class_in_val_or_test_but_not_in_train_is_refused_by_name(small_splits, split):
    # small_splits has classes a, b, c; train and the other split keep only a and b.
    train = small_splits.train.with_labels(np.arange(small_splits.train.num_samples) % 2)
    two_classes = small_splits.val.with_labels(np.arange(small_splits.val.num_samples) % 2)
    three_classes = small_splits.val.subset(np.arange(small_splits.val.num_samples), split="test")
    count = int((three_classes.labels == 2).sum())
    parts = {"val": (three_classes, None), "test": (two_classes, three_classes)}[split]
    with pytest.raises(DataError, match=rf"^data\.npz: class 'c' has {count} {split} sample\(s\) but none in train, "
                                        rf"so the model can never predict it; add train samples of it or drop its "
                                        rf"{split} samples$"):
        DatasetSplits(train, parts[0], test=parts[1], source="data.npz")


def test_a_class_missing_from_val_is_fine(small_splits):
    val = small_splits.val.with_labels(np.arange(small_splits.val.num_samples) % 2)
    assert DatasetSplits(small_splits.train, val).val.class_counts().tolist()[2] == 0
