"""The run directory: the source of truth every later step (diagnose, report, remedy) reads.

Layout (all files written atomically)::

    config.json       every option, seed, data description, library versions, the command to rerun
    metrics.csv       one row per epoch, rewritten after each epoch so an interrupted run keeps its rows
    summary.json      best epoch, best and final figures, test figures of the delivered model, seconds
    dynamics.npz      per split, per epoch, per sample: true-class log-probability, prediction, margin, ...
    optimization.csv  per epoch: gradient norm and update ratio per tensor, gate saturation and dead units per
                      recurrent layer (optional: runs from before it, or own loops without observe(), lack it)
    checkpoints/last.pt, checkpoints/best.pt   (load with weights_only=True)
    diagnosis.json, report.html, figures/      written by the diagnosis and report steps
    control/          the permuted-label control run (``--control permuted-labels``), a run directory itself
    remedy.json, remedy/   written by ``lossgap remedy``: the comparison and each configuration's seed runs

This module owns every entry name; the other modules use its constants. Reading a run back (``read_run``,
``RunRecord``) and the advice for a damaged or unfinished run live in :mod:`lossgap.run.reader`, re-exported here.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import zipfile
from typing import TYPE_CHECKING
from pathlib import Path

import numpy as np

from lossgap.epoch_store import EPOCHS_DIR, epoch_files, store_owner
from lossgap.dynamics import DYNAMICS_FILE
from lossgap.errors import RunDirError
from lossgap.io import read_csv_rows, write_bytes, write_json, write_text
from lossgap.lazy import lazy_getattr
from lossgap.observations import OptimizationObservations, save_observations

if TYPE_CHECKING:
    import torch

    from lossgap.run.reader import (RunRecord, continue_advice, read_observations, read_run, resume_blocker,
                                    retrain_advice)

#: Reading a run back lives in :mod:`lossgap.run.reader` (it uses the names below); resolved on first use.
__getattr__ = lazy_getattr(__name__, {name: "lossgap.run.reader" for name in (
    "RunRecord", "read_run", "read_observations", "continue_advice", "retrain_advice", "resume_blocker")})

RUN_FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.csv"
SUMMARY_FILE = "summary.json"
OPTIMIZATION_FILE = "optimization.csv"
DIAGNOSIS_FILE = "diagnosis.json"
REPORT_FILE = "report.html"
CHECKPOINT_DIR = "checkpoints"
#: Checkpoint names (``checkpoints/<name>.pt``): the last epoch written (with the training state to resume
#: from) and the best epoch by the run's --monitor.
LAST_CHECKPOINT = "last"
BEST_CHECKPOINT = "best"
#: The model trained on train + val for the delivered epoch count (``--refit``), beside the val-split run's.
REFIT_CHECKPOINT = "refit"
FIGURES_DIR = "figures"
#: Where ``--control permuted-labels`` puts the control run, inside the real run's directory.
CONTROL_DIR = "control"
REMEDY_FILE = "remedy.json"
REMEDY_DIR = "remedy"
#: Everything lossgap writes into a run directory; --overwrite removes exactly these, nothing else.
RUN_ENTRIES = (CONFIG_FILE, METRICS_FILE, SUMMARY_FILE, DYNAMICS_FILE, OPTIMIZATION_FILE, DIAGNOSIS_FILE,
               REPORT_FILE, CHECKPOINT_DIR, FIGURES_DIR, EPOCHS_DIR, REMEDY_FILE, REMEDY_DIR, CONTROL_DIR)


def holds_run(path: Path) -> bool:
    """True when ``path`` contains any file of a lossgap run."""
    return path.is_dir() and any((path / entry).exists() for entry in RUN_ENTRIES)


def holds_only_store(path: Path) -> bool:
    """True when the only lossgap entry in ``path`` is an epoch store (``epochs/``): what an own loop's
    ``Recorder(store=path/epochs)`` leaves before its run is saved (or after a kill), not a run."""
    return (path / EPOCHS_DIR).is_dir() and not any((path / entry).exists() for entry in RUN_ENTRIES
                                                     if entry != EPOCHS_DIR)


def check_out_dir(path: str | Path, overwrite: bool) -> Path:
    """Validate an output directory before anything is written; returns it as a Path.

    Raises RunDirError when it is a file, or holds a run and ``overwrite`` is False (two runs are never mixed).
    An epoch store alone (:func:`holds_only_store`) is no run: an own loop's recorder saves its run beside it.
    """
    out = Path(path)
    # Worded for the interface in use (see LossgapError): the CLI's flags, or the Python API's arguments.
    if out.exists() and not out.is_dir():
        raise RunDirError(f"out={str(out)!r} is a file, not a directory; choose a directory path",
                          cli=f"--out {out} is a file, not a directory; choose a directory path")
    held = len(epoch_files(out))
    if held:  # --overwrite removes only run entries: the epoch files would stay, mixed with the new run's
        what = f"is an epoch store ({held} epoch files of a recording), not a run directory"
        raise RunDirError(f"out={str(out)!r} {what}; choose another out directory",
                          cli=f"--out {out} {what}; choose another --out")
    if holds_run(out) and not holds_only_store(out) and not overwrite:
        raise RunDirError(f"{out} already holds a run; choose another out directory or pass overwrite=True to "
                          "replace it", cli=f"{out} already holds a run; choose another --out or pass --overwrite to "
                                            "replace it")
    return out


def store_to_keep(out: str | Path, store: str | Path | None) -> Path | None:
    """The epoch store ``store`` of a recording whose run is written into ``out`` when it lies inside ``out``
    (``out/epochs``, the layout saving beside a store supports, or a directory of the user's own such as
    ``out/mine``): writing the run leaves it be. None when there is no store or it lies outside ``out``.

    RunDirError (one line naming the fix), before anything is written, where the run and the epochs would mix
    or one would delete the other: ``out`` is the store itself, ``out`` lies inside the store, the store lies
    in another entry lossgap writes in ``out`` (``checkpoints/``, ``figures/``, ... or below ``epochs/``), or
    ``out`` holds only an epoch store that is not ``store`` (writing the run would delete its epochs).
    """
    out = Path(out)
    where = out.resolve()
    kept = None
    if store is not None:
        store = Path(store)
        place = store.resolve()
        named = f"the recorder's epoch store {str(store)!r}"
        if place == where:
            raise RunDirError(f"out={str(out)!r} is {named} itself; the run's files would mix with its epoch files; "
                              f"save the run in another directory, e.g. out={str(store_owner(store))!r}")
        if place in where.parents:
            raise RunDirError(f"out={str(out)!r} lies inside {named}, so deleting the store would delete the run; "
                              f"save the run outside the store, e.g. out={str(store_owner(store))!r}")
        if where in place.parents:
            entry = place.relative_to(where).parts[0]
            if entry in RUN_ENTRIES + (PREVIOUS_DIR,) and place != where / EPOCHS_DIR:
                raise RunDirError(f"{named} lies inside {str(out / entry)!r}, an entry of the run directory that "
                                  f"lossgap replaces or reads as its own (a store inside out is kept only as "
                                  f"{str(out / EPOCHS_DIR)!r}); save the run in a directory that does not hold the "
                                  f"store, e.g. out={str(out.with_name(out.name + '-recorded'))!r}")
            kept = store
    if holds_only_store(out) and (store is None or Path(store).resolve() != where / EPOCHS_DIR):
        other = out / EPOCHS_DIR
        raise RunDirError(f"{out} holds the epoch store of another recording ({other}), which saving here would "
                          f"delete; choose another out directory, save that store first with "
                          f"lossgap.recover_recorded_run({str(other)!r}, {str(out)!r}), or delete it")
    return kept


def clear_run(path: Path, keep: Path | None = None) -> None:
    """Remove a previous run's files from ``path`` (only lossgap's own entries) and create the directory.
    An entry that is or holds ``keep`` (a recorder's epoch store being saved into ``path``) is left in place."""
    kept = Path(keep).resolve() if keep is not None else None
    for entry in RUN_ENTRIES:
        target = path / entry
        if kept is not None and (kept == target.resolve() or target.resolve() in kept.parents):
            continue
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    path.mkdir(parents=True, exist_ok=True)


#: Where ``--overwrite`` keeps the run it replaces until the new run has finished its first epoch.
PREVIOUS_DIR = ".previous-run"


def set_aside(path: Path) -> bool:
    """Move the run in ``path`` (lossgap's own entries) into ``path/.previous-run``; returns whether there was
    one. An older set-aside run is replaced (it was already superseded by a run that finished an epoch).

    RunDirError when ``path`` holds only an own loop's epoch store (:func:`holds_only_store`): a new run
    replacing it would delete the only copy of its epochs, so it is refused even with overwrite."""
    if holds_only_store(path):
        store = path / EPOCHS_DIR
        fix = (f"save it as a run first with lossgap.recover_recorded_run({str(store)!r}, {str(path)!r}), or "
               f"delete {store}")
        raise RunDirError(f"{path} holds the epoch store of an own training loop ({store}), which a new run would "
                          f"delete; choose another out directory, or {fix}",
                          cli=f"{path} holds the epoch store of an own training loop ({store}), which a new run "
                              f"would delete; choose another --out, or {fix} (from Python)")
    entries = [entry for entry in RUN_ENTRIES if (path / entry).exists()]
    if not entries:
        return False
    aside = path / PREVIOUS_DIR
    shutil.rmtree(aside, ignore_errors=True)
    aside.mkdir(parents=True)
    for entry in entries:
        os.replace(path / entry, aside / entry)
    return True


def restore_previous(path: Path) -> None:
    """Put the run set aside by :func:`set_aside` back in place of what the new run wrote (nothing is left
    of the new run)."""
    aside = path / PREVIOUS_DIR
    if not aside.is_dir():
        return
    clear_run(path)
    for entry in os.listdir(aside):
        os.replace(aside / entry, path / entry)
    aside.rmdir()


def drop_previous(path: Path) -> None:
    """Delete the run set aside by :func:`set_aside` (the new run has finished an epoch)."""
    shutil.rmtree(path / PREVIOUS_DIR, ignore_errors=True)


def write_metrics(path: Path, rows: list[dict[str, float]]) -> None:
    """Write ``rows`` as ``metrics.csv`` (columns in first-seen order; full float precision)."""
    columns: list[str] = []
    for row in rows:
        columns.extend(key for key in row if key not in columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: (int(value) if key == "epoch" else repr(float(value))) for key, value in row.items()})
    write_text(path / METRICS_FILE, buffer.getvalue())


