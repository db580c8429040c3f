"""The live display of several runs: counts, epochs and the time estimate follow the runs."""

import io
from pathlib import Path

from rich.console import Console

from lossgap.cli.progress import JobsProgress, _duration
from lossgap.parallel import JobOutcome, TrainJob
from lossgap.training.config import TrainConfig


def job(label, epochs):
    return TrainJob(label, TrainConfig(epochs=epochs), Path(label))


def row(epoch):
    return {"epoch": epoch, "val_loss": 0.5, "val_accuracy": 0.75}


def test_runs_are_counted_and_an_early_stop_counts_its_unplanned_epochs_as_done():
    first, second = job("first", 10), job("second", 10)
    with JobsProgress(Console(file=io.StringIO(), width=80)) as progress:
        progress.plan([first, second])
        total = progress.progress.tasks[0]
        for epoch in (1, 2, 3):
            progress.epoch_ended(first, row(epoch))
        progress.epoch_ended(second, row(1))
        assert total.completed == 4 and len(progress.progress.tasks) == 3   # the total and two running runs
        progress.job_ended(first, JobOutcome("first", Path("first"), {}, (), 3, 3, "early_stopping"))
        assert total.completed == 11 and total.fields["count"] == "1/2" and len(progress.progress.tasks) == 2
        progress.job_ended(second, JobOutcome("second", Path("second"), {}, (), 1, 1, "epochs"))
        assert total.completed == total.total == 20 and total.fields["count"] == "2/2"
        assert total.fields["detail"] == ""   # nothing left to wait for


def test_durations_read_as_a_person_says_them():
    assert [_duration(s) for s in (4.4, 65, 3720)] == ["4 s", "1 min 05 s", "1 h 02 min"]
