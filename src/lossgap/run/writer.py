"""Writing a run directory: training into it epoch by epoch (durably), its config and summary. Runs recorded
by a user's own loop are written by :mod:`lossgap.run.recorded` (``write_recorded_run`` is re-exported here)."""

from __future__ import annotations

import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from lossgap.data import drift, lengths
from lossgap.data.sequence import DatasetSplits
from lossgap.data.sources import dropped_train_ids_payload
from lossgap.errors import ConfigError
from lossgap.run import rundir
# write_recorded_run is lossgap.save_recorded_run's writer (lossgap.api calls it here).
from lossgap.run.recorded import library_versions, write_recorded_run  # noqa: F401
from lossgap.training.config import TrainConfig
from lossgap.version import __version__

if TYPE_CHECKING:
    from lossgap.training.distributed import Distributed
    from lossgap.training.once import Trained
    from lossgap.training.trainer import EpochCallback, FitResult

#: Largest share of training time spent writing the training state (``checkpoints/last.pt``): it is written
#: after every epoch that lasts at least 1 / CHECKPOINT_SHARE times as long as a write (a few ms for a small
#: model), else every few epochs. LOSSGAP_CHECKPOINT_SECONDS sets a fixed interval instead (0: every epoch).
CHECKPOINT_SHARE = 0.05
#: config.json's ``role`` of a permuted-label control run.
CONTROL_ROLE = "permuted-label control"


def checkpoint_seconds() -> float | None:
    """The fixed interval between two writes of the training state in seconds, or None (the default: by
    CHECKPOINT_SHARE)."""
    text = os.environ.get("LOSSGAP_CHECKPOINT_SECONDS")
    if text is None:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        raise ConfigError(f"LOSSGAP_CHECKPOINT_SECONDS={text!r} is not a number of seconds; use e.g. 2 or 0") from None


def train_into(config: TrainConfig, out_dir: Path, splits: DatasetSplits, standardizer,
               on_epoch_end: EpochCallback | None, wall_started: float, role: str = "run",
               resume_state: dict | None = None, first_epoch_done: Callable[[], None] | None = None,
               distributed: Distributed | None = None) -> tuple[dict, Trained]:
    """Train ``config`` on ``splits`` and write the run files into ``out_dir``; returns (summary, trained).

    Durable: after every epoch the epoch's dynamics (``RUN/epochs/``), ``checkpoints/last.pt`` with the full
    training state, ``optimization.csv`` and ``metrics.csv`` are on disk, so a killed run can be diagnosed
    and resumed. ``resume_state`` (a ``last.pt``'s training state) continues such a run. Under
    ``distributed`` (DDP) every rank trains and only rank 0 writes; the others keep no records.
    """
    from lossgap.signals import stop_signals_blocked
    from lossgap.training.once import train_once
    from lossgap.training.recorder import Recorder
    from lossgap.training.state import delivered_weights

    store = out_dir / rundir.EPOCHS_DIR
    extra = {"class_names": list(splits.class_names),
             "standardizer": standardizer.to_dict() if standardizer is not None else None}
    writes = distributed is None or distributed.is_writer
    if not writes:
        recorder = Recorder(keep_records=False)
        rows: list[dict[str, float]] = []
    elif resume_state is None:
        recorder = Recorder(store=store)
        rows = []
    else:
        recorder = Recorder.resumed(store, int(resume_state["epoch"]))
        rows = [dict(row) for row in resume_state["history"]]
    built: list = []

    def after_epoch(row: dict[str, float]) -> None:
        rows.append(row)
        if not writes:
            return
        rundir.write_metrics(out_dir, rows)
        if len(rows) == 1 and first_epoch_done is not None:
            first_epoch_done()
        if on_epoch_end is not None:
            on_epoch_end(row)

    def describe(model) -> None:
        built.append(model)
        if resume_state is None and writes:
            payload = run_config_payload(config, splits, standardizer, out_dir)
            payload["role"] = role
            # The network as built (e.g. the patch length "auto" chose), beside the options that asked for it.
            payload["model"] = model.hyperparameters()
            rundir.write_config(out_dir, payload)

    every = checkpoint_seconds()
    # [time the last write ended, seconds it took]: by default the first epoch's state is always written;
    # a fixed interval counts from the start.
    last_write = [-math.inf if every is None else time.monotonic(), 0.0]

    def checkpoint(epoch: int, build_state) -> None:
        # Every epoch's dynamics and metrics row are on disk at once. The training state costs a few ms to
        # write for a small model, more than a whole epoch of the article's runs: it is written after an
        # epoch unless that would spend more than CHECKPOINT_SHARE of the training time on it, and always
        # at the last planned epoch. A resumed run restarts from the last one written.
        gap = every if every is not None else last_write[1] / CHECKPOINT_SHARE
        if not writes or time.monotonic() - last_write[0] < gap and epoch < config.epochs:
            return
        started = time.monotonic()
        state = build_state()
        rundir.save_checkpoint(out_dir, rundir.LAST_CHECKPOINT, hyperparameters=built[0].hyperparameters(),
                               state=delivered_weights(state), epoch=epoch, extra={**extra, "training_state": state})
        observations = recorder.observations()
        if observations is not None:
            rundir.write_observations(out_dir, observations)
        last_write[:] = [time.monotonic(), time.monotonic() - started]

    trained = train_once(config, splits, recorder, on_epoch_end=after_epoch, on_model=describe,
                         on_checkpoint=checkpoint, resume=resume_state, distributed=distributed)
    result, hyperparameters = trained.fit, trained.model.hyperparameters()
    if not writes:
        return run_summary(config, result, time.perf_counter() - wall_started), trained
    # The closing writes finish even if a stop signal arrives meanwhile (it is delivered afterwards).
    with stop_signals_blocked():
        if result.history:
            rundir.write_metrics(out_dir, result.history)
            # The metrics rows are the authority: a stop in the middle of closing an epoch leaves that epoch out.
            rundir.write_recording(out_dir, recorder, epochs=len(result.history))
            if result.stop_reason != "interrupted":
                # An interrupted run keeps the last.pt of its last finished epoch (with the training state to
                # resume from), not the weights of the epoch it was stopped in.
                rundir.save_checkpoint(out_dir, rundir.LAST_CHECKPOINT, hyperparameters=hyperparameters,
                                       state=result.last_state, epoch=len(result.history), extra=extra)
            if result.best_state is not None:
                rundir.save_checkpoint(out_dir, rundir.BEST_CHECKPOINT, hyperparameters=hyperparameters,
                                       state=result.best_state, epoch=result.best_epoch, extra=extra)
        summary = run_summary(config, result, time.perf_counter() - wall_started)
        rundir.write_summary(out_dir, summary)
        if result.stop_reason != "interrupted":
            # Finished: dynamics.npz holds every epoch; an interrupted run keeps its store and its full
            # training state in last.pt, so it can be resumed.
            rundir.remove_epoch_store(out_dir)
    return summary, trained