def read_metrics(path: Path, notes: list[str] | None = None) -> dict[str, np.ndarray]:
    """Columns of ``metrics.csv`` as float64 arrays (epoch as int64). A last row cut short (a file truncated
    mid-row) is left out, with a note appended to ``notes``; RunDirError (one line) for a cell that is not a
    number or a short row before the last."""
    try:
        _, rows, cut = read_csv_rows(path / METRICS_FILE)
    except ValueError as error:  # a short row before the last: not a truncation, the file is damaged
        raise RunDirError(f"{path / METRICS_FILE} is damaged ({error}); train the run again") from None
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RunDirError(f"{path / METRICS_FILE} is unreadable ({type(error).__name__}); train the run again") from None
    if cut and notes is not None:
        notes.append(f"{path / METRICS_FILE} ends in a row cut short; it is left out")
    if not rows:
        return {}
    columns = {}
    for key in rows[0]:
        values = []
        for number, row in enumerate(rows, start=2):
            cell = row.get(key)
            try:
                values.append(float(cell) if cell not in ("", None) else np.nan)
            except ValueError:
                raise RunDirError(f"{path / METRICS_FILE} line {number}: {key} is {cell!r}, not a number; the file is "
                                  "damaged, train the run again") from None
        columns[key] = np.array(values)
    columns["epoch"] = columns["epoch"].astype(np.int64)
    return columns


