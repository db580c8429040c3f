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
    with pytest.raises(DataError, match=r"array 'y' holds Python objects .*e\.g\. y\.astype\(str\)"):
        read_npz(tmp_path / "objects.npz")
    # The array named is the one that holds objects (X was blamed on the labels before).
    np.savez(tmp_path / "object_x.npz", X=np.array([[[0.0]], [[1.0]]], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"array 'X' holds Python objects .*X\.astype\(np\.float32\)"):
        read_npz(tmp_path / "object_x.npz")
    np.save(tmp_path / "single.npy", np.zeros((2, 2, 1)))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    with pytest.raises(DataError, match="single .npy array"):
        read_npz(tmp_path / "single.npz")


def test_int_labels_in_one_split_and_float_labels_in_another_are_one_class_list(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 2, 1)), y=np.array([1, 2, 1, 2]),
             X_test=np.zeros((2, 2, 1)), y_test=np.array([2.0, 1.0]))
    parts = read_npz(tmp_path / "d.npz")
    assert parts["train"].class_names == parts["test"].class_names == ("1", "2")
    assert parts["train"].labels.tolist() == [0, 1, 0, 1] and parts["test"].labels.tolist() == [1, 0]


@pytest.mark.parametrize("given, missing, expected", [
    ({"ids": np.arange(100, 104)}, "val", [4, 5]),  # no clash: val's positions 4, 5, as without train's ids
    ({"ids": np.arange(1, 5)}, "val", [5, 6]),  # position 4 is one of train's ids: skipped
    ({"ids_val": np.array([0, 2])}, "train", [1, 3, 4, 5]),
])
def test_default_ids_never_take_an_id_the_file_gives(tmp_path, given, missing, expected):
    np.savez(tmp_path / "d.npz", X=np.zeros((4, 2, 1)), y=np.arange(4) % 2, X_val=np.zeros((2, 2, 1)),
             y_val=np.array([0, 1]), **given)
    parts = read_npz(tmp_path / "d.npz")
    assert parts[missing].ids.tolist() == expected


def test_a_shared_id_is_named_with_its_splits(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 2, 1)), y=np.array([0, 1]), ids=np.array([7, 8]),
             X_test=np.zeros((1, 2, 1)), y_test=np.array([1]), ids_test=np.array([8]))
    with pytest.raises(DataError, match=r"^d\.npz: the same sample id 8 appears in the train and test splits; "
                                        r"give every sample its own id$"):
        read_npz(tmp_path / "d.npz")


@pytest.mark.parametrize("y, fix", [(np.eye(2)[np.arange(6) % 2], r"pass class indices, e\.g\. y\.argmax\(axis=1\)"),
                                    ((np.arange(6) % 2)[:, None], r"pass y\.ravel\(\)")], ids=["one-hot", "column"])
def test_a_two_dimensional_y_is_refused_with_the_fix(tmp_path, y, fix):
    np.savez(tmp_path / "d.npz", X=np.zeros((6, 2, 1)), y=y)
    with pytest.raises(DataError, match=rf"y must be one label per sample \(1 dimension\), got shape "
                                        rf"\(6, {y.shape[1]}\); {fix}"):
        read_npz(tmp_path / "d.npz")


def test_a_nan_label_written_as_text_is_refused_like_a_float_nan(tmp_path):
    for name, y in {"text": np.array(["0", "1", "nan", "1"]), "float": np.array([0.0, 1.0, np.nan, 1.0])}.items():
        np.savez(tmp_path / f"{name}.npz", X=np.zeros((4, 2, 1)), y=y)
        with pytest.raises(DataError, match=rf"^{name}\.npz: y contains NaN or inf in 1 sample\(s\) \(first at "
                                            r"position 2: 'nan'\), a missing label, not a class"):
            read_npz(tmp_path / f"{name}.npz")


def test_a_value_beyond_float32_is_refused_as_out_of_range(tmp_path):
    x = np.zeros((4, 2, 1))
    x[1, 0, 0] = -1e39
    np.savez(tmp_path / "d.npz", X=x, y=np.arange(4) % 2)
    with pytest.raises(DataError, match=r"^d\.npz \(train split\): X holds -1e\+39 at sample 1 \(id 1\), step 0, "
                                        r"feature 0, beyond float32's range"):
        read_npz(tmp_path / "d.npz")


def test_repeated_ids_are_refused_naming_one_of_them(tmp_path):
    np.savez(tmp_path / "dup.npz", X=np.zeros((4, 2, 1)), y=np.array([0, 1, 0, 1]), ids=np.array([7, 3, 7, 5]))
    with pytest.raises(DataError, match=r"sample ids are not unique \(1 repeated, e\.g\. 7 2 times\)"):
        read_npz(tmp_path / "dup.npz")
