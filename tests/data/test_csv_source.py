"""Long-format CSV files: rows grouped by id and ordered by t, fixed splits, round trip, one clear line per bad file."""

import warnings

import numpy as np
import pytest

from lossgap.data.csv_source import read_csv_data, write_csv_data
from lossgap.data.sequence import SequenceData
from lossgap.errors import DataError


def write_text(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def variable_length_data(n, first_id, split, class_names, seed):
    rng = np.random.default_rng(seed)
    lengths = rng.integers(1, 9, size=n)
    lengths[0] = 8  # the longest possible, so the padded length is known
    features = rng.normal(size=(n, 8, 3)).astype(np.float32)
    features[np.arange(8)[None, :] >= lengths[:, None]] = 0.0
    return SequenceData(features, lengths, rng.integers(0, len(class_names), size=n),
                        np.arange(first_id, first_id + n), class_names, name="orig", split=split)


def test_rows_group_by_id_sort_by_t_and_pad(tmp_path):
    # Rows of id 7 are out of order and interleaved with id 3; samples keep the order of each id's first row.
    path = write_text(tmp_path, "id,t,label,a,b\n"
                                "7,2,dog,2.5,-2\n"
                                "3,0,cat,10,11\n"
                                "7,0,dog,0.5,0\n"
                                "7,1,dog,1.5,-1\n"
                                "\n"
                                "3,1,cat,12,13\n")
    parts = read_csv_data(path)
    assert list(parts) == ["train"]
    train = parts["train"]
    assert train.ids.tolist() == [7, 3] and train.ids.dtype == np.int64
    assert train.lengths.tolist() == [3, 2]
    assert train.class_names == ("cat", "dog") and train.labels.tolist() == [1, 0]
    assert train.features.tolist() == [[[0.5, 0], [1.5, -1], [2.5, -2]],
                                       [[10, 11], [12, 13], [0, 0]]]
    assert train.name == "d.csv"


def test_t_orders_numerically_not_as_text(tmp_path):
    rows = "".join(f"1,{t},x,{t}\n" for t in (10, 9, 2, 1, 0)) + "2,0,y,5\n"
    train = read_csv_data(write_text(tmp_path, "id,t,label,v\n" + rows))["train"]
    assert train.features[0, :, 0].tolist() == [0, 1, 2, 9, 10]


def test_split_column_fixes_splits_with_one_class_list(tmp_path):
    path = write_text(tmp_path, "ID,T,Label,Split,v\n"
                                "a,0,2,train,1\n"
                                "b,0,10,TEST,2\n"
                                "c,0,1,val,3\n"
                                "d,0,2,train,4\n"
                                "d,1,2,train,5\n")
    parts = read_csv_data(path)
    assert list(parts) == ["train", "val", "test"]
    assert all(part.class_names == ("1", "2", "10") for part in parts.values())  # numeric order
    assert parts["train"].ids.tolist() == ["a", "d"] and parts["train"].labels.tolist() == [1, 1]
    assert parts["val"].ids.tolist() == ["c"] and parts["val"].labels.tolist() == [0]
    assert parts["test"].ids.tolist() == ["b"] and parts["test"].labels.tolist() == [2]
    assert parts["val"].features.shape == (1, 1, 1) and parts["train"].features.shape == (2, 2, 1)


def test_a_label_written_as_int_and_as_float_is_one_class(tmp_path):
    path = write_text(tmp_path, "id,t,label,v\n1,0,0,1\n2,0,1,2\n3,0,0.0,3\n4,0,1.0,4\n")
    train = read_csv_data(path)["train"]
    assert train.class_names == ("0", "1") and train.labels.tolist() == [0, 1, 0, 1]


def test_round_trip_keeps_features_lengths_labels_and_ids(tmp_path):
    names = ("1", "2", "10")
    original = {"train": variable_length_data(9, 100, "train", names, seed=1),
                "val": variable_length_data(4, 200, "val", names, seed=2),
                "test": variable_length_data(5, 300, "test", names, seed=3)}
    path = write_csv_data(original, tmp_path / "round.csv")
    assert path.read_text().splitlines()[0] == "id,t,label,split,feature_0,feature_1,feature_2"
    back = read_csv_data(path)
    assert list(back) == ["train", "val", "test"]
    for split, part in original.items():
        read = back[split]
        assert np.array_equal(read.features, part.features)  # exact: 9 significant digits hold any float32
        assert np.array_equal(read.lengths, part.lengths)
        assert np.array_equal(read.ids, part.ids)
        assert [read.class_names[i] for i in read.labels] == [part.class_names[i] for i in part.labels]


def test_single_split_is_written_without_a_split_column_and_string_ids_survive(tmp_path):
    data = SequenceData(np.array([[[1.0], [2.0]], [[3.0], [0.0]]]), [2, 1], [0, 1], np.array(["s-1", "s-2"]),
                        ("no", "yes"))
    path = write_csv_data({"train": data}, tmp_path / "one.csv")
    assert path.read_text().splitlines() == ["id,t,label,feature_0", "s-1,0,no,1", "s-1,1,no,2", "s-2,0,yes,3"]
    back = read_csv_data(path)["train"]
    assert back.ids.tolist() == ["s-1", "s-2"] and back.features.tolist() == data.features.tolist()


BAD_FILES = {
    "empty": ("", r"^d\.csv: the file is empty; the first row must be a header"),
    "header only": ("id,t,label,v\n", r"d\.csv: has a header but no data rows"),
    "no header": ("1,0,a,0.5\n1,1,a,0.7\n", r"d\.csv: has no header row \(the first row holds data such as '1'\)"),
    "missing columns": ("id,step,class,v\n1,0,a,1\n", r"d\.csv: the header lacks column\(s\) t, label"),
    "no feature": ("id,t,label\n1,0,a\n", r"d\.csv: has no feature column"),
    "text feature": ("id,t,label,v,w\n1,0,a,1,2\n1,1,a,3,oops\n",
                     r"d\.csv: line 3, column w has 'oops', not a number"),
    "empty feature": ("id,t,label,v\n1,0,a,\n", r"d\.csv: line 2, column v has an empty value, not a number"),
    "infinite t": ("id,t,label,v\n1,inf,a,1\n", r"d\.csv: line 2, column t has 'inf', not a finite number"),
    "text t": ("id,t,label,v\n1,zero,a,1\n", r"d\.csv: line 2, column t has 'zero', not a number"),
    "duplicate t": ("id,t,label,v\n1,0,a,1\n2,0,a,1\n1,0,a,2\n", r"d\.csv: id 1 has t=0 twice \(line 4\)"),
    "label changes": ("id,t,label,v\n1,0,a,1\n1,1,b,2\n2,0,b,1\n",
                      r"d\.csv: id 1 has label 'b' on line 3 but 'a' on another row; "
                      r"give all rows of one id the same label"),
    "split changes": ("id,t,label,split,v\n1,0,a,train,1\n1,1,a,test,2\n",
                      r"d\.csv: id 1 has split 'test' on line 3 but 'train'"),
    "unknown split": ("id,t,label,split,v\n1,0,a,dev,1\n", r"d\.csv: line 2 has split 'dev'; use train, val or test"),
    "no train split": ("id,t,label,split,v\n1,0,a,test,1\n", r"d\.csv: no rows have split 'train'"),
    "ragged row": ("id,t,label,v\n1,0,a,1,9\n", r"d\.csv: line 2 has 5 values but the header has 4 columns"),
    "empty id": ("id,t,label,v\n,0,a,1\n", r"d\.csv: line 2 has an empty id"),
    "semicolons": ("id;t;label;v\n1;0;a;1,5\n", r"^d\.csv: the header 'id;t;label;v' is semicolon-separated, but "
                   r"lossgap reads comma-separated CSV with '\.' as the decimal point; save the file with ','"),
    "tabs": ("id\tt\tlabel\tv\n1\t0\ta\t1\n", r"^d\.csv: the header 'id\\tt\\tlabel\\tv' is tab-separated"),
    "nan label": ("id,t,label,v\n1,0,0,1\n2,0,nan,1\n2,1,nan,1\n3,0,1,2\n",
                  r"^d\.csv: line 3 has label 'nan', a missing label, not a class \(1 id\(s\) have such labels\); "
                  r"give every row its label"),
    "beyond float32": ("id,t,label,v\n1,0,a,1\n1,1,a,1e39\n", r"^d\.csv: line 3, column v has '1e39', beyond "
                       r"float32's range \(\+-3\.4e\+38\), which lossgap trains in; rescale that column"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_each_bad_file_gets_one_line_naming_the_problem(tmp_path, case):
    text, pattern = BAD_FILES[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy warning (e.g. an overflowing cast) may leak before the line
        with pytest.raises(DataError, match=pattern) as error:
            read_csv_data(write_text(tmp_path, text))
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_nan_or_inf_features_are_rejected_naming_line_and_column(tmp_path, value):
    with pytest.raises(DataError, match=rf"^d\.csv: line 3, column v has '{value}', not a finite number \(1 such "
                                        r"value\(s\) in that column\); impute or drop them"):
        read_csv_data(write_text(tmp_path, f"id,t,label,v\n1,0,a,1\n1,1,a,{value}\n2,0,b,1\n"))


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_csv_data(tmp_path / "nope.csv")


def test_a_hundred_thousand_rows_read_back_in_shape(tmp_path):
    rng = np.random.default_rng(0)
    data = SequenceData(rng.normal(size=(2000, 50, 2)).astype(np.float32), np.full(2000, 50),
                        rng.integers(0, 3, size=2000), np.arange(2000), ("a", "b", "c"))
    back = read_csv_data(write_csv_data({"train": data}, tmp_path / "big.csv"))["train"]
    assert back.features.shape == (2000, 50, 2) and np.array_equal(back.features, data.features)
    assert np.array_equal(back.labels, data.labels)
