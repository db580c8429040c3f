"""Reading .npz data sets: padded or variable-length X, string labels, ids, fixed _val / _test splits."""

import numpy as np
import pytest

from lossgap.data.npz import read_npz, write_npz
from lossgap.errors import DataError


def test_plain_file_gives_a_train_split_with_positional_ids(tmp_path):
    x = np.random.default_rng(0).normal(size=(12, 5, 3)).astype(np.float32)
    np.savez(tmp_path / "d.npz", X=x, y=np.arange(12) % 3)
    parts = read_npz(tmp_path / "d.npz")
    assert list(parts) == ["train"]
    train = parts["train"]
    assert train.features.shape == (12, 5, 3) and train.lengths.tolist() == [5] * 12
    assert train.class_names == ("0", "1", "2") and train.ids.tolist() == list(range(12))
    assert np.array_equal(train.features, x)


def test_string_labels_and_fixed_splits_share_one_class_list(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz",
             X=rng.normal(size=(6, 4, 1)), y=np.array(["cat", "dog", "cat", "emu", "dog", "cat"]),
             X_val=rng.normal(size=(3, 4, 1)), y_val=np.array(["dog", "dog", "cat"]),
             X_test=rng.normal(size=(2, 4, 1)), y_test=np.array(["emu", "cat"]), ids_test=np.array([100, 101]))
    parts = read_npz(tmp_path / "d.npz")
    assert list(parts) == ["train", "val", "test"]
    assert all(part.class_names == ("cat", "dog", "emu") for part in parts.values())
    assert parts["val"].labels.tolist() == [1, 1, 0]
    assert parts["val"].ids.tolist() == [6, 7, 8] and parts["test"].ids.tolist() == [100, 101]


def test_numeric_labels_are_sorted_as_numbers(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 2, 1)), y=np.array([10, 9, 2, 10]))
    train = read_npz(tmp_path / "d.npz")["train"]
    assert train.class_names == ("2", "9", "10") and train.labels.tolist() == [2, 1, 0, 2]


def test_padding_beyond_lengths_is_zeroed_even_when_nan(tmp_path):
    x = np.ones((2, 4, 1))
    x[0, 2:] = np.nan
    np.savez(tmp_path / "d.npz", X=x, y=np.array([0, 1]), lengths=np.array([2, 4]))
    train = read_npz(tmp_path / "d.npz")["train"]
    assert train.features[0, :, 0].tolist() == [1, 1, 0, 0] and train.lengths.tolist() == [2, 4]


def test_write_then_read_gives_the_same_data(tmp_path):
    x = np.random.default_rng(2).normal(size=(5, 3, 2)).astype(np.float32)
    np.savez(tmp_path / "a.npz", X=x, y=np.array(["b", "a", "b", "a", "a"]), lengths=np.array([3, 1, 2, 3, 3]))
    first = read_npz(tmp_path / "a.npz")
    again = read_npz(write_npz(first, tmp_path / "b.npz"))
    assert np.array_equal(first["train"].features, again["train"].features)
    assert np.array_equal(first["train"].labels, again["train"].labels)
    assert np.array_equal(first["train"].lengths, again["train"].lengths)


@pytest.mark.parametrize("arrays, message", [
    ({"X": np.zeros((3, 2, 1))}, "no array 'y'"),
    ({"y": np.zeros(3)}, "no array 'X'"),
    ({"X": np.zeros((3, 2, 1)), "y": np.zeros(3), "X_val": np.zeros((1, 2, 1))}, "no array 'y_val'"),
    ({"X": np.zeros((3, 2, 1)), "y": np.zeros((3, 1))}, "one label per sample"),
    ({"X": np.zeros((2, 2, 1)), "y": np.array([0, 1]), "X_val": np.zeros((1, 2, 1)), "y_val": np.array([0]),
      "ids": np.array([0, 1]), "ids_val": np.array([1])}, "same sample id"),
])
def test_malformed_files_are_refused_with_the_problem_named(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=message):
        read_npz(tmp_path / "bad.npz")


def test_object_arrays_and_single_npy_files_are_explained(tmp_path):
    np.savez(tmp_path / "objects.npz", X=np.zeros((2, 2, 1)), y=np.array([0, "a"], dtype=object))
    with pytest.raises(DataError, match="Python objects"):
        read_npz(tmp_path / "objects.npz")
    np.save(tmp_path / "single.npy", np.zeros((2, 2, 1)))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with pytest.raises(DataError, match="single .npy array"):
        read_npz(tmp_path / "single.npz")
