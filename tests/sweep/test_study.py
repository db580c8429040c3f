"""Sweeps: finish, continue on rerun, prune hopeless trials, and share one study between workers exactly."""

import json

import optuna
import pytest

from lossgap.errors import ConfigError
from lossgap.sweep import SearchSpace, SweepSettings, run_sweep
from lossgap.sweep.study import StorageError
from lossgap.training.config import DataConfig, TrainConfig

BASE = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=120"), epochs=4, batch_size=32)
SMALL = SearchSpace(hidden=(8, 16), layers=(1, 1), batch=(32,))


def finished(study):
    return [t for t in study.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]


def test_a_six_trial_sweep_finishes_and_continues_when_rerun(tmp_path):
    settings = SweepSettings(out=tmp_path, trials=6)
    study = run_sweep(BASE, SMALL, settings)
    assert len(finished(study)) == 6
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert len(summary["trials"]) == 6 and summary["best_command"].startswith("lossgap train synthetic:sum-sign")
    again = run_sweep(BASE, SMALL, settings)
    assert len(finished(again)) == 12 and len({t.number for t in again.trials}) == 12


def test_the_pruner_stops_hopeless_trials(tmp_path):
    # Learning rates from useless to good, 8 epochs: the median pruner must cut some of the bad ones short.
    base = BASE.model_copy(update={"epochs": 8})
    space = SearchSpace(lr=(1e-6, 3e-2), hidden=(16,), layers=(1, 1), batch=(32,))
    study = run_sweep(base, space, SweepSettings(out=tmp_path, trials=10, pruner="median"))
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned and all(len(t.intermediate_values) < 8 for t in pruned)


def test_a_study_with_another_search_space_is_refused(tmp_path):
    run_sweep(BASE, SMALL, SweepSettings(out=tmp_path, trials=1))
    with pytest.raises(ConfigError, match="another search space"):
        run_sweep(BASE, SearchSpace(hidden=(64,)), SweepSettings(out=tmp_path, trials=1))


def test_an_unreachable_storage_is_one_clear_error(tmp_path):
    with pytest.raises(StorageError, match="cannot open study storage"):
        run_sweep(BASE, SMALL, SweepSettings(out=tmp_path, trials=1,
                                             storage="postgresql+psycopg2://nobody:secret@127.0.0.1:1/none"))


def test_two_workers_on_postgresql_run_exactly_the_requested_trials(tmp_path, postgres_url):
    settings = SweepSettings(out=tmp_path, trials=6, workers=2, storage=postgres_url, study="shared")
    study = run_sweep(BASE, SMALL, settings)
    numbers = [t.number for t in study.trials]
    assert len(finished(study)) == 6 and len(study.trials) == 6 and sorted(numbers) == list(range(6))
    assert json.loads((tmp_path / "sweep.json").read_text())["storage"] == postgres_url


def test_an_interrupted_sweep_keeps_every_finished_trial(tmp_path):
    def interrupt_after_two(study, trial):
        if len(finished(study)) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_sweep(BASE, SMALL, SweepSettings(out=tmp_path, trials=6), on_trial=interrupt_after_two)
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert sum(trial["state"] in ("COMPLETE", "PRUNED") for trial in summary["trials"]) == 2
    reloaded = optuna.load_study(study_name="lossgap", storage=f"sqlite:///{tmp_path / 'sweep.db'}")
    assert len(finished(reloaded)) == 2
