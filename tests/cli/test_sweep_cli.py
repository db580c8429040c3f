"""``lossgap sweep`` as a user runs it: table, files, a best command that trains; bad input one line; Ctrl-C."""

import contextlib
import csv
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import pytest
from typer.testing import CliRunner

from lossgap.cli import sweep  # noqa: F401  (registers the command until app.py imports it)
from lossgap.cli.app import register_commands

runner = CliRunner()
app = register_commands()
DATA = "synthetic:sum-sign,samples=100"


def test_a_small_sweep_prints_the_table_writes_its_files_and_the_best_command_trains(tmp_path):
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", DATA, "--trials", "3", "--epochs", "3", "--hidden-choices", "8",
                                 "--layers-range", "1:1", "--batch-choices", "32", "--threads", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "best trials of 'lossgap' (3 complete)" in result.stdout
    for name in ("sweep.json", "sweep.db", "sweep.html", "figures/history.png", "figures/intermediate_values.png"):
        assert (out / name).exists(), name
    command = result.stdout.split("best configuration:\n")[1].splitlines()[0]
    assert command == json.loads((out / "sweep.json").read_text())["best_command"]
    words = shlex.split(command)
    assert words[:2] == ["lossgap", "train"] and words[-2:] == ["--out", str(out / "best")]
    # The trials' thread count, so that the command repeats the trial's numbers.
    assert words[-4:-2] == ["--threads", "1"]
    trained = runner.invoke(app, words[1:])
    assert trained.exit_code == 0, trained.output
    assert json.loads((out / "best" / "config.json").read_text())["runtime"]["torch_threads"] == 1
    config = json.loads((out / "best" / "config.json").read_text())["train"]
    assert config["model"]["hidden_size"] == 8 and config["batch_size"] == 32 and config["epochs"] == 3
    # It repeats the best trial: same split, same initialisation, so the same best val loss.
    with open(out / "best" / "metrics.csv") as handle:
        val_losses = [float(row["val_loss"]) for row in csv.DictReader(handle)]
    best = json.loads((out / "sweep.json").read_text())["best"]
    assert min(val_losses) == pytest.approx(best["value"], rel=1e-6)
    # No note that the command cannot repeat the trial; the one that the best of 3 is optimistic.
    notes = result.stdout.split("best configuration:\n")[1].split("note:")[1:]
    assert len(notes) == 1 and "optimistic estimate" in " ".join(notes[0].split())
    assert "trials train with --seed" in result.stdout


@pytest.mark.parametrize("data, extra, message", [
    pytest.param(DATA, ["--device", "cuda"], "--device cuda was asked for",
                 marks=pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")),
    ("missing.csv", [], "missing.csv does not exist"),
])
def test_a_bad_device_or_data_file_writes_nothing_so_the_corrected_command_runs(tmp_path, data, extra, message):
    out = tmp_path / "sw"
    refused = runner.invoke(app, ["sweep", data, "--trials", "1", "--out", str(out), *extra])
    assert refused.exit_code == 2 and "Traceback" not in refused.output
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], refused.stderr
    assert "trials" not in refused.stderr and not out.exists()   # no progress bar, no sweep.db, no sweep.json
    # The retry, with another --epochs too, is not refused as a study with other settings.
    retried = runner.invoke(app, ["sweep", DATA, "--trials", "1", "--epochs", "2", "--hidden-choices", "8",
                                  "--layers-range", "1:1", "--threads", "1", "--out", str(out)])
    assert retried.exit_code == 0, retried.output


