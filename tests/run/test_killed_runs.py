"""A run killed (or damaged) part-way: what it finished stays usable, and every message names the damaged file
and a fix that works (--resume only when it can continue the run)."""

import subprocess
import sys
import warnings

import pytest
from typer.testing import CliRunner

import lossgap
from lossgap.cli.app import register_commands
from lossgap.data import DataConfig
from lossgap.errors import LossgapWarning, RunDirError
from lossgap.run import rundir
from lossgap.training.config import TrainConfig

runner = CliRunner()
app = register_commands()


def cut(path, size=100):
    path.write_bytes(path.read_bytes()[:size])


def test_a_damaged_last_epoch_file_is_left_out_with_a_one_line_warning(run):
    cut(run / "epochs" / "epoch_00003.npz")
    with pytest.warns(LossgapWarning, match=r"epoch_00003.npz is damaged \(BadZipFile\) and left out: reading "
                                            r"epochs 1-2, which are whole"):
        record = rundir.read_run(run)
    assert record.num_epochs == 2 and list(record.metrics["epoch"]) == [1, 2]
    # From the command line: exit 0, the diagnosis, and the warning as one line.
    diagnosed = subprocess.run([sys.executable, "-m", "lossgap", "diagnose", str(run), "--no-write"],
                               capture_output=True, text=True)
    assert diagnosed.returncode == 0, diagnosed.stderr
    assert diagnosed.stderr.startswith("lossgap: warning: ") and len(diagnosed.stderr.strip().splitlines()) == 1


def test_a_damaged_earlier_epoch_file_is_named_not_dynamics_npz(run):
    cut(run / "epochs" / "epoch_00002.npz")
    with pytest.raises(RunDirError, match=r"epoch_00002.npz is damaged \(BadZipFile\); epochs 1-1 are whole") as error:
        rundir.read_run(run)
    assert "dynamics.npz" not in str(error.value)


def test_resume_refuses_in_one_line_when_the_epoch_of_its_training_state_is_damaged(run):
    cut(run / "epochs" / "epoch_00003.npz")
    result = runner.invoke(app, ["train", "--resume", str(run)])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "\n" not in line and "epoch_00003.npz is damaged" in line and "cannot be resumed" in line
    assert "epochs 1-2 still diagnose" in line and f"--out {run} --overwrite" in line


def test_resume_continues_over_a_damaged_epoch_file_after_its_training_state(run):
    # Killed while writing epoch 4, after the training state of epoch 3: that file is written again.
    (run / "epochs" / "epoch_00004.npz").write_bytes(b"PK\x03\x04 cut short")
    assert rundir.read_run(run).num_epochs == 3   # the metrics hold 3 rows: epoch 4 never finished
    result = runner.invoke(app, ["train", "--resume", str(run)])
    assert result.exit_code == 0, result.output
    assert rundir.read_run(run).num_epochs == 6


def test_a_truncated_last_checkpoint_is_named_and_the_fix_is_a_new_run(run):
    cut(rundir.checkpoint_path(run, "last"), 1000)
    with pytest.warns(LossgapWarning, match=r"last.pt is truncated or damaged, so the run cannot be resumed"):
        assert rundir.read_run(run).num_epochs == 3
    assert rundir.continue_advice(run).startswith("it cannot be resumed")
    result = runner.invoke(app, ["train", "--resume", str(run)])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "\n" not in line and "safely" not in line and "last.pt is truncated or damaged (RuntimeError)" in line
    assert f"--out {run} --overwrite" in line
    # The diagnosis's own note on the run that ended early gives the same fix, never --resume.
    with pytest.warns(LossgapWarning):
        note = " ".join(lossgap.diagnose(run, write=False).to_text().split())
    assert "the run ended early" in note and "cannot be resumed" in note and "train --resume" not in note


def test_a_run_stopped_before_its_first_epoch_is_told_to_resume_as_train_says(tmp_path):
    rundir.write_config(tmp_path, {"train": TrainConfig().to_dict()})
    with pytest.raises(RunDirError, match=f"before its first epoch finished; continue it with lossgap train --resume "
                                          f"{tmp_path}$"):
        rundir.read_run(tmp_path)


def test_a_finished_run_without_dynamics_npz_says_that_file_is_missing(run):
    finished = run.parent / "finished"
    lossgap.train(TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=80"), epochs=2), finished,
                  diagnose_run=False)
    (finished / "dynamics.npz").unlink()
    with pytest.raises(RunDirError, match=r"dynamics.npz is missing: the run finished its 2 epochs") as error:
        rundir.read_run(finished)
    assert "first epoch" not in str(error.value) and f"--out {finished} --overwrite" in str(error.value)


def test_a_truncated_optimization_csv_loses_its_cut_row_with_a_warning(run):
    path = run / "optimization.csv"
    lines = path.read_text().splitlines(keepends=True)
    assert len(lines) == 4
    path.write_text("".join(lines[:3]) + lines[3][:40])
    with pytest.warns(LossgapWarning, match="optimization.csv ends in a row cut short; it is left out"):
        record = rundir.read_run(run)
    assert record.observations.num_epochs == 2 and record.num_epochs == 3
    # A short row before the last is damage, not a cut: refused in one line.
    path.write_text("".join(lines[:2]) + lines[2][:40] + "\n" + lines[3])
    with pytest.raises(RunDirError, match="row 2 has fewer fields than the header"):
        rundir.read_run(run)


def test_a_summary_from_a_newer_run_format_is_refused(run, tmp_path):
    (run / "summary.json").write_text('{"format_version": 99, "status": "epochs"}')
    with pytest.raises(RunDirError, match=r"summary.json was written by a newer lossgap \(run format 99"):
        rundir.read_run(run)


def test_a_whole_killed_run_reads_without_warnings(run):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rundir.read_run(run).num_epochs == 3
