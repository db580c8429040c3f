"""Source strings -> splits: stratified validation from train, fixed splits kept, standardisation fitted on train."""

import numpy as np
import pytest

from lossgap.data import load_splits
from lossgap.data.csv_source import write_csv_data
from lossgap.data.preprocessing import Standardizer
from lossgap.data.sequence import SequenceData
from lossgap.errors import DataError


def test_synthetic_source_gets_a_stratified_validation_split_and_no_standardisation():
    loaded = load_splits("synthetic:random-labels,samples=200", val_fraction=0.25, seed=0)
    splits = loaded.splits
    assert splits.train.num_samples == 150 and splits.val.num_samples == 50
    assert loaded.standardizer is None and splits.test is None and not splits.val_is_fixed
    assert len(np.intersect1d(splits.train.ids, splits.val.ids)) == 0


def test_file_sources_are_standardised_on_train_only(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 3.0, size=(80, 6, 2))
    np.savez(tmp_path / "d.npz", X=x, y=np.arange(80) % 2, X_test=rng.normal(50.0, 1.0, size=(10, 6, 2)),
             y_test=np.arange(10) % 2)
    loaded = load_splits(str(tmp_path / "d.npz"), val_fraction=0.25, seed=1)
    train = loaded.splits.train.features.reshape(-1, 2)
    assert np.allclose(train.mean(axis=0), 0, atol=1e-5) and np.allclose(train.std(axis=0), 1, atol=1e-4)
    # The test split is transformed with train's statistics, so its far-off mean stays far off.
    assert loaded.splits.test.features.mean() > 10
    restored = Standardizer.from_dict(loaded.standardizer.to_dict())
    assert np.array_equal(restored.mean, loaded.standardizer.mean)


def test_padding_stays_zero_after_standardisation(tmp_path):
    x = np.random.default_rng(0).normal(3.0, 1.0, size=(20, 5, 1))
    lengths = np.r_[np.full(10, 2), np.full(10, 5)]
    np.savez(tmp_path / "d.npz", X=x, y=np.arange(20) % 2, lengths=lengths)
    train = load_splits(str(tmp_path / "d.npz"), seed=0).splits.train
    beyond = np.arange(5)[None, :] >= train.lengths[:, None]
    assert (train.features[beyond] == 0).all() and not (train.features[~beyond] == 0).all()


def test_fixed_validation_split_is_kept(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((10, 2, 1)), y=np.arange(10) % 2, X_val=np.ones((4, 2, 1)),
             y_val=np.array([0, 1, 0, 1]))
    splits = load_splits(str(tmp_path / "d.npz"), seed=0, standardize=False).splits
    assert splits.val_is_fixed and splits.val.num_samples == 4 and splits.train.num_samples == 10


def test_unknown_source_names_the_accepted_forms():
    with pytest.raises(DataError, match=r"give a \.npz or \.csv file, synthetic:NAME"):
        load_splits("data.parquet")


def test_the_same_data_as_csv_and_as_npz_load_into_identical_splits(tmp_path):
    rng = np.random.default_rng(4)
    lengths = rng.integers(3, 11, size=60)
    lengths[0] = 10
    features = rng.normal(2.0, 3.0, size=(60, 10, 2)).astype(np.float32)
    features[np.arange(10)[None, :] >= lengths[:, None]] = 0.0
    names = np.array(["cat", "dog", "eel"])
    labels = np.arange(60) % 3
    ids = np.arange(100, 160)
    np.savez(tmp_path / "d.npz", X=features[:48], y=names[labels[:48]], lengths=lengths[:48], ids=ids[:48],
             X_test=features[48:], y_test=names[labels[48:]], lengths_test=lengths[48:], ids_test=ids[48:])
    parts = {"train": SequenceData(features[:48], lengths[:48], labels[:48], ids[:48], tuple(names), split="train"),
             "test": SequenceData(features[48:], lengths[48:], labels[48:], ids[48:], tuple(names), split="test")}
    write_csv_data(parts, tmp_path / "d.csv")
    from_npz = load_splits(str(tmp_path / "d.npz"), val_fraction=0.25, seed=3)
    from_csv = load_splits(str(tmp_path / "d.csv"), val_fraction=0.25, seed=3)
    assert np.array_equal(from_npz.standardizer.mean, from_csv.standardizer.mean)
    for split in ("train", "val", "test"):
        a, b = from_npz.splits.splits()[split], from_csv.splits.splits()[split]
        assert a.num_samples == b.num_samples > 0
        assert np.array_equal(a.features, b.features) and np.array_equal(a.lengths, b.lengths)
        assert np.array_equal(a.ids.astype(str), b.ids.astype(str)) and a.class_names == b.class_names
        assert np.array_equal(a.labels, b.labels)


