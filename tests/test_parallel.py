"""Independent trainings side by side: the same numbers as one after another, progress relayed, stops that
stop every worker and keep what finished, errors reported once."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace

import pytest

from lossgap.errors import DataError
from lossgap.parallel import TrainJob, train_jobs
from lossgap.training.config import DataConfig, TrainConfig

DATA = "synthetic:sum-sign,samples=120"


def jobs_in(directory, count=3, epochs=4, source=DATA):
    return [TrainJob(f"job {index}", TrainConfig(data=DataConfig(source=source), epochs=epochs, seed=index),
                     directory / f"job{index}", diagnose_run=False)
            for index in range(count)]


def numbers(outcome):
    """Every metric of every epoch except the wall-clock seconds."""
    return [{key: value for key, value in row.items() if key != "seconds"} for row in outcome.history]


def test_two_workers_give_exactly_the_numbers_of_one(tmp_path):
    epochs_seen, ended = [], []
    parallel = train_jobs(jobs_in(tmp_path / "two"), workers=2,
                          on_epoch_end=lambda job, row: epochs_seen.append((job.label, row["epoch"])),
                          on_job_end=lambda job, outcome: ended.append(job.label))
    sequential = train_jobs(jobs_in(tmp_path / "one"), workers=1)

    assert parallel.workers == 2 and sequential.workers == 1 and not parallel.interrupted
    assert [numbers(outcome) for outcome in parallel.outcomes] == [numbers(outcome) for outcome in sequential.outcomes]
    assert sorted(ended) == ["job 0", "job 1", "job 2"]
    assert sorted(epochs_seen) == [(f"job {job}", epoch) for job in range(3) for epoch in range(1, 5)]
    for outcome in parallel.outcomes:
        config = json.loads((outcome.run_dir / "config.json").read_text())
        assert config["runtime"]["torch_threads"] == 1   # one thread per job, whatever the workers
        assert outcome.delivered_row == outcome.history[-1]


def test_runs_that_diagnose_are_reported_by_the_workers(tmp_path):
    # Each run is diagnosed and reported in a task of its own after its training (another worker takes the next
    # training meanwhile): every run gets its diagnosis.json and report.html, and its outcome the headline written.
    jobs = [replace(job, diagnose_run=True) for job in jobs_in(tmp_path, count=3, epochs=3)]
    finished = train_jobs(jobs, workers=2)

    assert not finished.interrupted
    for outcome in finished.outcomes:
        written = json.loads((outcome.run_dir / "diagnosis.json").read_text())
        assert outcome.headline and outcome.headline == written["headline"]
        assert (outcome.run_dir / "report.html").is_file()


def test_a_job_error_stops_the_others_and_is_raised_once(tmp_path):
    jobs = jobs_in(tmp_path, count=2, epochs=2)
    jobs[1] = TrainJob("broken", TrainConfig(data=DataConfig(source=str(tmp_path / "missing.npz"))),
                       tmp_path / "broken", diagnose_run=False)
    with pytest.raises(DataError, match="missing.npz"):
        train_jobs(jobs, workers=2)


def test_bad_worker_counts_are_refused(tmp_path):
    with pytest.raises(Exception, match="at least 1"):
        train_jobs(jobs_in(tmp_path), workers=0)
    # The demo refuses before its progress display draws anything: one line, nothing else.
    demo = subprocess.run([sys.executable, "-m", "lossgap.cli.app", "demo", "--workers", "0", "--out",
                           str(tmp_path / "demo")], capture_output=True, text=True, timeout=120)
    assert demo.returncode == 2 and demo.stdout == ""
    assert demo.stderr == "lossgap: error: --workers must be at least 1, got 0\n"


def children_of(pid):
    path = f"/proc/{pid}/task/{pid}/children"
    with open(path) as children:
        return [int(child) for child in children.read().split()]


def session_processes(session: int) -> str:
    """One line per live process of ``session`` (its id is the leader's pid): pid, state, kernel wait channel, and
    command line."""
    lines = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[3]) != session:   # the session id, after state, ppid and pgrp
                continue
            with open(f"/proc/{entry}/wchan") as wchan, open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                lines.append(f"{entry} {fields[0]} ppid {fields[1]} waits in {wchan.read() or '-'}: "
                             f"{cmdline.read().replace(bytes(1), b' ').decode(errors='replace')[:200]}")
        except (OSError, IndexError, ValueError):
            continue   # gone meanwhile
    return "\n".join(lines) or "(none)"


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


@pytest.fixture(scope="module")
def long_run(tmp_path_factory):
    """A finished run of 150 epochs, whose remedies take far longer than the stop tests wait (trained here, not
    reported: remedy diagnoses the run itself)."""
    from lossgap.api import train

    run = tmp_path_factory.mktemp("parallel") / "long"
    train(TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=60"), epochs=150), run, diagnose_run=False)
    return run


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="needs Linux /proc to find the workers")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "kill -9"])
def test_a_stop_ends_every_worker_and_keeps_the_finished_epochs(long_run, tmp_path, how):
    # A remedy comparison far too long to finish: stopped once the workers are training.
    run = tmp_path / "run"
    shutil.copytree(long_run, run)
    process = subprocess.Popen([sys.executable, "-m", "lossgap.cli.app", "remedy", str(run), "--workers", "2",
                                "--only", "lower_lr", "-k", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        give_up = time.monotonic() + 120
        metrics = lambda: list((run / "remedy").glob("*/seed_*/metrics.csv"))  # noqa: E731
        while not metrics() and time.monotonic() < give_up and process.poll() is None:
            time.sleep(0.05)
        workers = [pid for pid in children_of(process.pid)]
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)      # as a terminal sends it: to the whole group
        elif how == "sigterm":
            os.kill(process.pid, signal.SIGTERM)       # as a cluster sends it: to the main process only
        else:
            os.kill(process.pid, signal.SIGKILL)       # the OOM killer: the workers must not live on
        try:
            stdout, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            # Seen twice and not reproduced since: say which processes of the session were still there, and where
            # each waited, so that the next failure names its cause.
            pytest.fail(f"the stopped command did not end within 120 s (main exit status {process.poll()}); "
                        f"processes left in its session:\n{session_processes(process.pid)}")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if how == "kill -9":
        assert process.returncode == -signal.SIGKILL
    else:
        assert process.returncode == 130, stderr
        assert "Traceback" not in stderr and "interrupted" in stderr
    # No worker trains on: every one is gone within seconds, and no run gains an epoch after the stop.
    gone_by = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < gone_by:
        time.sleep(0.1)
    rows = {path: path.read_text().count("\n") for path in metrics()}
    time.sleep(1.0)
    assert not [pid for pid in workers if alive(pid)]
    assert rows and {path: path.read_text().count("\n") for path in metrics()} == rows
    # Every run that started left its finished epochs (a header and at least one row).
    assert all(count >= 2 for count in rows.values()), rows


STUCK_WORKERS = """
import multiprocessing, time
from lossgap import parallel
parallel.LEAVE_GRACE_SECONDS = 1.0
with parallel.TrainingPool(2) as pool:
    # A task that never ends on each worker (the pool's own jobs always end first; this stands for a worker that
    # cannot leave).
    for _ in range(2):
        pool._executor.submit(time.sleep, 600)
    time.sleep(1.0)
    workers = multiprocessing.active_children()
# The pool's manager thread may still be reaping the killed workers: is_alive() can read a child another thread just
# reaped as alive for that moment.
gone_by = time.monotonic() + 10
while any(worker.is_alive() for worker in workers) and time.monotonic() < gone_by:
    time.sleep(0.1)
print(len(workers), sum(worker.is_alive() for worker in workers))
"""


def test_closing_the_pool_kills_workers_that_cannot_leave():
    # Closing waits LEAVE_GRACE_SECONDS for the workers, then kills the ones left, rather than waiting on them forever.
    started = time.monotonic()
    finished = subprocess.run([sys.executable, "-c", STUCK_WORKERS], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.split() == ["2", "0"], finished.stdout
    assert time.monotonic() - started < 60


def test_multi_run_commands_refuse_torchrun_with_one_line(monkeypatch, tmp_path):
    # Under torchrun each rank would run every job, and spawned workers would inherit the rank and join the
    # job's process group a second time: the pool refuses before anything starts.
    from typer.testing import CliRunner

    from lossgap.cli.app import register_commands
    from lossgap.errors import ConfigError
    from lossgap.parallel import TrainingPool

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="without torchrun"):
        TrainingPool(2)
    result = CliRunner().invoke(register_commands(), ["demo", "--out", str(tmp_path / "demo")])
    assert result.exit_code == 2 and "without torchrun" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "demo").exists()
