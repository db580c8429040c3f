"""The Python API: train a run into a directory, diagnose it, save a run recorded by your own loop.

A thin facade: the data come from :mod:`lossgap.data`, the model from :mod:`lossgap.model`, one training from
:func:`lossgap.training.once.train_once`, the run directory's writing from :mod:`lossgap.run.writer`. The CLI
is a thin layer over these functions.
"""

from __future__ import annotations

import os
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lossgap.diagnosis import Diagnosis
from lossgap.diagnosis.engine import diagnose_run as diagnose_with_control
from lossgap.errors import warn
from lossgap.run import lock as run_lock
from lossgap.run import rundir, writer
from lossgap.training.config import TrainConfig

if TYPE_CHECKING:
    from torch import nn

    from lossgap.training.recorder import Recorder
    from lossgap.training.trainer import EpochCallback, FitResult

# torch, the model, the trainer and the report are imported by the functions that use them: diagnosing a
# run (the CLI's most frequent command) then starts in a fraction of a second.


@dataclass(frozen=True, eq=False)
class TrainResult:
    """A finished (or interrupted) run: where it was written, its summary, and the fit details."""

    run_dir: Path
    summary: dict
    fit: FitResult
    model: nn.Module
    diagnosis: Diagnosis | None = None
    #: With ``config.refit``: the model retrained on train + val (``checkpoints/refit.pt``), else None.
    refit_model: nn.Module | None = None

    def __repr__(self) -> str:
        # The dataclass repr printed the whole fit history and model: thousands of characters in a notebook.
        status = self.summary.get("status", "?")
        epochs = self.summary.get("epochs_run", "?")
        headline = f"; {self.diagnosis.headline.split(':')[0]}" if self.diagnosis is not None else ""
        return f"TrainResult({str(self.run_dir)!r}, {status} after {epochs} epochs{headline})"


class PreviousRunRestored(KeyboardInterrupt):
    """An ``overwrite=True`` training stopped (Ctrl-C, SIGTERM) before its first epoch ended: ``run_dir``
    holds the earlier run again, and nothing of the new one was kept."""

    def __init__(self, run_dir: Path) -> None:
        super().__init__(str(run_dir))
        self.run_dir = Path(run_dir)


def train(config: TrainConfig, out: str | Path, *, overwrite: bool = False,
          on_epoch_end: EpochCallback | None = None,
          control_epoch_end: EpochCallback | None = None, permute_labels: bool = False,
          diagnose_run: bool = True, progress: bool = False) -> TrainResult:
    """Train one run as ``config`` says and write its run directory to ``out``; returns a :class:`TrainResult`.

    Data and options are checked before anything is written, so a bad input never destroys an earlier run;
    ``overwrite`` replaces an earlier run in ``out`` only once the new one is ready to start. Metrics are
    rewritten after every epoch; on Ctrl-C the finished epochs, dynamics and checkpoints are still written.
    With ``config.control == "permuted-labels"`` the same configuration is then trained on shuffled train
    labels into ``out/control``, and the diagnosis compares the two. The run is diagnosed at the end
    (``diagnosis.json``, ``report.html``) unless ``diagnose_run`` is False. ``permute_labels`` makes this run
    itself a permuted-label control (used by ``lossgap remedy``). ``progress=True`` shows a live bar per run
    (epochs, time spent and left, train and val loss/accuracy) in the terminal or notebook, as the CLI does;
    when the display's reader goes away (a closed pipe) training stops at that epoch's end as on Ctrl-C and
    :class:`lossgap.progress.WorkCutShort` (a BrokenPipeError) is raised after the run is written.
    With ``config.refit`` a second model is then trained on train + val for the delivered epoch count
    (:mod:`lossgap.training.refit`) into ``checkpoints/refit.pt``, and summary.json gets its ``refit`` entry;
    the diagnosis stays the val-split run's.

    Launched by ``torchrun --nproc-per-node K`` (``WORLD_SIZE`` > 1), every process calls this function: they
    train data-parallel (see :func:`lossgap.training.trainer.fit`), rank 0 writes ``out`` and diagnoses the
    run, and the other ranks return a result without diagnosis and write nothing.
    """
    from lossgap.training import distributed as ddp

    if progress and ddp.launched_world_size() > 1 and os.environ.get("RANK", "0") != "0":
        progress = False  # one display, from the rank that writes
    if progress:
        from lossgap.progress import TrainingProgress

        with TrainingProgress() as display:
            bar, control_bar = display.callbacks(Path(out).name, config)
            return train(config, out, overwrite=overwrite, on_epoch_end=_both(bar, on_epoch_end),
                         control_epoch_end=_both(control_bar, control_epoch_end), permute_labels=permute_labels,
                         diagnose_run=diagnose_run)
    from lossgap.data import load_data
    from lossgap.training.trainer import resolve_device

    wall_started = time.perf_counter()
    resolve_device(config.device)
    if config.refit and ddp.launched_world_size() > 1:
        from lossgap.errors import ConfigError

        raise ConfigError("--refit does not run under torchrun yet; train the run in one process")
    ddp.check_batch_size(config.batch_size)
    distributed = ddp.setup(config.device)
    out_dir = Path(out)
    ddp.on_writer(distributed, lambda: rundir.check_out_dir(out, overwrite))
    loaded = load_data(config.data, config.seed)
    with ExitStack() as held:
        if distributed is None or distributed.is_writer:
            held.enter_context(run_lock.writing(out_dir))  # one writer per run directory
        return _train_into_dir(config, out_dir, loaded, on_epoch_end, control_epoch_end, wall_started,
                               permute_labels, diagnose_run, distributed)


