"""``lossgap train --resume RUN``: continue a run that was killed or interrupted, from its last finished epoch.

Everything comes from the run itself: the options from ``config.json``, the training state (weights,
optimiser, scheduler, best-epoch tracker, every random generator, the metrics so far) from
``checkpoints/last.pt``, the recorded epochs from the epoch store. The data are loaded again from the same
source with the same seed, and torch gets the thread count the run was trained with, so on CPU the finished
run is the one an uninterrupted run would have written (``metrics.csv`` apart from ``seconds``, the dynamics
and the weights, bit for bit).
"""

from __future__ import annotations

import time
from pathlib import Path

from lossgap import api
from lossgap.epoch_store import EPOCHS_DIR, first_damaged, stored_epochs
from lossgap.errors import DataError, RunDirError
from lossgap.run import lock as run_lock
from lossgap.run import rundir, writer
from lossgap.run.data_source import run_train_config, splits_difference
from lossgap.run.reader import require_run_dir
from lossgap.training.config import TrainConfig

#: summary.json statuses of runs that can be continued (a killed run has no summary at all).
RESUMABLE = ("interrupted",)


def resume_state_of(run: Path) -> tuple[dict, TrainConfig, dict]:
    """(config.json, the run's TrainConfig, the training state of its last saved epoch, or None when none was
    saved yet); RunDirError (one line) when the run cannot be resumed, DataError (one line) when its config.json
    names its data file by a relative path (an older lossgap's) that the current directory does not hold."""
    require_run_dir(run)
    config_json = rundir.read_config(run)
    if not config_json.get("train"):
        raise RunDirError(f"{run} was not trained by 'lossgap train'; only its runs can be resumed")
    summary_path = run / rundir.SUMMARY_FILE
    if summary_path.exists():
        summary = rundir.read_summary(run)
        status = summary.get("status")
        if status not in RESUMABLE:
            raise RunDirError(f"{run} already finished ({status}); nothing to resume. "
                              + _report_advice(run, summary) + "To train longer, train a new run with more --epochs")
    checkpoint_path = rundir.checkpoint_path(run, rundir.LAST_CHECKPOINT)
    retrain = rundir.retrain_advice(run, config_json)
    # Killed before its first training state was saved: start it again.
    state = None
    if checkpoint_path.exists():
        fix = (f"it holds the training state --resume continues from, and no other checkpoint does, so the run "
               f"cannot be resumed; its finished epochs still diagnose (lossgap diagnose {run}); to finish it, "
               f"{retrain}")
        state = rundir.load_checkpoint(checkpoint_path, fix=fix).get("training_state")
    if state is not None:
        _check_store(run, int(state["epoch"]), retrain)
    # An older run's relative data path is located (or refused, naming it) before anything is trained.
    return config_json, run_train_config(config_json, run), state


def _report_advice(run: Path, summary: dict) -> str:
    """The sentence telling to write the report with ``lossgap report`` when finished run ``run`` (its
    ``summary``) has epochs but no report (killed between its summary and its report); else an empty string."""
    if (run / rundir.REPORT_FILE).exists() or not summary.get("epochs_run"):
        return ""
    return f"Its report was not written (stopped after training): write it with lossgap report {run}. "


def _check_store(run: Path, epoch: int, retrain: str) -> None:
    """RunDirError (one line) unless the epoch store holds whole files of epochs 1..``epoch`` (the training
    state's epoch): a resumed run's dynamics start from them. Epoch files after it are written again."""
    store = run / EPOCHS_DIR
    held = len(stored_epochs(store))
    if held < epoch:
        raise RunDirError(f"{store} holds {held} whole epochs in a row but {rundir.LAST_CHECKPOINT}.pt's training "
                          f"state is from epoch {epoch}, so the run cannot be resumed; its epochs 1-{held} still "
                          f"diagnose (lossgap diagnose {run}); to finish it, {retrain}")
    damaged = first_damaged(store, epoch)
    if damaged is not None:
        raise RunDirError(f"{damaged.path} is damaged ({damaged.reason}), and the saved training state is from epoch "
                          f"{epoch}, so the run cannot be resumed without it; "
                          + (f"its epochs 1-{damaged.epoch - 1} still diagnose (lossgap diagnose {run}); "
                             if damaged.epoch > 1 and damaged.epoch == held else "")
                          + f"to finish it, {retrain}")


def resume(run: str | Path, *, on_epoch_end=None, control_epoch_end=None, diagnose_run: bool = True) -> api.TrainResult:
    """Continue ``run`` from its last finished epoch to the end its options ask for; returns a TrainResult
    (and writes the finished run directory, its diagnosis and report, as ``lossgap train`` does)."""
    import torch

    from lossgap.data import load_data

    wall_started = time.perf_counter()
    out_dir = Path(run)
    config_json, config, state = resume_state_of(out_dir)
    threads = config_json.get("runtime", {}).get("torch_threads")
    previous_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(int(threads))
    with run_lock.writing(out_dir):  # one writer per run directory: not beside a training still going
        try:
            loaded = load_data(config.data, config.seed)
            splits, standardizer = loaded.splits, loaded.standardizer
            # Data edited since the run started (or split otherwise by another lossgap) would be trained on
            # silently, its samples mixed with the recorded ones: refuse it, as an older run's relative path is.
            difference = splits_difference(config_json.get("data") or {}, splits)
            if difference is not None:
                raise DataError(f"the data of {out_dir} changed since the run started: {config.data.source} now "
                                f"{difference}, so the run cannot be resumed; its finished epochs still diagnose "
                                f"(lossgap diagnose {out_dir}); to finish it, "
                                f"{rundir.retrain_advice(out_dir, config_json)}")
            role = config_json.get("role", "run")
            if role == writer.CONTROL_ROLE:
                splits = splits.permuted_control(config.seed)
            if state is None:
                rundir.clear_run(out_dir)
            summary, trained = writer.train_into(config, out_dir, splits, standardizer, on_epoch_end, wall_started,
                                                 role=role, resume_state=state)
            if role == "run" and trained.fit.history and trained.fit.stop_reason != "interrupted":
                writer.train_control(config, out_dir, splits, standardizer, control_epoch_end)
        finally:
            torch.set_num_threads(previous_threads)
        return api.conclude(out_dir, summary, trained, diagnose_run)