@pytest.mark.parametrize("args, message", [
    (["--trials", "0"], "--trials must be at least 1"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--threads", "0"], "--threads must be at least 1"),
    (["--lr-range", "0.1"], "--lr-range must be LOW:HIGH"),
    (["--lr-range", "0.1:0.01"], "--lr-range must be LOW:HIGH with 0 < LOW <= HIGH"),
    (["--layers-range", "2:1"], "--layers-range"),
    (["--dropout-range", "0:1"], "--dropout-range must stay below 1"),
    (["--hidden-choices", "a,b"], "--hidden-choices must be comma-separated"),
    (["--pruner", "random"], "--pruner"),
    (["--epochs", "0"], "--epochs"),
    (["--storage", "postgresql+psycopg2://x:pw@127.0.0.1:1/db"], "cannot open study storage"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = runner.invoke(app, ["sweep", DATA, "--out", str(tmp_path / "sw"), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "pw@" not in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_a_study_name_reused_with_another_space_is_one_line_and_exit_2(tmp_path):
    common = ["sweep", DATA, "--trials", "1", "--epochs", "2", "--layers-range", "1:1", "--out", str(tmp_path)]
    assert runner.invoke(app, [*common, "--hidden-choices", "8"]).exit_code == 0
    result = runner.invoke(app, [*common, "--hidden-choices", "16"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "lossgap: error: study 'lossgap' already exists with another search space or settings (stored vs now: "
        "--hidden-choices 8 vs 16); rerun with the stored options or choose another --study name"]


def finished_in(database) -> int:
    if not database.exists():
        return 0
    with sqlite3.connect(database, timeout=30) as connection:
        try:
            return connection.execute("SELECT count(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')").fetchone()[0]
        except sqlite3.OperationalError:  # tables not created yet
            return 0


def start_long_sweep(out, workers):
    """A sweep far too long to finish, in its own process group (so SIGINT reaches it as a terminal sends it)."""
    command = [sys.executable, "-m", "lossgap.cli.app", "sweep", "synthetic:sum-sign,samples=200", "--trials", "60",
               "--workers", str(workers), "--epochs", "20", "--pruner", "none", "--hidden-choices", "16",
               "--out", str(out)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def interrupt_when(process, ready, stop=signal.SIGINT) -> tuple[str, str]:
    """Once ``ready()`` (or after 120 s) send SIGINT to the process group, as a terminal does, or SIGTERM to
    the main process only, as a cluster does; returns (stdout, stderr)."""
    try:
        give_up = time.monotonic() + 120
        while not ready() and time.monotonic() < give_up and process.poll() is None:
            time.sleep(0.05)
        if stop == signal.SIGINT:
            os.killpg(process.pid, signal.SIGINT)
        else:
            os.kill(process.pid, stop)
        return process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# With worker processes Ctrl-C reaches every process and SIGTERM only the main one, which stops the workers; in
# one process both signals go to the same handler, so one of them is enough there.
@pytest.mark.parametrize("workers, stop", [(2, signal.SIGINT), (2, signal.SIGTERM), (1, signal.SIGTERM)])
def test_ctrl_c_stops_every_worker_keeps_finished_trials_and_writes_the_summary(tmp_path, workers, stop):
    process = start_long_sweep(tmp_path, workers)
    stdout, stderr = interrupt_when(process, lambda: finished_in(tmp_path / "sweep.db") >= 1, stop)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted after" in stdout
    summary = json.loads((tmp_path / "sweep.json").read_text())
    states = [trial["state"] for trial in summary["trials"]]
    assert summary["this_run"]["stopped"] == "interrupted"
    assert summary["this_run"]["finished"] == finished_in(tmp_path / "sweep.db") == states.count("COMPLETE") >= 1
    assert "RUNNING" not in states and states.count("FAIL") <= 2 and len(states) < 60


def child_count(pid: int) -> int:
    with open(f"/proc/{pid}/task/{pid}/children") as children:
        return len(children.read().split())


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"),
                    reason="needs Linux /proc to see when the workers have started")
def test_ctrl_c_while_the_workers_are_still_starting_prints_no_traceback(tmp_path):
    # Workers spend seconds importing torch before their own handler is in place; a Ctrl-C then must not
    # print their KeyboardInterrupt tracebacks.
    process = start_long_sweep(tmp_path, 2)
    stdout, stderr = interrupt_when(process, lambda: child_count(process.pid) >= 2)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert summary["this_run"]["stopped"] == "interrupted"
    assert "RUNNING" not in [trial["state"] for trial in summary["trials"]]


def trial_states(storage: str, study: str) -> dict[str, int]:
    """Trial counts by state, and the running trials that have recorded their process (key "RUNNING_PID")."""
    import optuna

    try:
        trials = optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)
    except KeyError:   # the study is not created yet
        return {}
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
        if trial.state.name == "RUNNING" and "pid" in trial.user_attrs:
            counts["RUNNING_PID"] = counts.get("RUNNING_PID", 0) + 1
    return counts


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_sweep_killed_with_sigkill_leaves_no_running_trial_after_a_rerun(tmp_path, request, database):
    storage = (request.getfixturevalue("postgres_url") if database == "postgresql"
               else f"sqlite:///{tmp_path / 'sweep.db'}")
    # The kill must land while a trial runs; a trial can finish between the last poll and the kill (the states
    # were then 2 COMPLETE and no RUNNING), so a kill that missed is tried again on a new study.
    for _ in range(3):
        study = f"killed-{uuid.uuid4().hex[:8]}"
        options = ["sweep", "synthetic:sum-sign,samples=200", "--workers", "1", "--epochs", "20", "--pruner", "none",
                   "--hidden-choices", "16", "--out", str(tmp_path), "--storage", storage, "--study", study]
        before = _killed_mid_trial(options, storage, study)
        if before.get("RUNNING") == 1:
            break
    assert before.get("RUNNING") == 1, before
    # The same options (a study keeps its settings), 2 more trials.
    result = runner.invoke(app, [*options, "--trials", "2"])
    after = trial_states(storage, study)
    assert result.exit_code == 0, result.output
    assert "RUNNING" not in after and after.get("FAIL", 0) == before.get("FAIL", 0) + 1
    assert after["COMPLETE"] == before.get("COMPLETE", 0) + 2
    assert json.loads((tmp_path / "sweep.json").read_text())["this_run"]["dead_trials_failed"] == 1


def _killed_mid_trial(options: list[str], storage: str, study: str) -> dict:
    """Start the sweep of ``options`` in its own session, SIGKILL it once a trial is running and has recorded its
    process (a trial killed in the instant before, with no process to check, waits for Optuna's heartbeat grace
    period instead), and return the study's trial states after the kill."""
    process = subprocess.Popen([sys.executable, "-m", "lossgap.cli.app", *options, "--trials", "60"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        give_up = time.monotonic() + 120
        while time.monotonic() < give_up:
            states = trial_states(storage, study)
            if states.get("RUNNING_PID", 0) >= 1 and states.get("COMPLETE", 0) >= 1:
                break
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return trial_states(storage, study)


def test_a_worker_killed_mid_trial_is_replaced_by_the_others_and_the_count_stays_exact(tmp_path):
    # On SQLite only: the dead worker's trial is found through Optuna's storage API, the same for every database
    # (the PostgreSQL paths of a killed sweep and of shared studies are tested beside and in tests/sweep).
    storage = f"sqlite:///{tmp_path / 'sweep.db'}"
    study = f"lost-worker-{uuid.uuid4().hex[:8]}"
    process = subprocess.Popen([sys.executable, "-m", "lossgap.cli.app", "sweep", "synthetic:sum-sign,samples=200",
                                "--workers", "2", "--trials", "4", "--epochs", "15", "--pruner", "none",
                                "--hidden-choices", "16", "--out", str(tmp_path), "--storage", storage, "--study", study],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        give_up, victim = time.monotonic() + 120, None
        while victim is None and time.monotonic() < give_up and process.poll() is None:
            import optuna

            try:
                running = optuna.load_study(study_name=study, storage=storage).get_trials(
                    deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
            except KeyError:
                running = []
            victim = next((trial.user_attrs["pid"] for trial in running if "pid" in trial.user_attrs), None)
            time.sleep(0.05)
        os.kill(victim, signal.SIGKILL)
        stdout, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    states = trial_states(storage, study)
    assert process.returncode == 0, stderr
    assert states.get("COMPLETE") == 4 and states.get("FAIL") == 1 and "RUNNING" not in states


@pytest.mark.skipif(not os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children"),
                    reason="needs Linux /proc to find the workers")
def test_sweep_workers_do_not_outlive_a_killed_main_process(tmp_path):
    process = start_long_sweep(tmp_path, 2)
    try:
        give_up = time.monotonic() + 120
        while finished_in(tmp_path / "sweep.db") < 1 and time.monotonic() < give_up and process.poll() is None:
            time.sleep(0.05)
        workers = [pid for pid in map(int, open(f"/proc/{process.pid}/task/{process.pid}/children").read().split())]
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        gone_by = time.monotonic() + 60
        while any(_alive(pid) for pid in workers) and time.monotonic() < gone_by:
            time.sleep(0.1)
        assert workers and not [pid for pid in workers if _alive(pid)]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_model_choices_search_the_families_and_the_best_command_names_one(tmp_path):
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", DATA, "--trials", "4", "--epochs", "2", "--hidden-choices", "8",
                                 "--layers-range", "1:1", "--batch-choices", "32", "--threads", "1",
                                 "--model-choices", "gru,lstm-fcn", "--fcn-width", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "sweep.json").read_text())
    assert {trial["params"]["model"] for trial in summary["trials"]} <= {"gru", "lstm-fcn"}
    best = summary["best_command"]
    assert any(f"--model {kind}" in best for kind in ("gru", "lstm-fcn")) and "--fcn-width 4" in best
    table = result.stdout.split("best configuration:")[0]
    assert "model" in table and ("gru" in table or "lstm-fcn" in table)   # the table shows the family column


def test_ctrl_c_while_the_page_is_written_waits_for_it_and_says_so(tmp_path, monkeypatch):
    # A Ctrl-C as the figures were written had left no sweep.html, an empty figures/ and no word of it.
    import os
    import signal

    import lossgap.sweep.page as page

    written = page.write_sweep_outputs

    def interrupted_while_writing(study, out):
        os.kill(os.getpid(), signal.SIGINT)
        return written(study, out)

    monkeypatch.setattr(page, "write_sweep_outputs", interrupted_while_writing)
    out = tmp_path / "sw"
    result = runner.invoke(app, ["sweep", DATA, "--trials", "1", "--epochs", "2", "--hidden-choices", "8",
                                 "--layers-range", "1:1", "--batch-choices", "32", "--threads", "1", "--out", str(out)])
    assert result.exit_code == 130, result.output
    assert (out / "sweep.html").exists() and (out / "figures" / "history.png").exists()
    assert "best configuration:" in result.stdout
    assert "interrupted while the page was written, after the sweep had ended: everything is written" in " ".join(
        result.stdout.split())
