"""The Python API: train a run into a directory, read it back. The CLI is a thin layer over these."""

from __future__ import annotations

import math
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import lossgap
import lossgap.data as data_sources
from lossgap.data.sequence import DatasetSplits
from lossgap.diagnosis import Diagnosis, diagnose_record
from lossgap.errors import ConfigError, RunDirError
from lossgap.io import write_json
from lossgap.run import rundir
from lossgap.training.config import TrainConfig

if TYPE_CHECKING:
    from lossgap.model import LSTMClassifier
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
    model: LSTMClassifier
    diagnosis: Diagnosis | None = None


def load_data(config: TrainConfig):
    """The data of a run (real labels): splits and the train-fitted standardizer or None."""
    loaded = data_sources.load_splits(config.data.source, val_fraction=config.data.val_fraction, seed=config.seed,
                                      standardize=config.data.standardize)
    return loaded.splits, loaded.standardizer


def permuted_control(splits: DatasetSplits, seed: int) -> DatasetSplits:
    """The same splits with train labels shuffled within train (val and test keep their real labels).

    The class balance stays; any link between inputs and labels is destroyed, so whatever val accuracy the
    control reaches is what this configuration gets from nothing.
    """
    permuted = np.random.default_rng(seed).permutation(splits.train.labels)
    return DatasetSplits(train=splits.train.with_labels(permuted), val=splits.val, test=splits.test,
                         source=splits.source, val_is_fixed=splits.val_is_fixed)


def build_model(config: TrainConfig, splits: DatasetSplits) -> LSTMClassifier:
    """The LSTM classifier described by ``config.model`` for the features and classes of ``splits``.

    ``patch_length="auto"`` is resolved from the train split's longest sequence (see :func:`auto_patch_length`),
    never from val or test; ``readout="auto"`` then from the patch length (see :func:`auto_readout`).
    """
    from lossgap.model import LSTMClassifier, auto_patch_length, auto_readout

    patch_length = config.model.patch_length
    if patch_length == "auto":
        # The longest train sequence, not the padded width: a file padded wider (or to fit its test split)
        # must not change the network.
        patch_length = auto_patch_length(int(splits.train.lengths.max()))
    readout = config.model.readout
    if readout == "auto":
        readout = auto_readout(patch_length)
    return LSTMClassifier(input_size=splits.num_features, hidden_size=config.model.hidden_size,
                          num_classes=splits.num_classes, num_layers=config.model.num_layers,
                          dropout=config.model.dropout, bidirectional=config.model.bidirectional,
                          readout=readout, patch_length=patch_length)


def train(config: TrainConfig, out: str | Path, *, overwrite: bool = False,
          on_epoch_end: EpochCallback | None = None,
          control_epoch_end: EpochCallback | None = None, permute_labels: bool = False,
          diagnose_run: bool = True) -> TrainResult:
    """Train one run as ``config`` says and write its run directory to ``out``; returns a :class:`TrainResult`.

    Data and options are checked before anything is written, so a bad input never destroys an earlier run;
    ``overwrite`` replaces an earlier run in ``out`` only once the new one is ready to start. Metrics are
    rewritten after every epoch; on Ctrl-C the finished epochs, dynamics and checkpoints are still written.
    With ``config.control == "permuted-labels"`` the same configuration is then trained on shuffled train
    labels into ``out/control``, and the diagnosis compares the two. The run is diagnosed at the end
    (``diagnosis.json``) unless ``diagnose_run`` is False. ``permute_labels`` makes this run itself a
    permuted-label control (used by ``lossgap remedy``).
    """
    from lossgap.report import write_report
    from lossgap.training.trainer import resolve_device

    wall_started = time.perf_counter()
    resolve_device(config.device)
    out_dir = rundir.check_out_dir(out, overwrite)
    splits, standardizer = load_data(config)
    # The run being replaced is kept aside until the new one has finished an epoch, and put back if it
    # fails or is stopped before (after a kill -9 it stays in RUN/.previous-run).
    replacing = rundir.set_aside(out_dir)
    rundir.clear_run(out_dir)
    if permute_labels:
        splits = permuted_control(splits, config.seed)
    try:
        summary, result, model = _train_into(config, out_dir, splits, standardizer, on_epoch_end, wall_started,
                                             role="permuted-label control" if permute_labels else "run",
                                             first_epoch_done=lambda: rundir.drop_previous(out_dir))
    except BaseException:
        if replacing and not (out_dir / rundir.METRICS_FILE).exists():
            rundir.restore_previous(out_dir)
        raise
    if replacing and not result.history:
        # Stopped before its first epoch ended: nothing of the new run is worth more than the old one.
        rundir.restore_previous(out_dir)
        raise KeyboardInterrupt
    if (config.control == "permuted-labels" and not permute_labels and result.history
            and result.stop_reason != "interrupted"):
        control_dir = out_dir / CONTROL_DIR
        rundir.clear_run(control_dir)
        _train_into(config, control_dir, permuted_control(splits, config.seed), standardizer, control_epoch_end,
                    time.perf_counter(), role="permuted-label control")
    diagnosis = diagnose(out_dir) if result.history and diagnose_run else None
    if diagnosis is not None:
        write_report(out_dir, diagnosis)
    return TrainResult(run_dir=out_dir, summary=summary, fit=result, model=model, diagnosis=diagnosis)