def _train_into_dir(config: TrainConfig, out_dir: Path, loaded, on_epoch_end, control_epoch_end, wall_started: float,
                    permute_labels: bool, diagnose_run: bool, distributed) -> TrainResult:
    """:func:`train` once its data are loaded and (on the writer) its run directory is held: set the earlier run
    aside, train, train the control, diagnose and refit; returns the :class:`TrainResult`."""
    from lossgap.training import distributed as ddp

    splits, standardizer = loaded.splits, loaded.standardizer
    # The run being replaced is kept aside until the new one has finished an epoch, and put back if it
    # fails or is stopped before (after a kill -9 it stays in RUN/.previous-run).
    replacing = ddp.on_writer(distributed, lambda: _set_aside_and_clear(out_dir))
    if distributed is not None and not distributed.is_writer:
        return _train_as_other_rank(config, out_dir, splits, standardizer, on_epoch_end, control_epoch_end,
                                    wall_started, permute_labels, distributed)
    if permute_labels:
        splits = splits.permuted_control(config.seed)
    try:
        summary, trained = writer.train_into(config, out_dir, splits, standardizer, on_epoch_end, wall_started,
                                             role=writer.CONTROL_ROLE if permute_labels else "run",
                                             first_epoch_done=lambda: rundir.drop_previous(out_dir),
                                             distributed=distributed)
    except BaseException as error:
        if replacing and not (out_dir / rundir.METRICS_FILE).exists():
            rundir.restore_previous(out_dir)
            if isinstance(error, KeyboardInterrupt):
                raise PreviousRunRestored(out_dir) from None
        raise
    if replacing and not trained.fit.history:
        # Stopped before its first epoch ended: nothing of the new run is worth more than the old one.
        rundir.restore_previous(out_dir)
        raise PreviousRunRestored(out_dir)
    if not permute_labels and trained.fit.history and trained.fit.stop_reason != "interrupted":
        writer.train_control(config, out_dir, splits, standardizer, control_epoch_end, distributed)
    result = conclude(out_dir, summary, trained, diagnose_run)
    if config.refit and not permute_labels and trained.fit.stop_reason in ("epochs", "early_stopping"):
        # After the run is diagnosed and reported: a refit that fails leaves the whole run behind.
        result = replace(result, refit_model=_refit_into(config, out_dir, splits, standardizer, trained, summary))
    return result


def _refit_into(config: TrainConfig, out_dir: Path, splits, standardizer, trained, summary: dict) -> nn.Module:
    """Retrain on train + val for the delivered epoch count, write ``checkpoints/refit.pt`` and add ``refit``
    to ``summary`` (rewriting summary.json); returns the refit model."""
    from lossgap.training.refit import refit

    done = refit(config, splits, trained.model, trained.fit.history, trained.fit.delivered_epoch)
    extra = {"class_names": list(splits.class_names), "trained_on": "train+val",
             "standardizer": standardizer.to_dict() if standardizer is not None else None}
    rundir.save_checkpoint(out_dir, rundir.REFIT_CHECKPOINT, hyperparameters=done.model.hyperparameters(),
                           state=done.model.state_dict(), epoch=done.epochs, extra=extra)
    summary["refit"] = {"checkpoint": rundir.checkpoint_path(out_dir, rundir.REFIT_CHECKPOINT).name, **done.summary()}
    rundir.write_summary(out_dir, summary)
    return done.model


def _set_aside_and_clear(out_dir: Path) -> bool:
    """Keep a run being replaced aside and empty ``out_dir`` for the new one; returns True when one was set aside."""
    replacing = rundir.set_aside(out_dir)
    rundir.clear_run(out_dir)
    return replacing


def _train_as_other_rank(config, out_dir, splits, standardizer, on_epoch_end, control_epoch_end, wall_started,
                         permute_labels, distributed) -> TrainResult:
    """A data-parallel rank other than 0: the same training steps as rank 0 (the control run included), no
    files, no diagnosis."""
    if permute_labels:
        splits = splits.permuted_control(config.seed)
    summary, trained = writer.train_into(config, out_dir, splits, standardizer, on_epoch_end, wall_started,
                                         distributed=distributed)
    if not permute_labels and trained.fit.history and trained.fit.stop_reason != "interrupted":
        writer.train_control(config, out_dir, splits, standardizer, control_epoch_end, distributed)
    return TrainResult(run_dir=out_dir, summary=summary, fit=trained.fit, model=trained.model)


