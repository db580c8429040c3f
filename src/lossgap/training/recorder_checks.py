"""What the :class:`~lossgap.training.recorder.Recorder` checks in what a training loop hands it.

Per batch (:func:`checked_batch`): the split's name and the shapes and types of ids, logits and targets, from
tensor metadata only, so nothing waits for the device. Per epoch: labels within the logits' classes
(:func:`check_labels`) and every sample keeping its label from epoch to epoch (:class:`LabelBook`), each a
few vectorised operations over the epoch's samples. A refusal is one line naming the problem and the fix.
Before the first epoch: a store holding an earlier recording's epochs (:func:`check_new_store`, shared with
the Lightning callback).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from lossgap.epoch_store import epoch_files, stored_epochs
from lossgap.errors import ConfigError, RunDirError

#: The split names the run directory and the diagnosis know.
SPLITS = ("train", "val", "test")


def checked_batch(split: str, sample_ids, logits, targets) -> tuple[torch.Tensor | np.ndarray, torch.Tensor,
                                                                   torch.Tensor]:
    """One batch as the Recorder keeps it; returns (ids (B,): a detached tensor on its own device or a numpy
    array, logits (B, C) detached, targets (B,) int64 on the logits' device). ValueError (one line) naming
    the mistake and its fix: an unknown split, logits passed as a tuple or dict of model outputs, one-hot
    targets, a single-logit head, or ids, logits and targets that do not match."""
    where = f"Recorder.update({split!r})"
    if split not in SPLITS:
        raise ValueError(f"{where}: unknown split; record the splits as 'train', 'val' or 'test' (the names the "
                         "run directory and the diagnosis read)")
    _check_logits_type(where, logits)
    logits = torch.as_tensor(logits).detach()
    targets = torch.as_tensor(targets, device=logits.device)
    if targets.ndim > 1 and math.prod(targets.shape[1:]) != 1:
        raise ValueError(f"{where}: targets must be class indices (batch,), got shape {tuple(targets.shape)}; "
                         "for one-hot targets pass targets.argmax(1)")
    targets = targets.long().reshape(-1)
    batch = targets.shape[0]
    if logits.ndim == 1 and logits.shape[0] == batch:
        raise ValueError(f"{where}: one logit per sample, shape {tuple(logits.shape)}: lossgap needs one logit "
                         "per class; for a binary head z pass torch.stack([torch.zeros_like(z), z], 1)")
    if logits.ndim == 2 and logits.shape == (batch, 1):
        raise ValueError(f"{where}: one logit per sample, shape {tuple(logits.shape)}: lossgap needs one logit "
                         "per class; for a binary head z pass torch.cat([torch.zeros_like(z), z], 1)")
    if logits.ndim != 2 or logits.shape[0] != batch:
        fix = ("for per-step outputs (batch, steps, classes) pass the logits of the step that is classified, "
               "e.g. logits[:, -1]" if logits.ndim == 3 and logits.shape[0] == batch
               else "pass the model's raw (batch, classes) outputs, before softmax")
        raise ValueError(f"{where}: logits must be (batch, classes) with one row per target ({batch} targets), "
                         f"got shape {tuple(logits.shape)}; {fix}")
    # Kept on its device: a copy to the host here would wait for the device at every batch; end_epoch copies
    # the epoch's ids once (see host_ids).
    ids = sample_ids.detach() if isinstance(sample_ids, torch.Tensor) else np.asarray(sample_ids)
    ids = ids.reshape(-1)
    if ids.shape[0] != batch:
        raise ValueError(f"{where}: {ids.shape[0]} ids for {batch} targets; pass one id per sample")
    return ids, logits, targets


def _check_logits_type(where: str, logits) -> None:
    """ValueError when ``logits`` is a container of model outputs rather than the logits themselves."""
    if isinstance(logits, Mapping):  # e.g. a Hugging Face ModelOutput
        raise ValueError(f"{where}: logits is a dict with keys {list(logits)[:6]}; pass the (batch, classes) "
                         "logits tensor, e.g. outputs['logits']")
    if isinstance(logits, (tuple, list)) and any(isinstance(part, torch.Tensor) for part in logits):
        rows = (isinstance(logits, list) and len({tuple(part.shape) for part in logits
                                                  if isinstance(part, torch.Tensor)}) == 1
                and all(isinstance(part, torch.Tensor) and part.ndim == 1 for part in logits))
        fix = "torch.stack(logits) (one row per sample)" if rows else "outputs[0]"
        raise ValueError(f"{where}: logits is a {type(logits).__name__} of {len(logits)} tensors; pass the "
                         f"(batch, classes) logits tensor, e.g. {fix}")


def host_ids(parts: list) -> np.ndarray:
    """The ids of an epoch's batches as one numpy array; tensors are joined on their device and copied to the
    host once."""
    if all(isinstance(part, torch.Tensor) for part in parts):
        device = parts[0].device
        return torch.cat([part.to(device) for part in parts]).cpu().numpy()
    return np.concatenate([part.cpu().numpy() if isinstance(part, torch.Tensor) else part for part in parts])


#: What the Recorder does with a sample recorded more than once in an epoch: refuse it, or keep its last record.
REPEATED_IDS = ("error", "keep_last")


def sorted_records(split: str, epoch: int, ids: np.ndarray, labels: np.ndarray, values: np.ndarray,
                   logits: np.ndarray | None, repeated_ids: str) -> tuple:
    """(ids, labels, values, logits) of one split's epoch sorted by id, each sample once: with
    ``repeated_ids="keep_last"`` a sample recorded several times keeps its last record (a sampler that draws
    with replacement, such as WeightedRandomSampler, repeats samples and leaves others out, which count as
    unseen), with "error" a repeat is refused: ValueError (one line) naming the id and the fix."""
    order = np.argsort(ids, kind="stable")  # stable: a repeated id's records keep the order they came in
    ids, labels, values = ids[order], labels[order], values[order]
    logits = None if logits is None else logits[order]
    if ids.shape[0] < 2:
        return ids, labels, values, logits
    repeat = ids[1:] == ids[:-1]
    if not repeat.any():
        return ids, labels, values, logits
    if repeated_ids == "keep_last":
        last = np.append(~repeat, True)
        return ids[last], labels[last], values[last], None if logits is None else logits[last]
    duplicate = ids[1:][repeat][0]
    duplicate = duplicate.item() if isinstance(duplicate, np.generic) else duplicate  # not np.int64(0)
    raise ValueError(f"Recorder: sample id {duplicate!r} was recorded twice in epoch {epoch} of {split!r}; record "
                     "each sample once per epoch, or, when your sampler draws with replacement (WeightedRandomSampler), "
                     "pass repeated_ids='keep_last' to the Recorder (or LossgapCallback)")


def check_labels(where: str, targets: torch.Tensor, num_classes: int) -> None:
    """ValueError (one line) naming the first label outside 0..num_classes-1; returns None when all are in."""
    if not targets.numel():
        return
    low, high = (value.item() for value in torch.aminmax(targets))
    if low < 0 or high >= num_classes:
        bad = high if high >= num_classes else low
        raise ValueError(f"{where}: label {bad} is not a class of the {num_classes} logits per sample (labels must "
                         f"be 0..{num_classes - 1}); pass class indices that match the model's outputs")


class LabelBook:
    """The label of every sample recorded so far, per split, to refuse a sample whose label changes.

    Held in memory also when the recorder writes its epochs to a store (two arrays of the split's samples).
    An epoch with the same ids as before, the usual case, costs two comparisons of arrays; new ids are merged
    in sorted.
    """

    def __init__(self) -> None:
        self._known: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def merged(self, where: str, epoch: int, split: str, ids: np.ndarray, labels: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
        """The split's (sorted ids, labels) once epoch ``epoch``'s sorted ``ids`` and ``labels`` join them (the
        book itself is unchanged until :meth:`commit`); ValueError (one line) naming the first sample whose
        label differs from an earlier epoch's."""
        known = self._known.get(split)
        if known is None or not known[0].shape[0]:
            return ids, labels
        known_ids, known_labels = known
        if ids.shape == known_ids.shape and np.array_equal(ids, known_ids):
            self._refuse_changed(where, epoch, ids, labels, known_labels)
            return known
        positions = np.minimum(np.searchsorted(known_ids, ids), known_ids.shape[0] - 1)
        present = known_ids[positions] == ids
        self._refuse_changed(where, epoch, ids, labels, known_labels[positions], present)
        if present.all():
            return known
        every_id = np.concatenate([known_ids, ids[~present]])
        order = np.argsort(every_id, kind="stable")
        return every_id[order], np.concatenate([known_labels, labels[~present]])[order]

    def commit(self, split: str, ids: np.ndarray, labels: np.ndarray) -> None:
        """Keep ``split``'s (sorted ids, labels) as :meth:`merged` returned them."""
        self._known[split] = (ids, labels)

    @staticmethod
    def _refuse_changed(where: str, epoch: int, ids: np.ndarray, labels: np.ndarray, earlier: np.ndarray,
                        present: np.ndarray | None = None) -> None:
        """ValueError naming the first of ``ids`` (those ``present`` before; default all) whose label is not
        ``earlier``'s."""
        differs = labels != earlier
        if present is not None:
            differs &= present
        changed = np.flatnonzero(differs)
        if not changed.size:
            return
        first = changed[0]
        sample = ids[first].item() if isinstance(ids[first], np.generic) else ids[first]  # 3, not np.int64(3)
        raise ValueError(f"{where}: sample id {sample!r} has label {int(labels[first])} in epoch {epoch} but "
                         f"{int(earlier[first])} in an earlier epoch; ids must name the same sample, with the "
                         "same label, in every epoch")


def check_new_store(store: Path, overwrite: bool, *, who: str, earlier: str, out: Path | None,
                    resumable: bool) -> list[Path]:
    """The epoch files ``store`` already holds, which a new recording into it replaces (the caller deletes them:
    with ``overwrite`` only, as this refuses them otherwise); empty for a new or empty store.

    RunDirError (one line) when ``store`` holds epoch files and ``overwrite`` is False: the new epochs would
    overwrite the first of them and follow on from the rest, mixing two recordings. Every epoch file counts, not
    only those in a row from epoch 1. The fixes named: ``Recorder.resumed`` (when ``resumable``), saving the
    earlier epochs with ``lossgap.recover_recorded_run(store, out)`` (when ``out`` is given), another store, or
    ``overwrite=True``. ``who`` ("Recorder", "LossgapCallback") starts the message; ``earlier`` names what wrote
    the epochs ("recording", "fit"). ConfigError when ``store`` is a file.
    """
    if store.exists() and not store.is_dir():
        raise ConfigError(f"{who}: store={str(store)!r} is a file; choose a directory path")
    held = epoch_files(store)
    if held and not overwrite:
        whole = len(stored_epochs(store))
        fixes = ["pass overwrite=True to delete them and start afresh"]
        if resumable and whole:
            fixes.append(f"continue that {earlier} with Recorder.resumed({str(store)!r}, {whole})")
        if out is not None and whole:
            fixes.append(f"save it first with lossgap.recover_recorded_run({str(store)!r}, {str(out)!r})")
        fixes.append("choose another store")
        raise RunDirError(f"{who}: store={str(store)!r} holds {len(held)} epoch file{'s' * (len(held) != 1)} of an "
                          f"earlier {earlier}, which the new epochs would mix with; {', '.join(fixes[:-1])}, or "
                          f"{fixes[-1]}")
    return held
