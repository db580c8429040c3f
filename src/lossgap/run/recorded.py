"""Runs recorded by a user's own training loop: :func:`write_recorded_run` (behind ``lossgap.save_recorded_run``)
and :func:`recover_recorded_run`, which saves the run of a loop killed while it recorded into an epoch store
(``Recorder(store=RUN/epochs)``).

What the caller passes (class names, extra metrics) is checked before anything is written: a refusal is one line
naming the argument, the epoch and the fix, and leaves the directory as it was.
"""

from __future__ import annotations

import platform
import reprlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lossgap.errors import ConfigError, RunDirError, warn
from lossgap.run import rundir
from lossgap.version import __version__

if TYPE_CHECKING:
    from lossgap.dynamics import SplitDynamics
    from lossgap.training.recorder import Recorder

#: The figures metrics.csv gets per split from the recorded samples, as columns ``<split>_<figure>``.
RECORDED_FIGURES = ("loss", "accuracy", "balanced_accuracy")


def write_recorded_run(recorder: Recorder, out_dir: Path, *, class_names: list[str] | None,
                       extra_metrics: list[dict[str, float]] | None, description: str,
                       recovered: bool = False, input_shift: dict | None = None) -> Path:
    """Write a run directory from a Recorder fed by any training loop (see :func:`lossgap.save_recorded_run`);
    returns ``out_dir``. ``recovered``: saved from an epoch store after the loop stopped, likely killed
    (summary.json then says ``"recovered_from_store": true``, and the diagnosis notes what may be missing).
    ``input_shift``: config.json's ``data.input_shift`` from the inputs the loop passed
    (:func:`lossgap.data.drift.input_shift_payload`), or None.

    ConfigError (one line, nothing written) for class names or extra metrics that do not fit the recording. A
    recorder whose epoch store lies in ``out_dir`` (``Recorder(store=out_dir / "epochs")``) keeps it: its epochs
    are gathered into ``dynamics.npz`` and the store stays, for the epochs the loop may still add.
    RunDirError when ``out_dir`` holds another recorder's epoch store alone (saving would delete it), or is
    placed so that the run and the recorder's store would mix (see :func:`lossgap.run.rundir.store_to_keep`).
    """
    dynamics = recorder.dynamics()
    if not dynamics or recorder.num_epochs == 0:
        raise RunDirError("the recorder holds no finished epoch; call recorder.end_epoch() after each epoch")
    num_epochs = max(record.num_epochs for record in dynamics.values())
    names = _checked_class_names(class_names, next(iter(dynamics.values())).num_classes)
    extra = _checked_extra_metrics(extra_metrics, num_epochs, recorded_columns(dynamics))
    own_store = rundir.store_to_keep(out_dir, getattr(recorder, "store", None))
    rows = recorded_rows(dynamics, num_epochs)
    for row, more in zip(rows, extra):
        row.update(more)
    rundir.clear_run(out_dir, keep=own_store)
    # The dynamics first: a recorder with batches after its last end_epoch() is refused before any other file.
    rundir.write_recording(out_dir, recorder, epochs=num_epochs)
    rundir.write_config(out_dir, {
        "lossgap_version": __version__, "train": None,
        "data": {"source": description, "class_names": names,
                 "sizes": {name: record.num_samples for name, record in dynamics.items()},
                 **({"input_shift": input_shift} if input_shift is not None else {})},
        "versions": library_versions(), "command": None,
        # What Recorder.describe (or observe) read from the model and optimizer; the diagnosis's checks of a
        # model held back by its settings read it as they read a lossgap run's "train".
        "settings": recorder.settings,
    })
    rundir.write_metrics(out_dir, rows)
    # NaN compares false with everything: an epoch whose val loss is not finite can never be the best.
    best = min(rows, key=lambda row: row["val_loss"] if np.isfinite(row.get("val_loss", np.inf)) else np.inf)
    rundir.write_summary(out_dir, {"status": "recorded", "epochs_run": len(rows), "monitor": "val_loss",
                                   "best_epoch": int(best["epoch"]), "delivered_epoch": len(rows),
                                   "best": best, "final": rows[-1], "test": None,
                                   **({"recovered_from_store": True} if recovered else {})})
    return out_dir


def recover_recorded_run(store: str | Path, out: str | Path, *, class_names: list[str] | None = None,
                         extra_metrics: list[dict[str, float]] | None = None,
                         description: str = "own training loop (saved from its epoch store)",
                         overwrite: bool = False) -> Path:
    """Save the epochs an own loop's ``Recorder(store=store)`` wrote (e.g. before the loop was killed) as a run
    directory in ``out``, like :func:`lossgap.save_recorded_run`; returns the directory.

    ``store`` is the directory given as ``Recorder(store=...)``; ``out`` is usually the directory that holds it
    (``store="runs/mine/epochs"``, ``out="runs/mine"``), and the store stays in place. Every epoch the store
    holds from epoch 1 on is saved; a damaged last epoch file is left out with a one-line warning. RunDirError
    (one line) when the store holds no epoch or an earlier epoch file is damaged, ``out`` holds a run and
    ``overwrite`` is False, or ``out`` is the store, lies inside it, or holds it elsewhere than ``out/epochs``
    in an entry lossgap writes (see :func:`lossgap.run.rundir.store_to_keep`).
    """
    from lossgap.epoch_store import first_damaged, stored_epochs
    from lossgap.training.recorder import Recorder

    store = Path(store)
    epochs = len(stored_epochs(store))
    if not epochs:
        what = "does not exist" if not store.exists() else "holds no stored epoch (no epoch_00001.npz)"
        raise RunDirError(f"{store} {what}; pass the directory your loop gave as Recorder(store=...)")
    rundir.store_to_keep(out, store)  # first: a store and out that would mix is the problem to name
    out_dir = rundir.check_out_dir(out, overwrite)
    damaged = first_damaged(store, epochs)
    if damaged is not None and damaged.epoch == epochs > 1:
        warn(f"{damaged.path} is damaged ({damaged.reason}) and left out: saving epochs 1-{epochs - 1}, which are "
             "whole")
        epochs -= 1
    elif damaged is not None:
        raise RunDirError(f"{damaged.path} is damaged ({damaged.reason}); move it and the epoch files after it out "
                          f"of {store} to save the epochs before it, or record the run again")
    return write_recorded_run(Recorder.resumed(store, epochs), out_dir, class_names=class_names,
                              extra_metrics=extra_metrics, description=description, recovered=True)


