"""One writer per run directory: the lock a training run holds on it (lossgap.run.lock)."""

import signal
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import lossgap
from lossgap.cli.app import register_commands
from lossgap.data import DataConfig
from lossgap.run import lock as run_lock
from lossgap.training.config import TrainConfig

pytestmark = pytest.mark.skipif(run_lock.fcntl is None, reason="no advisory locks on this platform")


def test_a_held_run_directory_is_refused_to_a_second_writer_until_released(tmp_path):
    out = tmp_path / "run"
    with run_lock.writing(out):
        with pytest.raises(lossgap.RunDirError, match="is being written by another process.*choose another out"):
            with run_lock.writing(out):
                pass
    with run_lock.writing(out) as held:   # released when the block ended
        assert held == out and out.is_dir()


def test_training_over_a_run_still_being_written_is_refused_and_leaves_its_files_whole(tmp_path):
    # A second `lossgap train --overwrite` started while the first still ran set the first's files aside and wrote
    # its own beside the epochs the first went on writing (two benchmark processes sharing a cache left a metrics.csv
    # of 20 epochs beside a dynamics.npz of none).
    config = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=60"), epochs=1)
    out = tmp_path / "run"
    lossgap.train(config, out, diagnose_run=False)
    before = {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()}
    with run_lock.writing(out):
        with pytest.raises(lossgap.RunDirError, match="being written by another process"):
            lossgap.train(config, out, overwrite=True)
        result = CliRunner().invoke(register_commands(), ["train", "synthetic:sum-sign,samples=60", "--out", str(out),
                                                          "--epochs", "1", "--overwrite"])
        assert result.exit_code == 2, result.output
        assert result.stderr.strip().count("\n") == 0 and "choose another --out" in result.stderr, result.stderr
    assert {path.name: path.read_bytes() for path in out.iterdir() if path.is_file()} == before
    assert not (out / ".previous-run").exists()


def test_resuming_a_run_still_being_written_is_refused(run):
    # `run`: a copy of a run stopped after epoch 3 of 6 (conftest), which `lossgap train --resume` would continue.
    before = {path.name: path.read_bytes() for path in run.iterdir() if path.is_file()}
    with run_lock.writing(run):
        with pytest.raises(lossgap.RunDirError, match="being written by another process"):
            lossgap.resume.resume(run)
    assert {path.name: path.read_bytes() for path in run.iterdir() if path.is_file()} == before


def test_the_lock_of_a_killed_writer_is_gone_with_it(tmp_path):
    out = tmp_path / "run"
    code = ("import sys, time; from lossgap.run import lock\n"
            f"with lock.writing({str(out)!r}):\n    print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(lossgap.RunDirError):
            with run_lock.writing(out):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with run_lock.writing(out):
        pass
