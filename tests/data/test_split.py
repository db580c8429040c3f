"""Stratified validation split: every class keeps its share, the same seed gives the same split."""

import numpy as np
import pytest

from lossgap.data.split import stratified_indices
from lossgap.errors import DataError


def test_each_class_keeps_its_share_in_both_parts():
    labels = np.repeat([0, 1, 2], [900, 50, 50])
    train, val = stratified_indices(labels, 0.2, seed=3)
    assert np.bincount(labels[val]).tolist() == [180, 10, 10]
    assert np.bincount(labels[train]).tolist() == [720, 40, 40]
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 1000


def test_same_seed_same_split_other_seed_other_split():
    labels = np.arange(200) % 2
    first = stratified_indices(labels, 0.25, seed=1)[1]
    assert np.array_equal(first, stratified_indices(labels, 0.25, seed=1)[1])
    assert not np.array_equal(first, stratified_indices(labels, 0.25, seed=2)[1])


def test_a_tiny_class_still_gets_one_sample_in_each_part():
    labels = np.r_[np.zeros(50, int), np.ones(2, int)]
    train, val = stratified_indices(labels, 0.1, seed=0)
    assert (labels[val] == 1).sum() == 1 and (labels[train] == 1).sum() == 1


def test_a_class_of_one_sample_is_refused_by_name():
    with pytest.raises(DataError, match="class 'rare' has only 1 sample.*at least 2 per class"):
        stratified_indices(np.r_[np.zeros(9, int), 1], 0.2, seed=0, class_names=("common", "rare"))
