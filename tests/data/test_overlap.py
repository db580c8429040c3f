"""Val or test samples whose inputs are exact copies of a training sample's are found, whatever their ids."""

import numpy as np

from lossgap.data.overlap import inputs_shared_with_train
from lossgap.data.sequence import SequenceData


def _data(features, lengths, labels, first_id, split):
    return SequenceData(np.asarray(features, dtype=np.float32), np.asarray(lengths), np.asarray(labels),
                        np.arange(first_id, first_id + len(labels)), ("a", "b"), split=split)


def test_copies_are_found_by_their_inputs_and_their_labels_counted():
    rng = np.random.default_rng(0)
    train_x = rng.normal(size=(6, 5, 2))
    val_x = rng.normal(size=(4, 5, 2))
    val_x[0] = train_x[3]          # copied with train's label
    val_x[2] = train_x[1]          # copied, labelled otherwise
    train = _data(train_x, np.full(6, 5), [0, 1, 0, 1, 0, 1], 0, "train")
    val = _data(val_x, np.full(4, 5), [1, 0, 0, 1], 100, "val")
    shared = inputs_shared_with_train(train, val)
    assert shared.ids == (100, 102) and shared.count == 2 and shared.same_label == 1 and shared.num_samples == 4
    assert shared.to_dict(with_ids=True) == {"count": 2, "same_label": 1, "ids": [100, 102]}
    assert shared.to_dict(with_ids=False) == {"count": 2, "same_label": 1}


def test_only_the_valid_steps_count_and_a_prefix_is_no_copy():
    train_x = np.zeros((2, 4, 1))
    train_x[0, :2, 0] = [1.0, 2.0]              # length 2
    train_x[1, :, 0] = [1.0, 2.0, 0.0, 0.0]     # length 4: the same values padded with real zeros
    val_x = np.zeros((2, 4, 1))
    val_x[0, :2, 0] = [1.0, 2.0]
    val_x[1, :3, 0] = [1.0, 2.0, 0.0]           # length 3: equals neither
    train = _data(train_x, [2, 4], [0, 1], 0, "train")
    val = _data(val_x, [2, 3], [0, 1], 10, "val")
    shared = inputs_shared_with_train(train, val)
    assert shared.ids == (10,) and shared.same_label == 1


def test_a_value_one_bit_away_is_no_copy():
    train_x = np.ones((2, 3, 1))
    val_x = np.ones((2, 3, 1))
    val_x[:, 1, 0] = np.nextafter(np.float32(1.0), np.float32(2.0))
    shared = inputs_shared_with_train(_data(train_x, [3, 3], [0, 1], 0, "train"), _data(val_x, [3, 3], [0, 1], 5, "val"))
    assert shared.count == 0 and shared.same_label == 0


def test_splits_padded_to_other_lengths_are_compared_over_their_valid_steps():
    train_x = np.zeros((2, 6, 1))
    train_x[0, :4, 0] = [1.0, 2.0, 3.0, 4.0]
    train_x[1, :, 0] = np.arange(6)
    val_x = np.zeros((2, 4, 1))
    val_x[0, :, 0] = [1.0, 2.0, 3.0, 4.0]       # train's first sample, padded to 4 steps instead of 6
    val_x[1, :, 0] = [0.0, 1.0, 2.0, 3.0]       # a prefix of train's second: no copy
    shared = inputs_shared_with_train(_data(train_x, [4, 6], [0, 1], 0, "train"), _data(val_x, [4, 4], [0, 1], 7, "val"))
    assert shared.ids == (7,) and shared.same_label == 1