def _both(first: EpochCallback | None, second: EpochCallback | None) -> EpochCallback | None:
    """One epoch callback calling ``first`` then ``second`` (either may be None)."""
    if first is None or second is None:
        return first or second

    def both(row: dict[str, float]) -> None:
        first(row)
        second(row)

    return both


def conclude(out_dir: Path, summary: dict, trained, diagnose_run: bool) -> TrainResult:
    """Diagnose and report a run just trained into ``out_dir`` (unless ``diagnose_run`` is False or it has
    no finished epoch); returns its :class:`TrainResult`. The run directory is read once, for both."""
    diagnosis = report(out_dir)[0] if trained.fit.history and diagnose_run else None
    return TrainResult(run_dir=out_dir, summary=summary, fit=trained.fit, model=trained.model, diagnosis=diagnosis)


def diagnose(run: str | Path, *, split: str = "val", write: bool = True) -> Diagnosis:
    """Diagnose a run directory; returns the :class:`~lossgap.diagnosis.Diagnosis` and (by default) writes
    ``diagnosis.json`` into it. A permuted-label control in ``RUN/control`` is used when present."""
    diagnosis = diagnose_with_control(rundir.read_run(run), split=split)
    if write:
        rundir.write_diagnosis(run, diagnosis.to_dict())
    return diagnosis



def report(run: str | Path) -> tuple[Diagnosis, Path]:
    """Diagnose a run directory and write its ``diagnosis.json``, ``report.html`` and figures, reading the run
    once; returns the diagnosis and the report's path."""
    from lossgap.report import write_report

    record = rundir.read_run(run)
    diagnosis = diagnose_with_control(record)
    rundir.write_diagnosis(record.path, diagnosis.to_dict())
    return diagnosis, write_report(record, diagnosis)


def save_recorded_run(recorder: Recorder, out: str | Path, *, class_names: list[str] | None = None,
                      extra_metrics: list[dict[str, float]] | None = None, description: str = "own training loop",
                      overwrite: bool = False, inputs: dict | None = None, lengths: dict | None = None) -> Path:
    """Write a run directory from a :class:`Recorder` fed by any training loop; returns the directory.

    ``metrics.csv`` gets each split's loss, accuracy and balanced accuracy per epoch from the recorded
    samples; ``extra_metrics`` (one dict per epoch, e.g. ``{"lr": ..., "grad_norm": ...}``) is merged in.
    When the recorder observed the model (``recorder.observe(model)``), ``optimization.csv`` is written too.
    The directory can then be diagnosed and reported like one written by ``lossgap train``; a recorder without a
    val split is saved too, with a LossgapWarning that the diagnosis needs one.

    ``inputs`` (optional): the inputs the model saw, per split, as it saw them (``{"train": x_train, "val": x_val}``,
    arrays or tensors of shape (N, T, F) or (N, F); ``lengths`` the valid steps per sample where sequences are padded):
    their feature statistics go into config.json, and a val prepared otherwise than train (left unscaled, scaled with
    its own statistics, shifted) is named before the headline, as for runs ``lossgap train`` wrote. DataError (one
    line, nothing written) for inputs that are malformed.

    A recorder with ``store=`` is saved beside it at ``out/epochs`` (the store stays), or anywhere outside
    ``out``; RunDirError (one line, nothing written) when ``out`` is the store, lies inside it, or holds it in
    another entry of the run directory, or holds another recording's epoch store.
    """
    return write_recorded(recorder, out, class_names=class_names, extra_metrics=extra_metrics,
                          description=description, overwrite=overwrite,
                          input_shift=None if inputs is None else recorded_input_shift(inputs, lengths))


def recorded_input_shift(inputs: dict, lengths: dict | None) -> dict:
    """config.json's ``data.input_shift`` from the inputs an own loop's model saw (see :func:`save_recorded_run`);
    DataError (one line) for malformed inputs."""
    from lossgap.data import drift

    return drift.input_shift_payload(drift.splits_of_inputs(inputs, lengths))


def write_recorded(recorder: Recorder, out: str | Path, *, class_names: list[str] | None,
                   extra_metrics: list[dict[str, float]] | None, description: str, overwrite: bool,
                   input_shift: dict | None) -> Path:
    """:func:`save_recorded_run` with the inputs' statistics already computed (``input_shift``, or None); returns the
    directory written."""
    # The store's place first: a store and an out that would mix is the problem to name, not a run beside it.
    rundir.store_to_keep(out, getattr(recorder, "store", None))
    out_dir = rundir.check_out_dir(out, overwrite)
    written = writer.write_recorded_run(recorder, out_dir, class_names=class_names, extra_metrics=extra_metrics,
                                        description=description, input_shift=input_shift)
    if recorder.num_epochs and "val" not in recorder.splits:
        # Saved all the same (what was recorded is kept), but the diagnosis will refuse it: say so now.
        warn(f"{written} holds no val split, and lossgap diagnose needs one; in the loop, record each epoch's val "
             "batches too: recorder.update('val', ids, logits, targets)")
    return written
