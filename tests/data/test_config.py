"""DataConfig: a data file's path is stored absolute, so a run's config reads its data from any directory."""

import pytest

from lossgap.data import DataConfig, load_data
from lossgap.training.config import TrainConfig


@pytest.mark.parametrize("name", ["d.npz", "d.csv", "./sub/../d.NPZ"])
def test_a_relative_file_path_is_stored_absolute(data_dir, name):
    expected = str((data_dir / name.replace("./sub/../", "")))
    assert DataConfig(source=name).source == expected
    # Stored and read back (config.json), and rebuilt as a command, it stays the same absolute path.
    again = TrainConfig.from_dict(TrainConfig(data=DataConfig(source=name)).to_dict())
    assert again.data.source == expected and again.to_cli_args()[0] == expected
    assert again.command(out="run").startswith(f"lossgap train {expected} ")


def test_home_is_expanded(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert DataConfig(source="~/x.csv").source == str(tmp_path / "x.csv")


@pytest.mark.parametrize("source", ["synthetic:sum-sign,samples=80", "aeon:BasicMotions", "data.parquet",
                                    "/abs/d.npz"])
def test_other_sources_and_absolute_paths_are_kept_as_written(data_dir, source):
    assert DataConfig(source=source).source == source


def test_a_run_config_built_in_one_directory_loads_its_data_from_another(data_dir, tmp_path, monkeypatch):
    config = TrainConfig(data=DataConfig(source="d.npz")).to_dict()  # as config.json stores it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    loaded = load_data(TrainConfig.from_dict(config).data, seed=0)
    assert loaded.splits.train.num_samples + loaded.splits.val.num_samples == 20
