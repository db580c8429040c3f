"""Samples of one split whose inputs are exact copies of a training sample's: a duplicate row that lands on both
sides of a split lets val (or test) measure memory instead of generalisation.

A trial's data file held 60 val samples copied from train on random labels: val accuracy 0.79 read as a model that
learned something (overfitting 1.00), while on the 60 other val samples it was at chance. Ids cannot show this
(each split numbers its rows), so the inputs themselves are compared, bit for bit over each sequence's valid steps.
The validation split lossgap carves keeps each group of identical inputs on one side
(:func:`lossgap.data.split.stratified_split`); a split the data bring is reported, not changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossgap.data.sequence import DatasetSplits, SequenceData


@dataclass(frozen=True)
class SharedInputs:
    """The samples of a split whose inputs equal some training sample's exactly.

    Attributes:
        ids: the ids (in that split) of the samples whose inputs a training sample has too.
        same_label: how many of them carry the label of a training sample with those inputs.
        num_samples: the split's size.
    """

    ids: tuple
    same_label: int
    num_samples: int

    @property
    def count(self) -> int:
        """Samples of the split whose inputs a training sample has too."""
        return len(self.ids)

    def to_dict(self, *, with_ids: bool) -> dict:
        """The JSON form config.json keeps: count, same_label and, when asked, the ids."""
        out = {"count": self.count, "same_label": self.same_label}
        if with_ids:
            out["ids"] = list(self.ids)
        return out


def _keys(data: SequenceData, steps: int | None = None) -> np.ndarray:
    """One key per sample, (N,) of numpy void: its length and the bytes of its steps padded to ``steps`` (default:
    its own padded length). Padding is zero by construction (:class:`SequenceData`), so two samples share a key
    exactly when they have the same length and the same values over their valid steps, bit for bit. Vectorised: a
    million samples cost a sort, not a Python loop."""
    count = data.num_samples
    padded = data.features
    if steps is not None and steps > data.max_length:
        padded = np.zeros((count, steps, data.num_features), dtype=data.features.dtype)
        padded[:, :data.max_length] = data.features
    features = np.ascontiguousarray(padded).reshape(count, -1).view(np.uint8)
    rows = np.empty((count, 8 + features.shape[1]), dtype=np.uint8)
    rows[:, :8] = data.lengths.astype("<i8").reshape(count, 1).view(np.uint8)
    rows[:, 8:] = features
    return rows.view(np.dtype((np.void, rows.shape[1]))).ravel()


def _numbered(keys: np.ndarray) -> np.ndarray:
    """int64 (N,): one number per distinct key, in order of first appearance."""
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    return rank[inverse.reshape(-1)]


def input_groups(data: SequenceData) -> np.ndarray:
    """int64 (N,): one group number per sample, shared by the samples whose inputs are identical (numbered in order
    of first appearance, so data without duplicates gets 0..N-1)."""
    return _numbered(_keys(data))


def _shared(train_numbers: np.ndarray, train: SequenceData, other_numbers: np.ndarray,
            other: SequenceData) -> SharedInputs:
    """The samples of ``other`` whose input numbers (from one numbering of both splits) a training sample has too."""
    shared = np.isin(other_numbers, train_numbers)
    classes = max(train.num_classes, other.num_classes)
    same = np.isin(other_numbers[shared] * classes + other.labels[shared], train_numbers * classes + train.labels)
    return SharedInputs(ids=tuple(other.ids[shared].tolist()), same_label=int(same.sum()),
                        num_samples=other.num_samples)


def _repeats(numbers: np.ndarray) -> tuple[int, int]:
    """(samples whose input number another sample of the same split has too, distinct input numbers)."""
    _, counts = np.unique(numbers, return_counts=True)
    return int(counts[counts > 1].sum()), int(counts.size)


def inputs_shared_with_train(train: SequenceData, other: SequenceData) -> SharedInputs:
    """The samples of ``other`` whose inputs a sample of ``train`` has too, and how many carry one such training
    sample's label (a duplicate with another label contradicts it instead of leaking it)."""
    if train.num_features != other.num_features:
        return SharedInputs(ids=(), same_label=0, num_samples=other.num_samples)
    steps = max(train.max_length, other.max_length)
    numbers = _numbered(np.concatenate([_keys(train, steps), _keys(other, steps)]))
    return _shared(numbers[:train.num_samples], train, numbers[train.num_samples:], other)


def shared_inputs_report(splits: DatasetSplits) -> dict:
    """What config.json keeps as ``data.shared_inputs``, from one numbering of every split's inputs (one sort): for
    train, how many of its samples share their inputs with another training sample (``count``) among how many
    distinct inputs (``distinct``); per other split, its samples that copy a training sample's inputs (``count``,
    ``same_label``, and for val the ``ids``, which the diagnosis measures val accuracy without) and how many repeat
    another sample of the same split (``repeated``) among how many distinct inputs (``distinct``)."""
    parts = splits.splits()
    steps = max(part.max_length for part in parts.values())
    numbers = _numbered(np.concatenate([_keys(part, steps) for part in parts.values()]))
    ends = np.cumsum([part.num_samples for part in parts.values()])
    numbered = dict(zip(parts, np.split(numbers, ends[:-1])))
    repeated, distinct = _repeats(numbered["train"])
    report = {"train": {"count": repeated, "distinct": distinct}}
    for name, part in parts.items():
        if name != "train":
            repeated, distinct = _repeats(numbered[name])
            shared = _shared(numbered["train"], splits.train, numbered[name], part)
            report[name] = {**shared.to_dict(with_ids=name == "val"), "repeated": repeated, "distinct": distinct}
    return report
