"""examples/ddp_own_loop.py under torchrun (2 CPU processes, gloo): rank 0 writes a run directory holding every
sample of both splits once per epoch, whose val accuracy is the loop's own (counted over all ranks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fixtures.torchrun import run_torchrun
from lossgap import read_run

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ddp_own_loop.py"
EPOCHS = 3


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """(run directory, the job's standard output) of the example run for EPOCHS epochs."""
    out = tmp_path_factory.mktemp("ddp_own_loop") / "run"
    job = run_torchrun(EXAMPLE, "--out", out, "--epochs", EPOCHS)
    assert job.returncode == 0, job.stderr[-3000:]
    return out, job.stdout


def test_every_sample_of_both_splits_is_recorded_once_per_epoch(finished):
    out, _ = finished
    record = read_run(out)
    assert record.num_epochs == EPOCHS
    for split, ids in (("train", np.arange(480)), ("val", np.arange(480, 600))):
        assert np.array_equal(record.dynamics[split].sample_ids, ids)
        assert record.dynamics[split].seen.all()


def test_the_recorded_val_accuracy_is_the_loops_own_over_all_ranks(finished):
    out, stdout = finished
    line = next(line for line in stdout.splitlines() if line.startswith("loop val accuracy: "))
    loop = [float(value) for value in line.split(": ")[1].split()]
    # The loop counts all 120 val samples (60 per rank); a record of rank 0's 60 alone would be another figure.
    assert read_run(out).metrics["val_accuracy"].tolist() == pytest.approx(loop, abs=1e-6)
    assert stdout.count("loop val accuracy") == 1  # rank 0 alone prints


def test_the_lossgap_lines_are_the_ones_the_docstring_describes():
    lines = [line.strip() for line in EXAMPLE.read_text().splitlines() if line.rstrip().endswith("# lossgap")]
    assert "recorder.end_epoch(gather=True)  # lossgap" in lines
    assert len(lines) == 7  # import, Recorder, two updates, end_epoch with gather, save and diagnose on rank 0