def save_checkpoint(path: Path, name: str, *, hyperparameters: dict, state: dict[str, torch.Tensor],
                    epoch: int, extra: dict | None = None) -> Path:
    """Write ``checkpoints/<name>.pt`` atomically; only tensors and plain types, so weights_only loading works."""
    payload = {"format_version": RUN_FORMAT_VERSION, "hyperparameters": dict(hyperparameters),
               "epoch": int(epoch), "state_dict": {key: value.detach().cpu() for key, value in state.items()},
               **(extra or {})}
    import torch  # only the writing and loading of weights needs torch; reading a run does not

    buffer = io.BytesIO()
    torch.save(payload, buffer)
    target = checkpoint_path(path, name)
    write_bytes(target, buffer.getvalue())
    return target


def checkpoint_path(path: str | Path, name: str) -> Path:
    """Where checkpoint ``name`` (LAST_CHECKPOINT, BEST_CHECKPOINT or REFIT_CHECKPOINT) of the run in ``path`` lives."""
    return Path(path) / CHECKPOINT_DIR / f"{name}.pt"


def load_checkpoint(path: str | Path, fix: str = "train the run again") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` with ``weights_only=True``; returns its dict.

    RunDirError (one line, ending in ``fix``) when the file is missing, cut short or damaged, or holds objects
    that weights-only loading refuses (not a file lossgap wrote).
    """
    import pickle

    import torch

    path = Path(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise RunDirError(f"checkpoint {path} does not exist; train the run first") from None
    except Exception as error:  # torch raises several types for truncated or corrupt files
        whole = zipfile.is_zipfile(path)  # torch writes a zip archive: a cut one lacks its closing directory
        if whole and isinstance(error, pickle.UnpicklingError) and "weights only" in str(error).lower():
            raise RunDirError(f"checkpoint {path} holds objects other than tensors and plain values, so it is not "
                              f"loaded (weights_only=True; lossgap never writes such a file); {fix}") from None
        how = "damaged" if whole else "truncated or damaged"
        raise RunDirError(f"checkpoint {path} is {how} ({type(error).__name__}); {fix}") from None


def read_config(path: str | Path) -> dict:
    """The run's ``config.json`` as a dict; RunDirError (one line) when it is unreadable, not an object, or
    from a newer run format."""
    return _check_version(Path(path) / CONFIG_FILE, _read_json(Path(path) / CONFIG_FILE))


def read_summary(path: str | Path) -> dict:
    """The run's ``summary.json`` as a dict; RunDirError (one line) when it is unreadable, not an object, or
    from a newer run format."""
    return _check_version(Path(path) / SUMMARY_FILE, _read_json(Path(path) / SUMMARY_FILE))


def _check_version(path: Path, payload: dict) -> dict:
    version = payload.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise RunDirError(f"{path} has format_version {version!r}, not a whole number; the file is damaged, "
                          "train the run again")
    if version > RUN_FORMAT_VERSION:
        raise RunDirError(f"{path} was written by a newer lossgap (run format {version}, this reads "
                          f"{RUN_FORMAT_VERSION}); upgrade lossgap: pip install -U lossgap")
    return payload


def _read_json(path: Path) -> dict:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunDirError(f"{path} is unreadable ({type(error).__name__}); train the run again") from None
    if not isinstance(payload, dict):
        raise RunDirError(f"{path} holds a JSON {type(payload).__name__}, not an object; train the run again")
    return payload


def write_observations(path: Path, observations: OptimizationObservations) -> None:
    """Write ``optimization.csv`` (rewritten after every epoch while training)."""
    save_observations(path / OPTIMIZATION_FILE, observations)


def write_recording(path: Path, recorder, epochs: int | None = None) -> Path:
    """Write what ``recorder`` (a :class:`~lossgap.training.recorder.Recorder`) holds of its first ``epochs``
    closed epochs (default: all): ``dynamics.npz``, and ``optimization.csv`` when it observed the model (an
    ``optimization.csv`` left by an earlier run is removed otherwise, so two runs never mix). Returns the
    dynamics file's path."""
    target = Path(path) / DYNAMICS_FILE
    count = recorder.write_dynamics(target, epochs)
    observations = recorder.observations(count)
    if observations is not None:
        write_observations(Path(path), observations)
    else:
        (Path(path) / OPTIMIZATION_FILE).unlink(missing_ok=True)
    return target


def write_diagnosis(path: str | Path, payload: dict) -> Path:
    """Write ``diagnosis.json`` (a diagnosis's ``to_dict()``); returns its path."""
    target = Path(path) / DIAGNOSIS_FILE
    write_json(target, payload)
    return target


def remove_epoch_store(path: Path) -> None:
    """Remove the per-epoch store of a finished run (its epochs are in ``dynamics.npz``)."""
    shutil.rmtree(path / EPOCHS_DIR, ignore_errors=True)


def write_config(path: Path, payload: dict) -> None:
    """Write ``config.json``, stamping the run format version."""
    write_json(path / CONFIG_FILE, {"format_version": RUN_FORMAT_VERSION, **payload})


def write_summary(path: Path, payload: dict) -> None:
    """Write ``summary.json``."""
    write_json(path / SUMMARY_FILE, {"format_version": RUN_FORMAT_VERSION, **payload})
