"""The aeon data sets shipped in the wheel: sizes, time-major padded features, shared classes, ids and errors.

Expected sizes are the numbers in the shipped .ts files (headers and data rows); a small .ts reader here is the
independent reference for values and lengths.
"""

import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import pytest

from lossgap.data import aeon_source
from lossgap.data.aeon_source import AEON_DATASETS, available_datasets, describe_aeon, load_aeon
from lossgap.errors import DataError

needs_aeon = pytest.mark.skipif(find_spec("aeon") is None, reason="aeon (lossgap[data]) is not installed")

# name: (train samples, test samples, classes, channels, shortest series, longest series), read from the files.
EXPECTED = {
    "ACSF1": (100, 100, 10, 1, 1460, 1460),
    "ArrowHead": (36, 175, 3, 1, 251, 251),
    "BasicMotions": (40, 40, 4, 6, 100, 100),
    "GunPoint": (50, 150, 2, 1, 150, 150),
    "ItalyPowerDemand": (67, 1029, 2, 1, 24, 24),
    "JapaneseVowels": (270, 370, 9, 12, 7, 29),
    "OSULeaf": (200, 242, 6, 1, 427, 427),
    "PickupGestureWiimoteZ": (50, 50, 10, 1, 29, 361),
}


def shipped_file(name, split):
    import aeon.datasets

    return Path(aeon.datasets.__file__).parent / "data" / name / f"{name}_{split.upper()}.ts"


def read_ts(path):
    """Each series as a (channels, length) float64 array and its label, straight from the .ts text."""
    series, labels, in_data = [], [], False
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        *channels, label = line.split(":")
        series.append(np.array([[float(value) for value in channel.split(",")] for channel in channels]))
        labels.append(label.strip())
    return series, labels


def test_the_listed_sets_are_the_expected_ones():
    assert set(AEON_DATASETS) == set(EXPECTED)
    assert {"GunPoint", "ItalyPowerDemand", "ArrowHead", "BasicMotions", "JapaneseVowels", "OSULeaf",
            "PickupGestureWiimoteZ"} <= set(AEON_DATASETS)


@needs_aeon
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_set_loads_with_the_sizes_in_its_files(name):
    n_train, n_test, n_classes, n_channels, shortest, longest = EXPECTED[name]
    train, test = load_aeon(name)
    assert (train.split, test.split) == ("train", "test")
    assert train.name == test.name == f"aeon:{name}"
    assert (train.num_samples, test.num_samples) == (n_train, n_test)
    assert train.class_names == test.class_names and train.num_classes == n_classes
    assert train.num_features == test.num_features == n_channels
    assert train.features.dtype == np.float32
    all_lengths = np.concatenate([train.lengths, test.lengths])
    assert (all_lengths.min(), all_lengths.max()) == (shortest, longest)
    assert train.ids.tolist() == list(range(n_train))
    assert test.ids.tolist() == list(range(n_train, n_train + n_test))
    assert set(np.unique(train.labels)) == set(range(n_classes))  # every class has training samples


