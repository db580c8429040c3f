"""Sweep settings: checked on construction, pruners by name, and the preflight that refuses a bad device or
data before a study is created."""

import optuna
import pytest
import torch

from lossgap.errors import ConfigError, DataError
from lossgap.sweep import SearchSpace, SweepSettings, run_sweep
from lossgap.sweep.settings import make_pruner, preflight
from lossgap.training.config import DataConfig, TrainConfig

BASE = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=120"), epochs=2)
SMALL = SearchSpace(hidden=(8,), layers=(1, 1), batch=(32,))


def settings(tmp_path, **changes):
    return SweepSettings(**{"out": tmp_path, "trials": 1, "threads": 1, **changes})


def test_pruners_are_built_from_their_names():
    median = make_pruner("median", epochs=10, startup=4, warmup=2)
    assert (median._n_startup_trials, median._n_warmup_steps) == (4, 2)
    hyperband = make_pruner("hyperband", epochs=10, warmup=2)
    assert (hyperband._min_resource, hyperband._max_resource) == (2, 10)
    assert isinstance(make_pruner("none", epochs=10), optuna.pruners.NopPruner)


@pytest.mark.parametrize("changes, option", [({"trials": 0}, "--trials"), ({"workers": 0}, "--workers"),
                                             ({"pruner": "random"}, "--pruner"), ({"timeout": -1.0}, "--timeout")])
def test_bad_settings_are_config_errors(tmp_path, changes, option):
    with pytest.raises(ConfigError, match=option):
        settings(tmp_path, **changes)


def test_preflight_returns_the_splits_every_trial_uses():
    splits = preflight(BASE)
    assert splits.test is None and splits.train.num_samples + splits.val.num_samples == 120


@pytest.mark.parametrize("changes, error, message", [
    pytest.param({"device": "cuda"}, ConfigError, "--device cuda",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
    ({"data": DataConfig(source="missing.csv")}, DataError, "missing.csv"),
])
def test_a_bad_device_or_data_is_refused_before_the_study_is_created(tmp_path, changes, error, message):
    out = tmp_path / "sweep"
    with pytest.raises(error, match=message):
        run_sweep(BASE.model_copy(update=changes), SMALL, settings(out))
    assert not out.exists()   # no sweep.db, no sweep.json: nothing pins the study's settings
    # So the corrected command, with other settings too, is not refused as another study's.
    fixed = run_sweep(BASE.model_copy(update={"epochs": 3}), SMALL, settings(out))
    assert fixed.finished == 1 and len(fixed.study.trials) == 1
    assert fixed.study.trials[0].state == optuna.trial.TrialState.COMPLETE
