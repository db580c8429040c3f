"""The live display of several runs: counts, epochs and the time estimate follow the runs."""

import io
from pathlib import Path

from fixtures.streams import GoneReader
from rich.console import Console

from lossgap.progress import JobsProgress, _duration
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


def test_a_run_interrupted_by_a_stop_is_not_counted_as_done_and_no_time_left_is_shown():
    # After Ctrl-C the total read "1/4 ... about 5 s left" although no run had finished.
    first, second = job("first", 10), job("second", 10)
    with JobsProgress(Console(file=io.StringIO(), width=80)) as progress:
        progress.plan([first, second])
        total = progress.progress.tasks[0]
        progress.epoch_ended(first, row(1))
        progress.job_ended(first, JobOutcome("first", Path("first"), {}, (), 1, 1, "interrupted"))
        assert total.fields["count"] == "0/2" and total.fields["detail"] == "stopped" and total.completed == 1
        assert total.stop_time is not None   # its clock halted
        progress.epoch_ended(second, row(1))   # a worker's last row relayed while winding down
        assert total.fields["detail"] == "stopped"
    with JobsProgress(Console(file=io.StringIO(), width=80)) as progress:
        progress.plan([first])
        try:
            with progress:
                raise KeyboardInterrupt
        except KeyboardInterrupt:
            pass
        assert progress.progress.tasks[0].fields["detail"] == "stopped"


def test_durations_read_as_a_person_says_them():
    assert [_duration(s) for s in (4.4, 65, 3720)] == ["4 s", "1 min 05 s", "1 h 02 min"]


def test_a_training_bar_fits_80_columns_with_its_time_left_and_rounded_figures():
    from lossgap.progress import TrainingProgress

    output = io.StringIO()
    console = Console(file=output, width=80, force_terminal=True, color_system=None)
    with TrainingProgress(console) as progress:
        bar = progress.run_callback("a-rather-long-run-name", 50)
        for epoch in (1, 2, 3):
            bar({"epoch": epoch, "train_loss": 0.693147180, "train_accuracy": 0.5123456, "val_loss": 12.3456789,
                 "val_accuracy": 0.49})
        progress.progress.refresh()
    import re

    visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.getvalue())   # the live display's cursor codes
    # While it runs (the last line, drawn on leaving, says "stopped": 3 of 50 epochs ran).
    lines = [line for line in visible.splitlines() if "3/50" in line and "stopped" not in line]
    assert lines, visible
    last = lines[-1].rstrip()
    assert len(last) <= 80 and "\u2026" not in last.split("3/50")[1], last   # nothing after the count is cut
    assert "eta " in last and "trn 0.693/0.512 val 12.3/0.490" in last   # accuracy to 3 decimals, as the tables


def test_python_train_shows_the_same_bar(tmp_path, capsys):
    from lossgap import train
    from lossgap.data import DataConfig
    from lossgap.training.config import TrainConfig

    result = train(TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=60"), epochs=2), tmp_path / "run",
                   progress=True, diagnose_run=False)
    assert result.summary["epochs_run"] == 2
    assert "2/2" in capsys.readouterr().err


def test_a_sweep_shows_each_running_trials_epoch_within_80_columns():
    from types import SimpleNamespace

    from lossgap.progress import SweepProgress

    output = io.StringIO()
    with SweepProgress(20, Console(file=output, width=80, force_terminal=True, color_system=None)) as progress:
        progress.start()
        progress.epoch_ended(0, 7, 3, 50, 0.69314718)
        progress.epoch_ended(1, 8, 1, 50, 1.2345678)
        progress.trial_finished(SimpleNamespace(finished=1, best_value=0.123456))
        tasks = {task.description.strip(): task for task in progress.progress.tasks}
        assert tasks["trial 7"].completed == 3 and tasks["trial 7"].fields["detail"] == "val loss 0.693"
        assert tasks["trial 8"].fields["detail"] == "val loss 1.23"
        assert tasks["trials"].completed == 1 and tasks["trials"].fields["detail"] == "best val loss 0.123"
        progress.progress.refresh()
    import re

    visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.getvalue())
    assert all(len(line.rstrip()) <= 80 for line in visible.splitlines())


def test_a_run_stopped_early_keeps_its_epochs_done_of_planned():
    import re

    from lossgap.progress import TrainingProgress

    output = io.StringIO()
    console = Console(file=output, width=80, force_terminal=True, color_system=None)
    with TrainingProgress(console) as progress:
        bar = progress.run_callback("pb", 200)
        for epoch in range(1, 35):
            bar({"epoch": epoch, "train_loss": 0.5, "train_accuracy": 0.5, "val_loss": 0.5, "val_accuracy": 0.5})
    task = progress.progress.tasks[0]
    assert (task.completed, task.total) == (34, 200)
    visible = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output.getvalue())
    last = [line for line in visible.splitlines() if line.strip()][-1]
    assert "34/200" in last and "stopped" in last and "34/34" not in visible and len(last.rstrip()) <= 80, last


def test_a_display_whose_reader_went_away_stops_the_work_once_then_ends_as_a_broken_pipe():
    import pytest

    from lossgap.progress import DisplayConsole, ReaderGone, WorkCutShort

    first = job("first", 10)
    progress = JobsProgress(DisplayConsole(file=GoneReader(), width=80, force_terminal=True))
    with pytest.raises(WorkCutShort):   # a BrokenPipeError the CLI turns into exit 141: the work was cut short
        with progress:
            progress.plan([first])   # drawn at once: the write fails, and rich's SystemExit(1) is not raised
            assert progress.reader_gone
            with pytest.raises(ReaderGone):   # a KeyboardInterrupt: the training loop stops as on Ctrl-C
                progress.epoch_ended(first, row(1))
            progress.epoch_ended(first, row(2))   # once only: the loops call the display while winding down
            raise KeyboardInterrupt   # the loop's own "interrupted" (RemediesInterrupted is one)


def test_an_error_of_the_work_is_kept_when_the_display_reader_went_away():
    import pytest

    from lossgap.errors import LossgapError
    from lossgap.progress import DisplayConsole

    progress = JobsProgress(DisplayConsole(file=GoneReader(), width=80, force_terminal=True))
    with pytest.raises(LossgapError):   # still exit 2: a script must see that the work failed
        with progress:
            progress.plan([job("first", 10)])
            raise LossgapError("the data file is gone")
