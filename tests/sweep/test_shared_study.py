"""Two separately started ``lossgap sweep`` commands against one PostgreSQL study, as two machines would run
them: together they finish exactly the trials both asked for, each trial number once, no configuration twice."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import optuna
import pytest

from fixtures.torchrun import TIMEOUT

DATA = "synthetic:sum-sign,samples=100"


def test_two_commands_sharing_a_postgresql_study_finish_exactly_the_trials_asked_in_total(tmp_path, postgres_url):
    study = f"shared-{uuid.uuid4().hex[:8]}"
    commands = [[sys.executable, "-m", "lossgap", "sweep", DATA, "--trials", str(trials), "--workers", "1",
                 "--epochs", "3", "--pruner", "none", "--hidden-choices", "8,16", "--threads", "1",
                 "--storage", postgres_url, "--study", study, "--out", str(tmp_path / name)]
                for name, trials in (("machine_a", 3), ("machine_b", 4))]
    # Started together: both open (or create) the study and draw trial numbers from the database at once.
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for command in commands]
    outputs = [process.communicate(timeout=TIMEOUT) for process in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
    trials = optuna.load_study(study_name=study, storage=postgres_url).get_trials(deepcopy=False)
    assert [trial.state.name for trial in trials] == ["COMPLETE"] * 7
    assert sorted(trial.number for trial in trials) == list(range(7))
    # Each command ran its own trials: the run ids split the study 3 + 4, and no configuration ran twice.
    runs = sorted(json.loads((tmp_path / name / "sweep.json").read_text())["this_run"]["finished"]
                  for name in ("machine_a", "machine_b"))
    assert runs == [3, 4]
    params = [tuple(sorted(trial.params.items())) for trial in trials]
    assert len(set(params)) == len(params)


class RacingStorage:
    """Stands in for optuna's RDBStorage: the first ``failures`` constructions fail as when another process
    creates the tables at that moment."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self, url, **options):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "storage"


def integrity_error():
    from sqlalchemy.exc import IntegrityError

    return IntegrityError("CREATE TABLE studies", {}, Exception('duplicate key value violates unique constraint '
                                                                 '"pg_type_typname_nsp_index"'))


def test_opening_a_storage_whose_tables_another_command_is_creating_tries_again(monkeypatch):
    from lossgap.sweep import storage

    racing = RacingStorage(2, integrity_error())
    monkeypatch.setattr(storage.optuna.storages, "RDBStorage", racing)
    monkeypatch.setattr(storage.time, "sleep", lambda seconds: None)
    assert storage.open_storage("postgresql+psycopg2://u@127.0.0.1:1/db") == "storage" and racing.calls == 3


def test_other_storage_errors_are_one_line_at_once(monkeypatch):
    from sqlalchemy.exc import ProgrammingError

    from lossgap.sweep import storage

    racing = RacingStorage(9, ProgrammingError("SELECT", {}, Exception("permission denied for schema public")))
    monkeypatch.setattr(storage.optuna.storages, "RDBStorage", racing)
    with pytest.raises(storage.StorageError, match="permission denied"):
        storage.open_storage("postgresql+psycopg2://u@127.0.0.1:1/db")
    assert racing.calls == 1


def test_commands_with_the_same_options_propose_by_trial_number_not_by_command():
    from lossgap.sweep.sampler import make_sampler

    def first_points(storage, name, numbers_wanted):
        study = optuna.load_study(study_name=name, storage=storage, sampler=make_sampler(0, 0, 0))
        return [study.ask().suggest_float("lr", 1e-4, 1e-1, log=True) for _ in range(numbers_wanted)]

    shared = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="shared", storage=shared)
    # Two commands on one host with the same options, each asking while the other's trial runs (no liar yet:
    # all start-up points are random draws), get trial numbers 0 and 1 and two different points ...
    machine_a, machine_b = first_points(shared, "shared", 1), first_points(shared, "shared", 1)
    assert machine_a != machine_b
    # ... and trials 0 and 1 of a fresh study get those same points: proposals follow the trial number.
    fresh = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="fresh", storage=fresh)
    assert first_points(fresh, "fresh", 2) == machine_a + machine_b
