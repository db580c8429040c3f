"""The per-epoch store of a run being trained: one file per finished epoch, so a killed run keeps its epochs.

While ``lossgap train`` runs, every finished epoch is written to ``RUN/epochs/epoch_NNNNN.npz`` (atomically:
a kill leaves the file whole or absent). Per split it holds the epoch's records in the Recorder's own layout,
``<split>__ids``, ``<split>__labels``, ``<split>__values`` (N, 4: true-class log-probability, predicted class,
confidence, margin), optionally ``<split>__logits`` (float16) and ``<split>__num_classes``; and
``observation``, the epoch's optimisation figures as a JSON object ("null" without). When the run finishes,
the epochs are gathered into ``dynamics.npz`` and the store is removed; a killed run keeps the store, which
:func:`dynamics_from_store` reads in place of ``dynamics.npz``, and from which ``--resume`` continues.

Pure numpy, no torch: reading a killed run never imports it.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

from lossgap.dynamics import DYNAMICS_FORMAT_VERSION, MISSING_PREDICTION, SplitDynamics
from lossgap.io import atomic_open, write_bytes

#: Directory of the per-epoch files inside a run directory.
EPOCHS_DIR = "epochs"
_NAME = re.compile(r"epoch_(\d{5})\.npz$")


def store_owner(store: str | Path) -> Path:
    """The run directory the epochs of ``store`` are best saved in: the directory holding it when it is named
    ``epochs`` (the layout ``RUN/epochs``), else a new directory beside it, ``STORE-run``."""
    store = Path(store)
    return store.parent if store.name == EPOCHS_DIR else store.with_name(store.name + "-run")


#: One split's records of one epoch: sorted ids (N,), labels (N,), values (N, 4), logits (N, C) or None.
EpochRecord = tuple
#: Stands in a recorder's history for an epoch that lives in the store, not in memory.
STORED = None


def empty_record() -> EpochRecord:
    """The record of a split not seen in an epoch."""
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64), np.empty((0, 4), dtype=np.float32), None


def epoch_path(directory: str | Path, epoch: int) -> Path:
    """Where 1-based ``epoch`` is stored."""
    return Path(directory) / f"epoch_{epoch:05d}.npz"


def write_epoch(directory: str | Path, epoch: int, records: dict[str, tuple[EpochRecord, int]],
                observation: dict | None = None, settings: dict | None = None) -> Path:
    """Write one finished epoch (``records``: split -> (record, number of classes)) atomically; returns its path.
    ``observation``: the epoch's optimisation evidence; ``settings``: the recording's model and optimizer
    settings (:meth:`lossgap.Recorder.describe`), kept in every epoch file so that a recovered run has them."""
    arrays: dict[str, np.ndarray] = {"observation": np.array(json.dumps(observation))}
    if settings is not None:
        arrays["settings"] = np.array(json.dumps(settings))
    for split, ((ids, labels, values, logits), num_classes) in records.items():
        arrays[f"{split}__ids"] = ids
        arrays[f"{split}__labels"] = labels
        arrays[f"{split}__values"] = values
        arrays[f"{split}__num_classes"] = np.array(num_classes)
        if logits is not None:
            arrays[f"{split}__logits"] = logits
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    target = epoch_path(directory, epoch)
    write_bytes(target, buffer.getvalue())
    return target


def epoch_files(directory: str | Path) -> list[Path]:
    """Every epoch file in ``directory``, in epoch order, also those after a gap (which :func:`stored_epochs`
    leaves out but a new recording's epochs would still join); empty when it is not a directory."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if _NAME.match(path.name))


def stored_epochs(directory: str | Path) -> list[int]:
    """The 1-based epochs in the store that follow each other from epoch 1 (a gap ends the list)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = sorted(int(match.group(1)) for path in directory.iterdir() if (match := _NAME.match(path.name)))
    epochs = []
    for expected, epoch in enumerate(found, start=1):
        if epoch != expected:
            break
        epochs.append(epoch)
    return epochs


class DamagedEpoch(ValueError):
    """A stored epoch file that cannot be read (truncated, overwritten, not an epoch file): ``path``, ``epoch``
    and ``reason`` (the error type)."""

    def __init__(self, path: Path, epoch: int, reason: str) -> None:
        super().__init__(f"{path} is damaged ({reason})")
        self.path, self.epoch, self.reason = path, epoch, reason


def read_epoch(directory: str | Path, epoch: int) -> tuple[dict[str, tuple[EpochRecord, int]], dict | None]:
    """One stored epoch: (split -> (record, number of classes), observation or None). :class:`DamagedEpoch`
    (a ValueError) when the file is not a readable epoch file."""
    path = epoch_path(directory, epoch)
    try:
        with np.load(path, allow_pickle=False) as archive:
            observation = json.loads(str(archive["observation"]))
            splits = sorted({key.split("__")[0] for key in archive.files if "__" in key})
            records = {}
            for split in splits:
                logits = archive[f"{split}__logits"] if f"{split}__logits" in archive.files else None
                records[split] = ((archive[f"{split}__ids"], archive[f"{split}__labels"], archive[f"{split}__values"],
                                   logits), int(archive[f"{split}__num_classes"]))
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise DamagedEpoch(path, epoch, type(error).__name__) from None
    return records, observation


def stored_settings(directory: str | Path, epoch: int) -> dict | None:
    """The model and optimizer settings stored with ``epoch`` (see :func:`write_epoch`), or None: none were
    described, or the file cannot be read (:func:`read_epoch` is the one that names a damaged file)."""
    try:
        with np.load(epoch_path(directory, epoch), allow_pickle=False) as archive:
            return json.loads(str(archive["settings"])) if "settings" in archive.files else None
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
        return None


def first_damaged(directory: str | Path, epochs: int) -> DamagedEpoch | None:
    """The first of the stored epochs 1..``epochs`` whose file cannot be read (each file is read once), or None."""
    for epoch in range(1, epochs + 1):
        try:
            read_epoch(directory, epoch)
        except DamagedEpoch as damaged:
            return damaged
    return None


def dynamics_from_store(directory: str | Path, limit: int | None = None) -> dict[str, SplitDynamics]:
    """The dynamics of the stored epochs 1..``limit`` (default: all that follow each other), per split;
    :class:`DamagedEpoch` when one of their files cannot be read."""
    epochs = stored_epochs(directory)
    if limit is not None:
        epochs = epochs[:limit]
    histories: dict[str, list[EpochRecord]] = {}
    classes: dict[str, int] = {}
    for position, epoch in enumerate(epochs):
        records, _ = read_epoch(directory, epoch)
        for split, (record, num_classes) in records.items():
            history = histories.setdefault(split, [empty_record()] * position)
            history.append(record)
            classes[split] = num_classes
        for split, history in histories.items():
            if len(history) < position + 1:
                history.append(empty_record())
    return {split: assemble_split(split, history, classes[split]) for split, history in histories.items()}


def assemble_split(split: str, history: list[EpochRecord], num_classes: int) -> SplitDynamics:
    """A split's :class:`SplitDynamics` from its per-epoch records, aligned on the union of ids seen in any
    epoch. ValueError (one line) when no epoch recorded a sample, or a sample changed its label (naming the
    sample's id, both labels and the epochs that recorded them)."""
    filled = [epoch for epoch in history if epoch[0].shape[0]]
    if not filled:
        raise ValueError(f"Recorder: split {split!r} has no recorded samples")
    first_ids = filled[0][0]
    same_ids = all(epoch[0].shape == first_ids.shape and np.array_equal(epoch[0], first_ids) for epoch in filled)
    all_ids = first_ids if same_ids else np.unique(np.concatenate([epoch[0] for epoch in filled]))
    num_epochs, num_samples = len(history), all_ids.shape[0]
    labels = np.full(num_samples, -1, dtype=np.int64)
    first_epoch = np.zeros(num_samples, dtype=np.int64)  # 1-based epoch each sample's label was first recorded in
    true_log_prob = np.full((num_epochs, num_samples), np.nan, dtype=np.float32)
    predicted = np.full((num_epochs, num_samples), MISSING_PREDICTION, dtype=np.int16)
    max_prob = np.full((num_epochs, num_samples), np.nan, dtype=np.float16)
    margin = np.full((num_epochs, num_samples), np.nan, dtype=np.float32)
    keep_logits = filled[0][3] is not None
    logits = np.full((num_epochs, num_samples, num_classes), np.nan, dtype=np.float16) if keep_logits else None
    for epoch, (ids, epoch_labels, values, epoch_logits) in enumerate(history):
        if not ids.shape[0]:
            continue
        positions = slice(None) if same_ids else np.searchsorted(all_ids, ids)
        seen_before = labels[positions]
        changed = (seen_before >= 0) & (seen_before != epoch_labels)
        if changed.any():
            raise _label_changed(split, epoch + 1, ids, epoch_labels, changed, seen_before, first_epoch[positions])
        first_epoch[positions] = np.where(seen_before >= 0, first_epoch[positions], epoch + 1)
        labels[positions] = epoch_labels
        true_log_prob[epoch, positions] = values[:, 0]
        predicted[epoch, positions] = values[:, 1].astype(np.int16)
        max_prob[epoch, positions] = values[:, 2]
        margin[epoch, positions] = values[:, 3]
        if logits is not None and epoch_logits is not None:
            logits[epoch, positions] = epoch_logits
    return SplitDynamics(split=split, sample_ids=all_ids, labels=labels, true_log_prob=true_log_prob,
                         predicted=predicted, max_prob=max_prob, margin=margin, num_classes=num_classes,
                         logits=logits)


def _label_changed(split: str, epoch: int, ids: np.ndarray, labels: np.ndarray, changed: np.ndarray,
                   before: np.ndarray, first_epoch: np.ndarray) -> ValueError:
    """The error for the first sample of ``epoch`` (1-based) whose label differs from the one it was first
    recorded with."""
    where = int(np.flatnonzero(changed)[0])
    sample_id = ids[where].item() if isinstance(ids[where], np.generic) else ids[where]  # 7, not np.int64(7)
    return ValueError(f"Recorder: sample id {sample_id!r} of {split!r} has label {int(labels[where])} in epoch "
                      f"{epoch} but {int(before[where])} in epoch {int(first_epoch[where])}; ids must name the same "
                      "sample in every epoch (a store holding the epochs of two recordings mixes them: record the "
                      "run again into an empty store)")


#: The (E, N) fields of dynamics.npz and the column of an epoch record's values each comes from.
_COLUMNS = (("true_log_prob", 0, np.float32), ("predicted", 1, np.int16), ("max_prob", 2, np.float16),
            ("margin", 3, np.float32))


def gather_store(directory: str | Path, epochs: int, path: str | Path) -> bool:
    """Write epochs 1..``epochs`` of the store as ``dynamics.npz`` at ``path`` (atomically), one epoch row of
    one field at a time, so memory holds one epoch whatever the number of epochs. The file is the one
    :func:`lossgap.dynamics.save_dynamics` writes for the same records. Returns False, writing nothing, when a
    split's samples are not the same in every epoch (the caller then assembles in memory)."""
    if epochs < 1:
        return False
    layout: dict[str, tuple[np.ndarray, np.ndarray, int, int | None]] = {}
    for epoch in range(1, epochs + 1):
        with np.load(epoch_path(directory, epoch), allow_pickle=False) as archive:
            splits = sorted({key.split("__")[0] for key in archive.files if "__" in key})
            if epoch > 1 and splits != sorted(layout):
                return False
            for split in splits:
                ids = archive[f"{split}__ids"]
                if epoch == 1:
                    logits = f"{split}__logits" in archive.files
                    classes = int(archive[f"{split}__num_classes"])
                    layout[split] = (ids, archive[f"{split}__labels"], classes, classes if logits else None)
                elif not np.array_equal(ids, layout[split][0]):
                    return False
    if any(not ids.shape[0] for ids, *_ in layout.values()):
        return False
    with atomic_open(path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as zipped:
        _write_member(zipped, "format_version", np.array(DYNAMICS_FORMAT_VERSION))
        for split, (ids, labels, classes, logit_classes) in layout.items():
            _write_member(zipped, f"{split}__num_classes", np.array(classes))
            _write_member(zipped, f"{split}__sample_ids", ids)
            _write_member(zipped, f"{split}__labels", labels.astype(np.int64))
            for field, column, dtype in _COLUMNS:
                _write_rows(zipped, f"{split}__{field}", dtype, (epochs, ids.shape[0]), directory, epochs,
                            lambda archive, split=split, column=column: archive[f"{split}__values"][:, column])
            if logit_classes is not None:
                _write_rows(zipped, f"{split}__logits", np.float16, (epochs, ids.shape[0], logit_classes), directory,
                            epochs, lambda archive, split=split: archive[f"{split}__logits"])
    return True


def _write_member(zipped: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    with zipped.open(f"{name}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array(member, np.asarray(array), allow_pickle=False)


def _write_rows(zipped: zipfile.ZipFile, name: str, dtype, shape: tuple, directory, epochs: int, row) -> None:
    """One (E, ...) array written as an .npy member epoch by epoch: ``row(archive)`` is epoch e's row."""
    with zipped.open(f"{name}.npy", "w", force_zip64=True) as member:
        np.lib.format.write_array_header_2_0(member, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                      "fortran_order": False, "shape": shape})
        for epoch in range(1, epochs + 1):
            with np.load(epoch_path(directory, epoch), allow_pickle=False) as archive:
                member.write(np.ascontiguousarray(row(archive), dtype=dtype).tobytes())
