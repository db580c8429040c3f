"""Live progress for training, in a terminal or a notebook: one rich bar per run (epochs, elapsed and left, train
and val loss/accuracy), or one line for several runs side by side. Every line fits 80 columns.

A display whose reader went away (``lossgap train ... 2>&1 | head -1``) stops the work as Ctrl-C does (what
finished stays on disk) and, once the work has wound down, raises :class:`WorkCutShort` (a BrokenPipeError),
which the CLI turns into exit 141 (see lossgap.cli.app): the work did not finish. A reader that goes away after
the work finished gives a plain BrokenPipeError and exit 0, as for ``lossgap diagnose RUN | head``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, ProgressColumn, Task, TaskID, TextColumn,
                           TimeElapsedColumn)
from rich.text import Text

if TYPE_CHECKING:
    from lossgap.training.trainer import EpochCallback


class ElapsedAndLeftColumn(ProgressColumn):
    """``01:12 eta 00:34``: minutes and seconds spent, and the time left at the pace so far (``--:--`` before the
    first epoch ends)."""

    def render(self, task: Task) -> Text:
        if task.fields.get("ended"):
            return Text(f"{_clock(task.elapsed)} stopped", style="progress.elapsed")
        left = task.time_remaining
        return Text(f"{_clock(task.elapsed)} eta {_clock(left) if left is not None else '--:--'}",
                    style="progress.elapsed")


class ReaderGone(KeyboardInterrupt):
    """The reader of the live display went away: raised once from an epoch callback so that training
    stops exactly as on Ctrl-C (the batch finishes, finished epochs are written, the run can be resumed).
    A KeyboardInterrupt because every training loop in lossgap already winds down cleanly on one."""


class WorkCutShort(BrokenPipeError):
    """The reader of the live display went away and the work was stopped for it (:class:`ReaderGone`): what
    finished is written, but the work is not done. The CLI exits 141, the status a shell gives a process that
    a closed pipe ended, so that a ``set -o pipefail`` script sees that training did not finish."""


#: Exit status of a command whose work a closed pipe cut short (128 + SIGPIPE, as the shell reports it).
CUT_SHORT_EXIT = 141


class DisplayConsole(Console):
    """rich's Console for a live display: a broken pipe silences it instead of exiting with code 1.

    rich's own ``on_broken_pipe`` points stdout at /dev/null and raises SystemExit(1): a failure to a ``set -o
    pipefail`` script, and in the display's refresh thread it only ends that thread, while the results printed
    later vanish. Here the console goes quiet and remembers it; the display acts on it in the main thread
    (:class:`ReaderGone`).
    """

    reader_gone = False

    def on_broken_pipe(self) -> None:
        """Print nothing more, remember that the reader went away, and point the stream at /dev/null."""
        self.quiet = True
        self.reader_gone = True
        # Unwritten text stays in the stream's buffer: the interpreter's last flush would fail on it again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.file.fileno())
            os.close(devnull)
        except (AttributeError, OSError, ValueError):
            pass   # a stream without a file descriptor (a test's StringIO) has nothing to flush at exit


class _LiveDisplay:
    """A rich Progress shown from the first update on, stopped on leaving the ``with`` block.

    When its reader went away, the first epoch callback after that raises :class:`ReaderGone` (once:
    the loops call the display again while winding down), and leaving the block raises :class:`WorkCutShort`
    (a BrokenPipeError) once the work stopped for it, or a plain BrokenPipeError after work that ended
    normally. An error of the work itself is left as it is.
    """

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._started = False
        self._stopping = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if self._started:
            self.progress.stop()
        if self.reader_gone and (exc_type is None or issubclass(exc_type, KeyboardInterrupt)):
            if self._stopping:  # ReaderGone was raised: the work stopped early for it
                raise WorkCutShort("the reader of the progress display went away; the work was stopped") from None
            raise BrokenPipeError("the reader of the progress display went away") from None

    @property
    def reader_gone(self) -> bool:
        """True once a write of the display failed because its reader went away (a closed pipe)."""
        return bool(getattr(self.progress.console, "reader_gone", False))

    def _show(self) -> None:
        if not self._started:
            self.progress.start()
            self._started = True

    def _stop_if_reader_gone(self) -> None:
        """Raise :class:`ReaderGone` the first time this is called after the reader went away."""
        if self.reader_gone and not self._stopping:
            self._stopping = True
            raise ReaderGone


class TrainingProgress(_LiveDisplay):
    """A live display (use as a context manager); :meth:`run_callback` adds a bar for one run.

    A line: the run's name, its epochs done of planned, time spent and left, and the last epoch's train and val
    loss rounded for reading (3 significant digits) and accuracy to 3 decimals, within 80 columns.
    """

    def __init__(self, console: Console | None = None) -> None:
        # The live display starts with the first finished epoch: a run refused before training prints nothing
        # but its error line.
        super().__init__(Progress(
            TextColumn("[bold]{task.description}"), BarColumn(bar_width=10), MofNCompleteColumn(),
            ElapsedAndLeftColumn(), TextColumn("{task.fields[metrics]}"),
            console=console or DisplayConsole(stderr=True)))
        self._tasks: list[TaskID] = []

    def __exit__(self, *exc_info) -> None:
        self._finish_open_bars()
        super().__exit__(*exc_info)

    def run_callback(self, label: str, total_epochs: int) -> EpochCallback:
        """Add a bar for a run of ``total_epochs``; returns the epoch callback that advances it."""
        task = self.progress.add_task(_short(label, 14), total=total_epochs, metrics="", ended=False, visible=False)
        self._tasks.append(task)

        def on_epoch_end(row: dict[str, float]) -> None:
            metrics = (f"trn {_figure(row.get('train_loss'))}/{_accuracy(row.get('train_accuracy'))} "
                       f"val {_figure(row.get('val_loss'))}/{_accuracy(row.get('val_accuracy'))}")
            if not self.progress.tasks[task].visible:
                # A new run has started: the bars of earlier runs are done, even if they stopped early.
                self._finish_open_bars(keep=task)
            self._show()
            self.progress.update(task, completed=int(row["epoch"]), metrics=metrics, visible=True)
            self._stop_if_reader_gone()

        return on_epoch_end

    def callbacks(self, run_label: str, config) -> tuple[EpochCallback, EpochCallback | None]:
        """The epoch callbacks of a run of ``config`` and of its permuted-label control (None without one)."""
        control = (self.run_callback("control", config.epochs) if config.control == "permuted-labels" else None)
        return self.run_callback(run_label, config.epochs), control

    def _finish_open_bars(self, keep: TaskID | None = None) -> None:
        # A run that stopped early (early stopping, Ctrl-C) ends before its planned epochs: its bar keeps the
        # epochs done of planned (34/200) and says "stopped" where the time left was, with its clock halted.
        for task in self._tasks:
            state = self.progress.tasks[task]
            if task != keep and state.completed and not state.finished and not state.fields.get("ended"):
                self.progress.stop_task(task)
                self.progress.update(task, ended=True)


class JobsProgress(_LiveDisplay):
    """A live display of several runs trained side by side (``lossgap remedy``, ``lossgap demo``): one line for
    all of them (runs done / total, elapsed, time left) and one line per running run. Fits 80 columns.

    The time left is counted in epochs: a run that stops early counts its unplanned epochs as done, so the
    estimate improves as runs finish. Use as a context manager; pass :meth:`plan`, :meth:`epoch_ended` and
    :meth:`job_ended` to :func:`lossgap.parallel.train_jobs` (or ``run_remedies``).
    """

    def __init__(self, console: Console | None = None) -> None:
        super().__init__(Progress(TextColumn("{task.description}"), BarColumn(bar_width=16),
                                  TextColumn("{task.fields[count]}"), TimeElapsedColumn(),
                                  TextColumn("{task.fields[detail]}"), console=console or DisplayConsole(stderr=True)))
        self._total: TaskID | None = None
        self._running: dict[str, TaskID] = {}
        self._epochs_seen: dict[str, int] = {}
        self._jobs = 0
        self._finished = 0
        self._stopped = False

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self._stop()
        super().__exit__(exc_type, exc, traceback)

    def plan(self, jobs) -> None:
        """Announce every run before the first starts (their planned epochs size the time estimate)."""
        self._jobs = len(jobs)
        self._total = self.progress.add_task("runs", total=sum(job.config.epochs for job in jobs),
                                             count=f"0/{self._jobs}", detail="")
        self._show()

    def epoch_ended(self, job, row: dict[str, float]) -> None:
        """A run finished an epoch: advance its line and the total."""
        task = self._running.get(job.label)
        if task is None:
            task = self.progress.add_task(f"  {_short(job.label, 22)}", total=job.config.epochs, count="", detail="")
            self._running[job.label] = task
        epoch = int(row["epoch"])
        self.progress.update(task, completed=epoch, count=f"{epoch}/{job.config.epochs}",
                             detail=f"val {_figure(row.get('val_loss'))}/{_accuracy(row.get('val_accuracy'))}")
        self._advance(epoch - self._epochs_seen.get(job.label, 0))
        self._epochs_seen[job.label] = epoch
        self._stop_if_reader_gone()

    def job_ended(self, job, outcome) -> None:
        """A run finished (or stopped early): drop its line, count its unplanned epochs as done. A run
        interrupted by a stop is not done: the total says "stopped" instead of a time left."""
        task = self._running.pop(job.label, None)
        if task is not None:
            self.progress.remove_task(task)
        if getattr(outcome, "stop_reason", None) == "interrupted":
            self._stop()
            return
        self._finished += 1
        self._advance(job.config.epochs - self._epochs_seen.get(job.label, 0))
        self._epochs_seen[job.label] = job.config.epochs

    def _stop(self) -> None:
        """A stop (Ctrl-C, SIGTERM) ended the work: the total's clock halts and says so, the count stays."""
        self._stopped = True
        if self._total is not None:
            self.progress.stop_task(self._total)
            self.progress.update(self._total, detail="stopped")

    def _advance(self, epochs: int) -> None:
        if self._total is None or self._stopped:
            return
        if epochs > 0:
            self.progress.advance(self._total, epochs)
        left = self.progress.tasks[self._total].time_remaining
        detail = (f"about {_duration(left)} left" if left is not None and left >= 1 and self._finished < self._jobs
                  else "")
        self.progress.update(self._total, count=f"{self._finished}/{self._jobs}", detail=detail)


