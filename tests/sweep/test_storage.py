"""Storage and study: SQLite directories are made, a dead server is one clear line, other settings are refused."""

import optuna
import pytest

from lossgap.errors import ConfigError
from lossgap.sweep.space import SearchSpace
from lossgap.sweep.storage import (STUDY_ATTR, StorageError, masked, objective_settings, open_storage, open_study,
                                   stored_base)
from lossgap.training.config import DataConfig, ModelConfig, TrainConfig

BASE = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=120"), epochs=4)


def test_a_sqlite_file_in_a_missing_directory_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'new' / 'deeper' / 'sweep.db'}"
    study = open_study(open_storage(url), "s", SearchSpace(), BASE)
    assert (tmp_path / "new" / "deeper" / "sweep.db").exists()
    assert stored_base(study) == BASE


def test_a_closed_port_is_one_line_without_the_password():
    with pytest.raises(StorageError, match="cannot open study storage") as caught:
        open_storage("postgresql+psycopg2://someone:hunter2@127.0.0.1:1/nothing")
    message = str(caught.value)
    assert "\n" not in message and "hunter2" not in message and "someone:***@127.0.0.1:1" in message


def test_a_nonsense_url_is_a_storage_error():
    with pytest.raises(StorageError, match="cannot open study storage"):
        open_storage("nosuchdb://here")


def test_masked_hides_only_the_password():
    assert masked("postgresql://user:pa:ss@host:5432/db") == "postgresql://user:***@host:5432/db"
    assert masked("postgresql://user@host/db") == "postgresql://user@host/db"


def test_continuing_with_the_same_space_works_and_another_space_is_refused_by_option(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'sweep.db'}")
    open_study(storage, "s", SearchSpace(), BASE)
    assert open_study(storage, "s", SearchSpace(hidden=(128, 16, 32, 64)), BASE).study_name == "s"
    with pytest.raises(ConfigError, match=r"another search space.*--hidden-choices 16,32,64,128 vs 8") as caught:
        open_study(storage, "s", SearchSpace(hidden=(8,)), BASE)
    assert "\n" not in str(caught.value)


def test_other_base_options_are_refused_but_device_is_not_a_difference(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'sweep.db'}")
    open_study(storage, "s", SearchSpace(), BASE)
    with pytest.raises(ConfigError, match="--epochs 4 vs 9"):
        open_study(storage, "s", SearchSpace(), BASE.model_copy(update={"epochs": 9}))
    assert objective_settings(BASE) == objective_settings(BASE.model_copy(update={"device": "cuda", "batch_size": 3}))
    # A refit is never part of a trial: a study stored before --refit existed opens with or without it.
    assert "refit" not in objective_settings(BASE)
    assert objective_settings(BASE) == objective_settings(BASE.model_copy(update={"refit": True}))


def test_another_readout_or_patch_length_is_another_study(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path / 'sweep.db'}")
    open_study(storage, "s", SearchSpace(), BASE)
    for model in (ModelConfig(readout="max"), ModelConfig(patch_length="auto")):
        with pytest.raises(ConfigError, match="--readout last vs max|--patch 1 vs auto"):
            open_study(storage, "s", SearchSpace(), BASE.model_copy(update={"model": model}))


def test_a_study_made_before_readout_and_patching_existed_can_be_continued(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    older = optuna.create_study(study_name="old", storage=url, direction="minimize")
    base = BASE.to_dict()
    del base["model"]["readout"], base["model"]["patch_length"]
    settings = objective_settings(BASE)
    settings["model"] = {"bidirectional": False}   # what such a study stored
    older.set_user_attr(STUDY_ATTR, {"space": SearchSpace().to_dict(), "settings": settings, "base": base})
    assert open_study(open_storage(url), "old", SearchSpace(), BASE).study_name == "old"
    with pytest.raises(ConfigError, match="--readout last vs max"):
        open_study(open_storage(url), "old", SearchSpace(),
                   BASE.model_copy(update={"model": ModelConfig(readout="max")}))


def test_a_study_not_made_by_lossgap_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    foreign = optuna.create_study(study_name="theirs", storage=url)
    foreign.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(ConfigError, match="not made by lossgap sweep"):
        open_study(open_storage(url), "theirs", SearchSpace(), BASE)


def test_a_missing_database_driver_is_named_with_the_package_to_install(monkeypatch):
    import sys

    import pytest

    from lossgap.sweep.storage import StorageError, open_storage

    monkeypatch.setitem(sys.modules, "psycopg2", None)   # as if psycopg2 were not installed
    with pytest.raises(StorageError) as caught:
        open_storage("postgresql+psycopg2://u:secret@127.0.0.1:1/db")
    message = str(caught.value)
    assert "pip install 'psycopg2-binary'" in message and "'psycopg2'" in message
    assert "secret" not in message and "\n" not in message
    with pytest.raises(StorageError, match=r"pip install 'PyMySQL'"):
        open_storage("mysql+pymysql://u@127.0.0.1:1/db")