def _train_into(config: TrainConfig, out_dir: Path, splits: DatasetSplits, standardizer,
                on_epoch_end: EpochCallback | None, wall_started: float, role: str = "run",
                resume_state: dict | None = None, first_epoch_done=None):
    """Fit a model on ``splits`` and write the run files into ``out_dir``; returns (summary, fit, model).

    Durable: after every epoch the epoch's dynamics (``RUN/epochs/``), ``checkpoints/last.pt`` with the full
    training state, ``optimization.csv`` and ``metrics.csv`` are on disk, so a killed run can be diagnosed
    and resumed. ``resume_state`` (a ``last.pt``'s training state) continues such a run.
    """
    from lossgap.signals import stop_signals_blocked
    from lossgap.training.recorder import Recorder
    from lossgap.training.seeding import seeded
    from lossgap.training.trainer import fit, resolve_device

    device = resolve_device(config.device)
    store = out_dir / rundir.EPOCHS_DIR
    extra = {"class_names": list(splits.class_names),
             "standardizer": standardizer.to_dict() if standardizer is not None else None}
    if resume_state is None:
        recorder = Recorder(store=store)
        rows: list[dict[str, float]] = []
    else:
        recorder = Recorder.resumed(store, int(resume_state["epoch"]))
        rows = [dict(row) for row in resume_state["history"]]

    def after_epoch(row: dict[str, float]) -> None:
        rows.append(row)
        rundir.write_metrics(out_dir, rows)
        if len(rows) == 1 and first_epoch_done is not None:
            first_epoch_done()
        if on_epoch_end is not None:
            on_epoch_end(row)

    with seeded(config.seed, device) as generator:
        model = build_model(config, splits)
        if resume_state is None:
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
            if time.monotonic() - last_write[0] < gap and epoch < config.epochs:
                return
            started = time.monotonic()
            state = build_state()
            rundir.save_checkpoint(out_dir, "last", hyperparameters=model.hyperparameters(), state=state["model"],
                                   epoch=epoch, extra={**extra, "training_state": state})
            observations = recorder.observations()
            if observations is not None:
                rundir.write_observations(out_dir, observations)
            last_write[:] = [time.monotonic(), time.monotonic() - started]

        result = fit(model, splits, config, recorder, generator, after_epoch, on_checkpoint=checkpoint,
                     resume=resume_state)
    # The closing writes finish even if a stop signal arrives meanwhile (it is delivered afterwards).
    with stop_signals_blocked():
        if result.history:
            rundir.write_metrics(out_dir, result.history)
            # The metrics rows are the authority: a stop in the middle of closing an epoch leaves that epoch out.
            recorder.save(out_dir, epochs=len(result.history))
            if result.stop_reason != "interrupted":
                # An interrupted run keeps the last.pt of its last finished epoch (with the training state to
                # resume from), not the weights of the epoch it was stopped in.
                rundir.save_checkpoint(out_dir, "last", hyperparameters=model.hyperparameters(),
                                       state=result.last_state, epoch=len(result.history), extra=extra)
            if result.best_state is not None:
                rundir.save_checkpoint(out_dir, "best", hyperparameters=model.hyperparameters(),
                                       state=result.best_state, epoch=result.best_epoch, extra=extra)
        summary = run_summary(config, result, time.perf_counter() - wall_started)
        rundir.write_summary(out_dir, summary)
        if result.stop_reason != "interrupted":
            # Finished: dynamics.npz holds every epoch; an interrupted run keeps its store and its full
            # training state in last.pt, so it can be resumed.
            rundir.remove_epoch_store(out_dir)
    return summary, result, model