def test_a_class_only_in_a_fixed_split_is_refused_naming_class_split_and_file(tmp_path):
    rows = [f"{i},0,{i % 2},train,{i}" for i in range(8)] + [f"{i},0,7,val,{i}" for i in range(8, 11)]
    (tmp_path / "d.csv").write_text("id,t,label,split,v\n" + "\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"^d\.csv: class '7' has 3 val sample\(s\) but none in train"):
        load_splits(str(tmp_path / "d.csv"))


def test_listed_training_samples_are_left_out_and_val_and_test_do_not_change():
    source = "synthetic:frequency,samples=200,test_samples=40"
    whole = load_splits(source, val_fraction=0.25, seed=3).splits
    in_train, in_val = whole.train.ids[[5, 9, 70]], whole.val.ids[0]
    listed = ",".join(str(i) for i in [*in_train, in_val])
    dropped = load_splits(source, val_fraction=0.25, seed=3, drop_train_ids=listed).splits
    assert set(dropped.train.ids) == set(whole.train.ids) - set(in_train)
    # A listed id in val (another seed's split may hold it) stays there; val and test are untouched.
    assert np.array_equal(dropped.val.ids, whole.val.ids) and np.array_equal(dropped.test.ids, whole.test.ids)
    assert np.array_equal(dropped.val.features, whole.val.features)


def test_an_id_in_no_split_or_every_training_sample_listed_is_refused():
    source = "synthetic:frequency,samples=40"
    with pytest.raises(DataError, match=r"^--drop-train-ids: 1 of the 2 listed ids are no sample of the training "
                                        r"data \(e.g. '4000'\)"):
        load_splits(source, seed=0, drop_train_ids="3,4000")
    train = load_splits(source, seed=0).splits.train
    with pytest.raises(DataError, match="lists every training sample"):
        load_splits(source, seed=0, drop_train_ids=",".join(str(i) for i in train.ids))


def test_dropped_ids_are_written_without_spaces_or_repeats_and_an_empty_list_is_refused():
    from lossgap.data.config import DataConfig
    from lossgap.errors import ConfigError
    from lossgap.training.config import TrainConfig

    assert DataConfig(drop_train_ids=" 12, 40,12 ,7").drop_train_ids == "12,40,7"
    with pytest.raises(ConfigError, match="--drop-train-ids.*give one or more sample ids"):
        TrainConfig.from_dict({"data": {"drop_train_ids": " , "}})


def test_a_split_seed_holds_the_val_split_while_the_run_seed_changes():
    from lossgap.data.config import DataConfig
    from lossgap.data.sources import load_data

    source = "synthetic:frequency,samples=200"
    held = DataConfig(source=source, split_seed=7, train_fraction=0.5)
    first, second = load_data(held, 0).splits, load_data(held, 1).splits
    assert np.array_equal(first.val.ids, second.val.ids) and np.array_equal(first.train.ids, second.train.ids)
    # ... the split of seed 7 itself, which another run seed without --split-seed does not reproduce.
    own = load_data(DataConfig(source=source, train_fraction=0.5), 7).splits
    assert np.array_equal(first.val.ids, own.val.ids) and np.array_equal(first.train.ids, own.train.ids)
    assert not np.array_equal(load_data(DataConfig(source=source), 1).splits.val.ids, first.val.ids)
