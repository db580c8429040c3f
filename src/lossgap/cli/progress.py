"""Live terminal progress for training: one rich bar per run with train/val loss and accuracy."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from lossgap.training.trainer import EpochCallback


class TrainingProgress:
    """A live display (use as a context manager); :meth:`run_callback` adds a bar for one run."""

    def __init__(self, console: Console | None = None) -> None:
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[metrics]}"), console=console or Console(stderr=True),
        )
        self._tasks: list[TaskID] = []
        self._started = False

    def __enter__(self) -> TrainingProgress:
        # The live display starts with the first finished epoch: a run refused before training prints
        # nothing but its error line.
        return self

    def __exit__(self, *exc_info) -> None:
        self._finish_open_bars()
        if self._started:
            self.progress.stop()

    def _show(self) -> None:
        if not self._started:
            self.progress.start()
            self._started = True

    def run_callback(self, label: str, total_epochs: int) -> EpochCallback:
        """Add a bar for a run of ``total_epochs``; returns the epoch callback that advances it."""
        task = self.progress.add_task(label, total=total_epochs, metrics="", visible=False)
        self._tasks.append(task)

        def on_epoch_end(row: dict[str, float]) -> None:
            metrics = (f"train {row['train_loss']:.4f}/{row['train_accuracy']:.3f}  "
                       f"val {row['val_loss']:.4f}/{row['val_accuracy']:.3f} (loss/acc)")
            if not self.progress.tasks[task].visible:
                # A new run has started: the bars of earlier runs are done, even if they stopped early.
                self._finish_open_bars(keep=task)
            self._show()
            self.progress.update(task, completed=int(row["epoch"]), metrics=metrics, visible=True)

        return on_epoch_end

    def _finish_open_bars(self, keep: TaskID | None = None) -> None:
        # A run that stopped early ends before its planned epochs: show its bar as finished, not stuck.
        for task in self._tasks:
            if task != keep and self.progress.tasks[task].completed:
                self.progress.update(task, total=self.progress.tasks[task].completed)
