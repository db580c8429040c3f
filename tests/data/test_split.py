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


def test_train_fractions_are_stratified_and_nested():
    from lossgap.data.split import fraction_indices

    labels = np.repeat([0, 1, 2], [400, 80, 20])
    subsets = {fraction: fraction_indices(labels, fraction, seed=4) for fraction in (0.25, 0.5, 0.75, 1.0)}
    assert np.bincount(labels[subsets[0.25]]).tolist() == [100, 20, 5]
    assert np.bincount(labels[subsets[0.5]]).tolist() == [200, 40, 10]
    assert len(subsets[1.0]) == 500
    assert set(subsets[0.25]) < set(subsets[0.5]) < set(subsets[0.75]) < set(subsets[1.0])
    assert not np.array_equal(subsets[0.5], fraction_indices(labels, 0.5, seed=5))
    # A rare class keeps one sample even where its share rounds to none.
    assert np.bincount(labels[fraction_indices(labels, 0.01, seed=0)]).tolist() == [4, 1, 1]


def test_a_train_fraction_leaves_validation_and_test_unchanged():
    from lossgap.data.sources import load_splits

    source = "synthetic:sum-sign,samples=200,test_samples=40"
    full = load_splits(source, seed=2).splits
    half = load_splits(source, seed=2, train_fraction=0.5).splits
    assert np.array_equal(full.val.ids, half.val.ids) and np.array_equal(full.test.ids, half.test.ids)
    assert set(half.train.ids) < set(full.train.ids) and half.train.num_samples == full.train.num_samples // 2
    assert np.array_equal(np.bincount(half.train.labels) * 2, np.bincount(full.train.labels))


@pytest.mark.parametrize("fraction", [0.5, 0.9, 0.99])
def test_a_class_of_two_keeps_one_in_train_whatever_the_validation_share(fraction):
    labels = np.r_[np.zeros(40, int), np.ones(2, int)]
    train, val = stratified_indices(labels, fraction, seed=0)
    assert (labels[train] == 1).sum() == 1 and (labels[val] == 1).sum() == 1


def test_identical_inputs_stay_on_one_side_and_each_class_keeps_about_its_share():
    # 40 distinct series, each repeated 10 times (as a data file with duplicated rows holds them): a per-sample split
    # would put copies of nearly every val series in train, and val would measure memory.
    from lossgap.data.sequence import SequenceData
    from lossgap.data.split import stratified_split

    rng = np.random.default_rng(0)
    series = rng.normal(size=(40, 5, 1))
    labels = np.arange(40) % 2
    data = SequenceData(np.repeat(series, 10, axis=0), np.full(400, 5), np.repeat(labels, 10), np.arange(400),
                        ("a", "b"))
    train, val = stratified_split(data, 0.2, seed=1)
    train_series = {row.tobytes() for row in train.features}
    assert not any(row.tobytes() in train_series for row in val.features)
    assert np.bincount(val.labels).tolist() == [40, 40] and train.num_samples == 320
    assert not np.array_equal(val.ids, stratified_split(data, 0.2, seed=2)[1].ids)
    # Data without duplicates is split exactly as before.
    unique = SequenceData(series, np.full(40, 5), labels, np.arange(40), ("a", "b"))
    assert np.array_equal(stratified_split(unique, 0.2, seed=1)[1].ids, stratified_indices(labels, 0.2, seed=1)[1])


def test_a_grouped_split_refuses_what_it_cannot_hold_out():
    from lossgap.data.split import grouped_stratified_indices

    with pytest.raises(DataError, match="class 'rare' has only 1 sample"):
        grouped_stratified_indices(np.r_[np.zeros(9, int), 1], np.r_[np.zeros(9, int), 1], 0.2, seed=0,
                                   class_names=("common", "rare"))
    with pytest.raises(DataError, match="no validation sample can be held out without a copy"):
        grouped_stratified_indices(np.repeat([0, 1], 5), np.repeat([0, 1], 5), 0.2, seed=0)