@needs_aeon
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_values_lengths_and_labels_match_the_shipped_text(name):
    for part in load_aeon(name):
        series, labels = read_ts(shipped_file(name, part.split))
        assert part.lengths.tolist() == [item.shape[1] for item in series]
        for index in (0, len(series) // 2, len(series) - 1):
            length = series[index].shape[1]
            # Time-major: step t of channel c in the file is features[i, t, c].
            assert np.array_equal(part.features[index, :length], series[index].T.astype(np.float32))
            assert not part.features[index, length:].any()
        # aeon lower-cases class labels ("Standing" -> "standing").
        decoded = [part.class_names[label] for label in part.labels]
        assert decoded == [label.lower() for label in labels]


@needs_aeon
def test_variable_lengths_are_zero_padded_and_numeric_classes_sort_numerically():
    train, test = load_aeon("PickupGestureWiimoteZ")
    assert train.class_names == tuple(str(number) for number in range(1, 11))  # "10" last, not after "1"
    assert train.has_variable_lengths and test.has_variable_lengths
    for part in (train, test):
        assert part.max_length == part.lengths.max()
        beyond = np.arange(part.max_length)[None, :] >= part.lengths[:, None]
        assert not part.features[beyond].any()
    vowels_train, vowels_test = load_aeon("JapaneseVowels")
    assert (vowels_train.lengths.min(), vowels_train.lengths.max()) == (7, 26)
    assert (vowels_test.lengths.min(), vowels_test.lengths.max()) == (7, 29)


@needs_aeon
def test_text_labels_share_one_sorted_encoding_across_splits():
    train, test = load_aeon("BasicMotions")
    assert train.class_names == ("badminton", "running", "standing", "walking")
    assert test.class_names == train.class_names
    assert train.class_counts().tolist() == [10, 10, 10, 10]
    assert test.class_counts().tolist() == [10, 10, 10, 10]


@needs_aeon
def test_names_match_case_insensitively():
    train, _ = load_aeon(" gunpoint ")
    assert train.name == "aeon:GunPoint" and train.num_samples == 50


def test_unknown_name_lists_the_available_sets():
    with pytest.raises(DataError) as error:
        load_aeon("Chinatown")
    message = str(error.value)
    assert "'Chinatown'" in message and "\n" not in message
    assert all(name in message for name in AEON_DATASETS)


def test_missing_aeon_asks_for_the_extra(monkeypatch):
    # A None entry in sys.modules makes "import aeon" raise ImportError, as when aeon is not installed.
    monkeypatch.setitem(sys.modules, "aeon", None)
    monkeypatch.setitem(sys.modules, "aeon.datasets", None)
    with pytest.raises(DataError, match=r"^aeon:GunPoint needs the optional extra: pip install 'lossgap\[data\]'$"):
        load_aeon("gunpoint")
    with pytest.raises(DataError, match=r"^listing the aeon data sets needs the optional extra: pip install "):
        available_datasets()


@needs_aeon
def test_trailing_nan_padding_ends_a_series_and_inner_nan_is_rejected(tmp_path, monkeypatch):
    from aeon.datasets import load_from_ts_file

    header = "@problemName GunPoint\n@timeStamps false\n@univariate true\n@classLabel true a b\n@data\n"
    folder = tmp_path / "GunPoint"
    folder.mkdir()
    (folder / "GunPoint_TRAIN.ts").write_text(header + "1,2,3,?,?:a\n4,5,6,7,8:b\n9,?,?,?,?:a\n")
    (folder / "GunPoint_TEST.ts").write_text(header + "1,2,?,?,?:b\n")
    monkeypatch.setattr(aeon_source, "_aeon_reader", lambda what: (load_from_ts_file, tmp_path))
    train, test = load_aeon("GunPoint")
    assert train.lengths.tolist() == [3, 5, 1] and test.lengths.tolist() == [2]
    assert train.features[:, :, 0].tolist() == [[1, 2, 3, 0, 0], [4, 5, 6, 7, 8], [9, 0, 0, 0, 0]]
    assert test.features.shape == (1, 2, 1) and test.ids.tolist() == [3]
    assert train.class_names == ("a", "b") and test.labels.tolist() == [1]

    (folder / "GunPoint_TEST.ts").write_text(header + "1,?,3,4,5:b\n")
    with pytest.raises(DataError, match="NaN or inf"):
        load_aeon("GunPoint")


@needs_aeon
def test_available_datasets_describes_every_set_from_its_files():
    infos = available_datasets()
    assert [info.name for info in infos] == list(AEON_DATASETS)
    for info in infos:
        assert (info.train_samples, info.test_samples, info.num_classes, info.num_channels,
                info.min_length, info.max_length) == EXPECTED[info.name]
    by_name = {info.name: info for info in infos}
    assert by_name["JapaneseVowels"].length_text == "7-29" and by_name["JapaneseVowels"].variable_length
    assert by_name["GunPoint"].length_text == "150" and not by_name["GunPoint"].variable_length
    assert describe_aeon("italypowerdemand") == by_name["ItalyPowerDemand"]
