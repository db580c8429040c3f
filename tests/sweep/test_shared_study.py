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


# Twice: the first pair may meet an empty database (both create Optuna's tables at once), the second finds
# the tables and starts its first trials at the same moment from the same options.
@pytest.mark.parametrize("repeat", range(2))
def test_two_commands_sharing_a_postgresql_study_finish_exactly_the_trials_asked_in_total(tmp_path, postgres_url,
                                                                                         repeat):
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