#: Where ``--control permuted-labels`` puts the control run, inside the real run's directory.
CONTROL_DIR = "control"
#: Largest share of training time spent writing the training state (``checkpoints/last.pt``): it is written
#: after every epoch that lasts at least 1 / CHECKPOINT_SHARE times as long as a write (a few ms for a small
#: model), else every few epochs. LOSSGAP_CHECKPOINT_SECONDS sets a fixed interval instead (0: every epoch).
CHECKPOINT_SHARE = 0.05


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


def diagnose(run: str | Path, *, split: str = "val", write: bool = True) -> Diagnosis:
    """Diagnose a run directory; returns the :class:`~lossgap.diagnosis.Diagnosis` and (by default) writes
    ``diagnosis.json`` into it. A permuted-label control in ``RUN/control`` is used when present."""
    record = rundir.read_run(run)
    control_path = record.path / CONTROL_DIR
    control = rundir.read_run(control_path) if rundir.holds_run(control_path) else None
    diagnosis = diagnose_record(record, split=split, control=control)
    if write:
        write_diagnosis(record.path, diagnosis)
    return diagnosis


def write_diagnosis(run: str | Path, diagnosis: Diagnosis) -> Path:
    """Write ``diagnosis.json`` into the run directory; returns its path."""
    target = Path(run) / rundir.DIAGNOSIS_FILE
    write_json(target, diagnosis.to_dict())
    return target


def save_recorded_run(recorder: Recorder, out: str | Path, *, class_names: list[str] | None = None,
                      extra_metrics: list[dict[str, float]] | None = None, description: str = "own training loop",
                      overwrite: bool = False) -> Path:
    """Write a run directory from a :class:`Recorder` fed by any training loop; returns the directory.

    ``metrics.csv`` gets each split's loss, accuracy and balanced accuracy per epoch from the recorded
    samples; ``extra_metrics`` (one dict per epoch, e.g. ``{"lr": ..., "grad_norm": ...}``) is merged in.
    When the recorder observed the model (``recorder.observe(model)``), ``optimization.csv`` is written too.
    The directory can then be diagnosed and reported like one written by ``lossgap train``.
    """
    out_dir = rundir.check_out_dir(out, overwrite)
    dynamics = recorder.dynamics()
    if not dynamics or recorder.num_epochs == 0:
        raise RunDirError("the recorder holds no finished epoch; call recorder.end_epoch() after each epoch")
    rows = []
    for epoch in range(recorder.num_epochs):
        row: dict[str, float] = {"epoch": epoch + 1}
        for name, record in dynamics.items():
            seen = record.seen[epoch]
            if not seen.any():
                continue
            row[f"{name}_loss"] = float(record.loss[epoch][seen].mean())
            row[f"{name}_accuracy"] = float(record.correct[epoch][seen].mean())
            row[f"{name}_balanced_accuracy"] = float(record.epoch_balanced_accuracy()[epoch])
        if extra_metrics is not None and epoch < len(extra_metrics):
            row.update(extra_metrics[epoch])
        rows.append(row)
    import torch

    num_classes = next(iter(dynamics.values())).num_classes
    names = list(class_names) if class_names is not None else [str(index) for index in range(num_classes)]
    rundir.clear_run(out_dir)
    rundir.write_config(out_dir, {
        "lossgap_version": lossgap.__version__, "train": None,
        "data": {"source": description, "class_names": names,
                 "sizes": {name: record.num_samples for name, record in dynamics.items()}},
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                     "lossgap": lossgap.__version__, "platform": platform.platform()},
        "command": None,
    })
    rundir.write_metrics(out_dir, rows)
    recorder.save(out_dir)
    # NaN compares false with everything: an epoch whose val loss is not finite can never be the best.
    best = min(rows, key=lambda row: row["val_loss"] if np.isfinite(row.get("val_loss", np.inf)) else np.inf)
    rundir.write_summary(out_dir, {"status": "recorded", "epochs_run": len(rows), "monitor": "val_loss",
                                   "best_epoch": int(best["epoch"]), "delivered_epoch": len(rows),
                                   "best": best, "final": rows[-1], "test": None})
    return out_dir


def run_config_payload(config: TrainConfig, splits: DatasetSplits, standardizer, out_dir: Path) -> dict:
    """The content of config.json: options, data description, versions, and the command that reruns the run."""
    import torch

    return {
        "lossgap_version": lossgap.__version__,
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
        },
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                     "lossgap": lossgap.__version__, "platform": platform.platform()},
        # A run's numbers depend on torch's thread count (summation order), so it is part of what reruns it.
        "runtime": {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()},
        "command": shlex.join(["lossgap", "train", *config.to_cli_args(), "--out", str(out_dir)]),
        "argv": sys.argv,
    }


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