class SweepProgress(_LiveDisplay):
    """A live display of a sweep: one line for the trials (done / asked, time spent and left, best val loss) and
    one per running trial (its number, epoch and val loss), within 80 columns. Pass :meth:`start`,
    :meth:`trial_finished` and :meth:`epoch_ended` to :func:`lossgap.sweep.run_sweep`; use as a context manager.
    """

    def __init__(self, trials: int, console: Console | None = None) -> None:
        super().__init__(Progress(TextColumn("{task.description}"), BarColumn(bar_width=12), MofNCompleteColumn(),
                                  ElapsedAndLeftColumn(), TextColumn("{task.fields[detail]}"),
                                  console=console or DisplayConsole(stderr=True)))
        self._total = self.progress.add_task("trials", total=trials, detail="")
        self._workers: dict[int, TaskID] = {}

    def start(self) -> None:
        """Show the display (called once storage, study and data are checked)."""
        self._show()

    def trial_finished(self, report) -> None:
        """A trial of this run finished (a :class:`~lossgap.sweep.TrialReport`)."""
        best = f"best val loss {_figure(report.best_value)}" if report.best_value is not None else ""
        self.progress.update(self._total, completed=report.finished, detail=best)

    def epoch_ended(self, worker: int, trial: int, epoch: int, epochs: int, val_loss: float) -> None:
        """A running trial finished an epoch: its worker's line shows the trial, the epoch and the val loss."""
        task = self._workers.get(worker)
        if task is None:
            task = self.progress.add_task("", total=epochs, detail="")
            self._workers[worker] = task
        self.progress.update(task, description=f"  trial {trial}", total=epochs, completed=epoch,
                             detail=f"val loss {_figure(val_loss)}")
        self._stop_if_reader_gone()


def _accuracy(value: float | None) -> str:
    """An accuracy for reading: 3 decimals, as every table prints it (1.000, 0.300, not 1 and 0.3)."""
    figure = _figure(value)
    return figure if figure == "nan" else f"{value:.3f}"


def _figure(value: float | None) -> str:
    """A loss or accuracy for reading: 3 significant digits (0.693, 0.0412, 1.27), "nan" when not finite."""
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return "nan"
    return f"{value:.3g}"


def _clock(seconds: float | None) -> str:
    """``mm:ss`` (``h:mm:ss`` from an hour on)."""
    seconds = int(round(seconds or 0))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "\u2026"


def _duration(seconds: float) -> str:
    """``1 min 05 s`` / ``42 s`` / ``1 h 02 min``."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"
