"""Runs that survive: a run killed with SIGKILL at any epoch keeps its finished epochs (diagnosable), and
``lossgap train --resume`` finishes it exactly as an uninterrupted run would have (metrics apart from the
seconds, dynamics and final weights, bit for bit on CPU)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from fixtures.training import metrics_without_seconds
from typer.testing import CliRunner

from lossgap.cli.app import register_commands
from lossgap.run.rundir import PREVIOUS_DIR, load_checkpoint, read_run

runner = CliRunner()
app = register_commands()
# Dropout and a plateau scheduler: the random streams and every piece of optimiser state must carry over.
DATA_SMALL = "synthetic:sum-sign,samples=80"
OPTIONS = ["synthetic:frequency,samples=240", "--epochs", "12", "--hidden", "12", "--layers", "2", "--dropout", "0.2",
           "--scheduler", "plateau", "--early-stopping", "30", "--batch-size", "16"]
LOSSGAP = [sys.executable, "-m", "lossgap.cli.app"]
# The training state after every epoch (by default at most every 2 s): each kill below has one to resume from.
EVERY_EPOCH = {**os.environ, "OMP_NUM_THREADS": "1", "LOSSGAP_CHECKPOINT_SECONDS": "0"}


def rows_in(run) -> int:
    path = run / "metrics.csv"
    return max(0, path.read_text().count("\n") - 1) if path.exists() else 0


def killed_when(run, ready, *, resume: bool = False, delay: float = 0.0, poll: float = 0.005) -> None:
    """Train RUN in a subprocess (one torch thread, as the reference), or resume it, and SIGKILL it ``delay``
    seconds after ``ready()`` first holds."""
    arguments = ["--resume", str(run)] if resume else [*OPTIONS, "--out", str(run)]
    process = subprocess.Popen([*LOSSGAP, "train", *arguments], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=EVERY_EPOCH)
    give_up = time.monotonic() + 120
    while not ready() and process.poll() is None and time.monotonic() < give_up:
        time.sleep(poll)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()


def killed_at_an_epoch_end(run, epoch: int, delay: float, *, resume: bool = False) -> None:
    """Train (or resume) RUN and SIGKILL it ``delay`` seconds after epoch ``epoch``'s records reached the store:
    while its checkpoint, metrics row or observations are being written."""
    stored = run / "epochs" / f"epoch_{epoch:05d}.npz"
    killed_when(run, stored.exists, resume=resume, delay=delay, poll=0.0005)


def resumed_to_the_end(run) -> None:
    # In this process (one torch thread, as the subprocesses): the kills above need a process of their own, the
    # resume does not, and a torch start-up costs 3-4 s.
    resumed = runner.invoke(app, ["train", "--resume", str(run)])
    assert resumed.exit_code == 0, resumed.output


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    run = tmp_path_factory.mktemp("resume") / "whole"
    subprocess.run([*LOSSGAP, "train", *OPTIONS, "--out", str(run)], check=True, capture_output=True,
                   env=EVERY_EPOCH)
    return run


def test_a_run_killed_at_any_instant_of_an_epoch_end_resumes_to_exactly_the_uninterrupted_run(reference, tmp_path):
    # One run killed 0, 3, 8 and 17 ms after the records of epochs 2, 4, 6 and 9 reached the store: while that
    # epoch's checkpoint, metrics row or observations are being written (every write is atomic, so each file is
    # old or new, never half), and resumed after each kill. Every kill leaves a run that can be diagnosed and
    # resumed, a resumed run killed again resumes as well, and the end is the uninterrupted run bit for bit.
    run = tmp_path / "run"
    for number, (epoch, delay) in enumerate(((2, 0.0), (4, 0.003), (6, 0.008), (9, 0.017))):
        killed_at_an_epoch_end(run, epoch, delay, resume=number > 0)
        assert not (run / "summary.json").exists()
        # What the killed run finished can be diagnosed now, with a note that it ended early.
        killed = read_run(run)
        assert epoch - 1 <= killed.num_epochs < 12 and killed.num_epochs == len(killed.metrics["epoch"])
        diagnosed = runner.invoke(app, ["diagnose", str(run), "--no-write"])
        assert diagnosed.exit_code == 0, diagnosed.output
        assert "ended early" in diagnosed.stdout and f"--resume {run}" in diagnosed.stdout.replace("\n", "")
    resumed_to_the_end(run)
    assert metrics_without_seconds(run) == metrics_without_seconds(reference)
    mine, theirs = read_run(run), read_run(reference)
    for split in ("train", "val"):
        for field in ("sample_ids", "labels", "true_log_prob", "predicted", "max_prob", "margin"):
            np.testing.assert_array_equal(getattr(mine.dynamics[split], field), getattr(theirs.dynamics[split], field))
    for name in ("last", "best"):
        ours, reference_state = (load_checkpoint(path / "checkpoints" / f"{name}.pt")["state_dict"]
                                 for path in (run, reference))
        assert all(torch.equal(ours[key], reference_state[key]) for key in reference_state)
    assert json.loads((run / "summary.json").read_text())["status"] == "epochs"
    assert not (run / "epochs").exists()   # gathered into dynamics.npz


def test_a_run_killed_before_its_first_saved_state_starts_again(reference, tmp_path):
    run = tmp_path / "run"
    process = subprocess.Popen([*LOSSGAP, "train", *OPTIONS, "--out", str(run)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env={**EVERY_EPOCH, "LOSSGAP_CHECKPOINT_SECONDS": "3600"})
    give_up = time.monotonic() + 120
    while rows_in(run) < 2 and process.poll() is None and time.monotonic() < give_up:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (run / "checkpoints" / "last.pt").exists() and read_run(run).num_epochs >= 2
    resumed_to_the_end(run)
    assert metrics_without_seconds(run) == metrics_without_seconds(reference)


def test_resume_refuses_options_finished_runs_and_directories_without_a_run(reference, tmp_path):
    changed = runner.invoke(app, ["train", "--resume", str(reference), "--epochs", "20"])
    assert changed.exit_code == 2 and "drop epochs" in changed.stderr
    finished = runner.invoke(app, ["train", "--resume", str(reference)])
    assert finished.exit_code == 2 and "already finished" in finished.stderr
    empty = runner.invoke(app, ["train", "--resume", str(tmp_path)])
    assert empty.exit_code == 2 and "holds no run" in empty.stderr
    missing = runner.invoke(app, ["train", "--resume", str(tmp_path / "typo")])
    assert missing.exit_code == 2 and f"{tmp_path / 'typo'} does not exist; pass the --out directory" in missing.stderr
    # A directory whose --overwrite run ended before its first epoch says where the run it replaced is kept.
    (tmp_path / "replaced" / PREVIOUS_DIR).mkdir(parents=True)
    replaced = runner.invoke(app, ["train", "--resume", str(tmp_path / "replaced")])
    assert replaced.exit_code == 2 and "is incomplete" in replaced.stderr and PREVIOUS_DIR in replaced.stderr
    for result in (changed, finished, empty, missing, replaced):
        assert len(result.stderr.strip().splitlines()) == 1


def test_a_finished_run_killed_before_its_report_was_written_is_told_to_run_lossgap_report(reference, tmp_path):
    import shutil

    run = tmp_path / "no_report"
    shutil.copytree(reference, run)
    # What a kill between summary.json and the report leaves: the run trained, neither report nor diagnosis.
    for name in ("report.html", "diagnosis.json"):
        (run / name).unlink()
    refused = runner.invoke(app, ["train", "--resume", str(run)])
    assert refused.exit_code == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "already finished" in lines[0] and f"lossgap report {run}" in lines[0], lines
    # The advice works, and a run that has its report is not told to write it.
    assert runner.invoke(app, ["report", str(run)]).exit_code == 0 and (run / "report.html").exists()
    again = runner.invoke(app, ["train", "--resume", str(run)])
    assert again.exit_code == 2 and "lossgap report" not in again.stderr


def test_sigterm_stops_training_like_ctrl_c_and_the_run_resumes(reference, tmp_path):
    run = tmp_path / "run"
    process = subprocess.Popen([*LOSSGAP, "train", *OPTIONS, "--out", str(run)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=EVERY_EPOCH)
    give_up = time.monotonic() + 120
    while rows_in(run) < 3 and process.poll() is None and time.monotonic() < give_up:
        time.sleep(0.005)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "--resume" in (stdout + stderr).replace("\n", "")
    assert json.loads((run / "summary.json").read_text())["status"] == "interrupted"
    resumed_to_the_end(run)
    assert metrics_without_seconds(run) == metrics_without_seconds(reference)


def test_overwrite_keeps_the_old_run_until_the_new_one_has_an_epoch(reference, tmp_path):
    run = tmp_path / "run"
    assert runner.invoke(app, ["train", DATA_SMALL, "--out", str(run), "--epochs", "3"]).exit_code == 0
    before = metrics_without_seconds(run)
    # Killed while the new run loads its data and starts its first epoch: the old run is kept aside.
    process = subprocess.Popen([*LOSSGAP, "train", *OPTIONS, "--out", str(run), "--overwrite"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=EVERY_EPOCH)
    give_up = time.monotonic() + 120
    while not (run / ".previous-run").exists() and process.poll() is None and time.monotonic() < give_up:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if rows_in(run) == 0:   # the usual case: killed before the new run's first epoch ended
        assert metrics_without_seconds(run / ".previous-run") == before
        refused = runner.invoke(app, ["diagnose", str(run)])
        assert refused.exit_code == 2 and ".previous-run" in refused.stderr
    # A new run that finishes its first epoch drops the old one.
    subprocess.run([*LOSSGAP, "train", *OPTIONS, "--out", str(run), "--overwrite"], check=True,
                   capture_output=True, env=EVERY_EPOCH)
    assert not (run / ".previous-run").exists()
    assert metrics_without_seconds(run) == metrics_without_seconds(reference)


def test_resume_refuses_data_that_changed_since_the_run_started_and_keeps_its_epochs(tmp_path):
    # A data file edited between the start and --resume (or split otherwise by a newer lossgap) would be trained on
    # silently, its samples mixed with the recorded ones.
    from fixtures.data import write_npz
    from fixtures.training import stopped_run

    import lossgap
    from lossgap.data import DataConfig
    from lossgap.training.config import TrainConfig

    data = write_npz(tmp_path / "d.npz", samples=40)
    run = stopped_run(tmp_path / "run", TrainConfig(data=DataConfig(source=str(data)), epochs=4, batch_size=8),
                      stop_after=2)
    write_npz(data, samples=50)
    refused = runner.invoke(app, ["train", "--resume", str(run)])
    # One error line, after the progress bar redrawn from the run's finished epochs.
    errors = [line for line in refused.stderr.splitlines() if line.startswith("lossgap: error: ")]
    assert refused.exit_code == 2 and len(errors) == 1 and "Traceback" not in refused.output, refused.output
    assert (f"the data of {run} changed since the run started: {data} now holds other data (train has 40 samples, the "
            "run's 32), so the run cannot be resumed; its finished epochs still diagnose") in refused.stderr
    assert lossgap.read_run(run).num_epochs == 2