def train_control(config: TrainConfig, out_dir: Path, splits: DatasetSplits, standardizer,
                  on_epoch_end: EpochCallback | None, distributed: Distributed | None = None) -> None:
    """Train the permuted-label control of a finished run into ``out_dir/control`` when ``config`` asks for one
    (under DDP on every rank, written by rank 0)."""
    if config.control != "permuted-labels":
        return
    control_dir = out_dir / rundir.CONTROL_DIR
    if distributed is None or distributed.is_writer:
        rundir.clear_run(control_dir)
    train_into(config, control_dir, splits.permuted_control(config.seed), standardizer, on_epoch_end,
               time.perf_counter(), role=CONTROL_ROLE, distributed=distributed)


def run_config_payload(config: TrainConfig, splits: DatasetSplits, standardizer, out_dir: Path) -> dict:
    """The content of config.json: options, data description, versions, and the command that reruns the run."""
    import torch

    from lossgap.training.distributed import launched_world_size

    return {
        "lossgap_version": __version__,
        "train": config.to_dict(),
        "data": {
            "source": config.data.source,
            "class_names": list(splits.class_names),
            "num_features": splits.num_features,
            "sizes": {name: part.num_samples for name, part in splits.splits().items()},
            "class_counts": {name: part.class_counts().tolist() for name, part in splits.splits().items()},
            "max_length": max(part.max_length for part in splits.splits().values()),
            "variable_lengths": any(part.has_variable_lengths for part in splits.splits().values()),
            "val_is_fixed": splits.val_is_fixed,
            "standardizer": standardizer.to_dict() if standardizer is not None else None,
            "shared_inputs": shared_inputs_payload(splits),
            "input_shift": drift.input_shift_payload(splits),
            "length_shortcut": lengths.length_shortcut(splits),
            "dropped_train_ids": dropped_train_ids_payload(config.data.drop_train_ids, splits),
        },
        "versions": library_versions(),
        # A run's numbers depend on torch's thread count (summation order), so it is part of what reruns it.
        # world_size > 1: trained data-parallel under torchrun (the rerun command, in one process, gives the
        # same figures within float tolerance, see the README).
        "runtime": {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                    "world_size": launched_world_size()},
        "command": config.command(out_dir, val_is_fixed=splits.val_is_fixed, threads=torch.get_num_threads()),
        "argv": sys.argv,
    }


def shared_inputs_payload(splits: DatasetSplits) -> dict:
    """config.json's ``data.shared_inputs``: copies of training inputs in the other splits and repeats within each
    (:func:`lossgap.data.overlap.shared_inputs_report`)."""
    from lossgap.data.overlap import shared_inputs_report

    return shared_inputs_report(splits)


def run_summary(config: TrainConfig, result: FitResult, wall_seconds: float) -> dict:
    """The content of summary.json: best and final figures, test figures of the delivered model, seconds."""
    history = result.history

    def figures(row: dict[str, float] | None) -> dict | None:
        if row is None:
            return None
        keys = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_balanced_accuracy")
        return {key: row[key] for key in keys if key in row}

    best_row = history[result.best_epoch - 1] if result.best_epoch else None
    test = None
    if result.test is not None:
        test = {"epoch": result.delivered_epoch, "loss": result.test.loss, "accuracy": result.test.accuracy,
                "balanced_accuracy": result.test.balanced_accuracy, "num_samples": result.test.num_samples}
    return {
        "status": result.stop_reason,
        "epochs_run": len(history),
        "epochs_planned": config.epochs,
        "monitor": config.early_stopping.monitor,
        "best_epoch": result.best_epoch,
        "delivered_epoch": result.delivered_epoch,
        "restored_best": config.early_stopping.enabled,
        "best": figures(best_row),
        "final": figures(history[-1] if history else None),
        "test": test,
        "train_seconds": result.seconds,
        "wall_seconds": wall_seconds,
    }
