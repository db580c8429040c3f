"""Sweeps: finish, continue on rerun, prune hopeless trials, stop cleanly, and share one study exactly."""

import json

import optuna
import pytest

from lossgap.errors import ConfigError
from lossgap.sweep import SearchSpace, SweepSettings, run_sweep
from lossgap.training.config import DataConfig, TrainConfig

BASE = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=120"), epochs=4)
SMALL = SearchSpace(hidden=(8, 16), layers=(1, 1), batch=(32,))
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)


def finished(study):
    return study.get_trials(deepcopy=False, states=FINISHED)


def settings(tmp_path, **changes):
    # One torch thread: tiny models run fastest that way, and the tests stay quick on a busy machine.
    return SweepSettings(**{"out": tmp_path, "trials": 6, "threads": 1, **changes})


def test_a_six_trial_sweep_finishes_and_a_rerun_adds_six_more_to_the_same_study(tmp_path):
    reports = []
    result = run_sweep(BASE, SMALL, settings(tmp_path), on_trial=reports.append)
    assert (result.stopped, result.finished, len(finished(result.study))) == ("done", 6, 6)
    assert [report.finished for report in reports] == [1, 2, 3, 4, 5, 6]
    assert reports[-1].best_value == min(trial.value for trial in result.study.best_trials)
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert len(summary["trials"]) == 6 and summary["this_run"]["finished"] == 6
    assert summary["best_command"].startswith("lossgap train synthetic:sum-sign,samples=120 ") and " --hidden " in summary["best_command"]

    again = run_sweep(BASE, SMALL, settings(tmp_path))
    assert again.finished == 6 and len(finished(again.study)) == 12
    assert sorted(trial.number for trial in again.study.trials) == list(range(12))
    assert len(optuna.get_all_study_names(f"sqlite:///{tmp_path / 'sweep.db'}")) == 1

    # The same command in a fresh directory proposes the same first trials (seeded sampler and training).
    fresh = run_sweep(BASE, SMALL, settings(tmp_path / "fresh", trials=2))
    assert [(t.params, t.value) for t in fresh.study.trials] == [(t.params, t.value) for t in result.study.trials[:2]]


def test_the_median_pruner_stops_hopeless_trials_early(tmp_path):
    # Learning rates from useless (1e-6) to good; after 2 finished trials and 2 epochs the pruner may act.
    base = BASE.model_copy(update={"epochs": 8})
    space = SearchSpace(lr=(1e-6, 3e-2), hidden=(16,), layers=(1, 1), batch=(32,), dropout=(0, 0))
    result = run_sweep(base, space, settings(tmp_path, trials=12, pruner_startup=2, pruner_warmup=2))
    states = [trial.state for trial in result.study.trials]
    pruned = [trial for trial in result.study.trials if trial.state == optuna.trial.TrialState.PRUNED]
    assert pruned and result.finished == 12
    assert all(2 <= len(trial.intermediate_values) < 8 for trial in pruned)
    assert all(len(trial.intermediate_values) == 8 for trial, state in zip(result.study.trials, states)
               if state == optuna.trial.TrialState.COMPLETE)


def test_an_interrupted_sweep_keeps_every_finished_trial_and_writes_the_summary(tmp_path):
    def interrupt_after_two(report):
        if report.finished == 2:
            raise KeyboardInterrupt

    result = run_sweep(BASE, SMALL, settings(tmp_path), on_trial=interrupt_after_two)
    assert (result.stopped, result.finished) == ("interrupted", 2)
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert summary["this_run"]["stopped"] == "interrupted"
    assert sum(trial["state"] in ("COMPLETE", "PRUNED") for trial in summary["trials"]) == 2
    reloaded = optuna.load_study(study_name="lossgap", storage=f"sqlite:///{tmp_path / 'sweep.db'}")
    assert len(finished(reloaded)) == 2 and not reloaded.get_trials(states=(optuna.trial.TrialState.RUNNING,))


def test_a_timeout_already_passed_starts_no_trial_but_writes_the_summary(tmp_path):
    result = run_sweep(BASE, SMALL, settings(tmp_path, timeout=1e-9))
    assert (result.stopped, result.finished, len(result.study.trials)) == ("timeout", 0, 0)
    assert json.loads((tmp_path / "sweep.json").read_text())["best"] is None


def test_another_search_space_under_the_same_name_is_refused_before_any_trial(tmp_path):
    run_sweep(BASE, SMALL, settings(tmp_path, trials=1))
    with pytest.raises(ConfigError, match="another search space"):
        run_sweep(BASE, SearchSpace(hidden=(64,)), settings(tmp_path, trials=1))
    assert len(optuna.load_study(study_name="lossgap", storage=f"sqlite:///{tmp_path / 'sweep.db'}").trials) == 1


def test_two_workers_on_postgresql_finish_exactly_the_requested_trials(tmp_path, postgres_url):
    result = run_sweep(BASE, SMALL, SweepSettings(out=tmp_path, trials=7, workers=2, storage=postgres_url,
                                                  study="shared"))
    numbers = [trial.number for trial in result.study.trials]
    assert (result.stopped, result.finished) == ("done", 7)
    assert len(finished(result.study)) == 7 and sorted(numbers) == list(range(7))
    init_seeds = [trial.user_attrs["init_seed"] for trial in result.study.trials]
    assert init_seeds == [BASE.seed] * len(numbers)   # every trial, whichever worker ran it
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert summary["storage"] == postgres_url and len(summary["trials"]) == 7