def recorded_columns(dynamics: dict[str, SplitDynamics]) -> set[str]:
    """The metrics.csv columns computed from the recorded samples of ``dynamics`` (and ``epoch``)."""
    return {"epoch"} | {f"{split}_{figure}" for split in dynamics for figure in RECORDED_FIGURES}


def recorded_rows(dynamics: dict[str, SplitDynamics], num_epochs: int) -> list[dict[str, float]]:
    """metrics.csv's rows: per epoch, each split's loss, accuracy and balanced accuracy over the samples seen in
    that epoch (a split that saw none in an epoch has no cells there). Each split's figures are computed once
    for all epochs, in O(epochs x samples)."""
    figures = {}
    for split, record in dynamics.items():
        seen = record.seen
        # The mean loss over seen samples; a seen sample's NaN loss makes the epoch's NaN (a non-finite loss).
        total = np.where(seen, record.true_log_prob, 0).sum(axis=1, dtype=np.float64)
        loss = -total / np.maximum(seen.sum(axis=1), 1)
        figures[split] = (seen.any(axis=1), {"loss": loss, "accuracy": record.epoch_accuracy(),
                                             "balanced_accuracy": record.epoch_balanced_accuracy()})
    rows = []
    for epoch in range(num_epochs):
        row: dict[str, float] = {"epoch": epoch + 1}
        for split, (any_seen, values) in figures.items():
            if epoch < any_seen.shape[0] and any_seen[epoch]:
                row.update({f"{split}_{figure}": float(values[figure][epoch]) for figure in RECORDED_FIGURES})
        rows.append(row)
    return rows


def library_versions() -> dict[str, str]:
    """The versions config.json records: python, torch, numpy, lossgap and the platform."""
    import torch

    return {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
            "lossgap": __version__, "platform": platform.platform()}


def _checked_class_names(class_names, num_classes: int) -> list[str]:
    """``class_names`` as a list of str (default "0", "1", ...); ConfigError unless one name per class."""
    if class_names is None:
        return [str(index) for index in range(num_classes)]
    if isinstance(class_names, (str, bytes)):
        raise ConfigError(f"class_names is the string {class_names!r}, not a list; pass one name per class, in "
                          "class-index order, e.g. ['negative', 'positive']")
    names = list(class_names)
    if len(names) != num_classes:
        raise ConfigError(f"class_names has {len(names)} name{'s' * (len(names) != 1)} for the {num_classes} classes "
                          "recorded (logits per sample); pass one name per class, in class-index order")
    return [str(name) for name in names]


def _checked_extra_metrics(extra_metrics, num_epochs: int, reserved: set[str]) -> list[dict[str, float]]:
    """``extra_metrics`` (one dict per epoch; entries after the last recorded epoch are ignored) with every value
    a float; ConfigError naming the entry, epoch and key for anything else, or a key that is a recorded column."""
    if extra_metrics is None:
        return []
    if isinstance(extra_metrics, (str, bytes, Mapping)) or not isinstance(extra_metrics, Sequence):
        raise ConfigError(f"extra_metrics is a {type(extra_metrics).__name__}, not a list; pass one dict of name -> "
                          "number per epoch, e.g. [{'lr': 0.01, 'grad_norm': 2.5}, ...]")
    checked = []
    for index, entry in enumerate(extra_metrics[:num_epochs]):
        where = f"extra_metrics[{index}] (epoch {index + 1})"
        if not isinstance(entry, Mapping):
            raise ConfigError(f"{where} is a {type(entry).__name__}, not a dict; pass one dict of name -> number "
                              "per epoch")
        row = {}
        for key, value in entry.items():
            if not isinstance(key, str):
                raise ConfigError(f"{where}: the key {key!r} is not a string; name each metric with a string, "
                                  "e.g. 'grad_norm'")
            if key in reserved:
                raise ConfigError(f"{where}: {key!r} is a column lossgap computes from the recorded samples; rename "
                                  f"yours (e.g. 'my_{key}') or leave it out")
            row[key] = _number(where, key, value)
        checked.append(row)
    return checked


def _number(where: str, key: str, value) -> float:
    """``value`` as a float (a number, a 0-d tensor or array, a numpy scalar); ConfigError for anything else."""
    shape = getattr(value, "shape", None)
    if shape is not None and tuple(shape) != ():
        raise ConfigError(f"{where}: {key!r} is a {type(value).__name__} of shape {tuple(shape)}, not one number; "
                          "pass a single number per metric and epoch (a one-element tensor: value.item())")
    number = value.item() if shape is not None and callable(getattr(value, "item", None)) else value
    if not isinstance(number, (str, bytes)):  # no float("1.5"): a string is a mistake, not a number
        try:
            return float(number)
        except (TypeError, ValueError):
            pass
    shown = "None" if value is None else f"the {type(value).__name__} {' '.join(reprlib.repr(value).split())}"
    raise ConfigError(f"{where}: {key!r} is {shown}, not a number; pass a number (int, float, 0-d tensor or numpy "
                      "scalar), or leave the key out of epochs that have no value")
