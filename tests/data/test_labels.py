"""Raw labels -> class names and indices: equal numbers are one class, text stays text, NaN is a missing label."""

import numpy as np
import pytest

from lossgap.data.labels import check_labels, class_names_of, encode_labels
from lossgap.errors import DataError


def test_one_number_written_several_ways_is_one_class():
    as_int, as_float, as_text = np.array([1, 2, 10]), np.array([1.0, 2.0]), np.array(["01", "2.0", "1e1", "10"])
    names = class_names_of(as_int, as_float, as_text)
    assert names == ("1", "2", "10")
    assert encode_labels(as_float, names, "f").tolist() == [0, 1]
    assert encode_labels(as_text, names, "f").tolist() == [0, 1, 2, 2]
    assert class_names_of(np.array(["1.50", "1.5", "2"])) == ("1.5", "2")


def test_text_labels_stay_text_even_where_some_look_like_numbers():
    labels = np.array(["a", "1", "1.0", "1"])
    names = class_names_of(labels)
    assert names == ("1", "1.0", "a")
    assert encode_labels(labels, names, "f").tolist() == [2, 0, 1, 0]


def test_large_integer_labels_are_not_merged_by_float_rounding():
    labels = np.array([2 ** 60, 2 ** 60 + 1], dtype=np.int64)
    names = class_names_of(labels)
    assert names == (str(2 ** 60), str(2 ** 60 + 1))
    assert encode_labels(labels, names, "f").tolist() == [0, 1]


@pytest.mark.parametrize("labels", [np.array([0.0, 1.0, np.nan]), np.array(["0", "1", "nan"]),
                                    np.array(["cat", "dog", "NaN"]), np.array(["0", "1", "inf"])],
                         ids=["float", "numeric text", "word text", "inf text"])
def test_a_nan_label_is_refused_the_same_way_as_float_or_as_text(labels):
    with pytest.raises(DataError, match=r"^d\.npz: y contains NaN or inf in 1 sample\(s\) \(first at position 2: "
                                        r"'(nan|NaN|inf)'\), a missing label, not a class; give every sample a label"):
        check_labels(labels, "d.npz: y")
