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

from lossgap.data.sequence import SequenceData


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


def _keys(data: SequenceData) -> list[bytes]:
    """One key per sample: its length and the bytes of its valid steps (two samples share a key exactly when they
    have the same length and the same values, bit for bit)."""
    lengths = data.lengths
    return [int(length).to_bytes(8, "little") + data.features[index, :length].tobytes()
            for index, length in enumerate(lengths)]


def input_groups(data: SequenceData) -> np.ndarray:
    """int64 (N,): one group number per sample, shared by the samples whose inputs are identical (numbered in order
    of first appearance, so data without duplicates gets 0..N-1)."""
    numbers: dict[bytes, int] = {}
    return np.array([numbers.setdefault(key, len(numbers)) for key in _keys(data)], dtype=np.int64)


def inputs_shared_with_train(train: SequenceData, other: SequenceData) -> SharedInputs:
    """The samples of ``other`` whose inputs a sample of ``train`` has too, and how many carry one such training
    sample's label (a duplicate with another label contradicts it instead of leaking it)."""
    labels_by_key: dict[bytes, set[int]] = {}
    for key, label in zip(_keys(train), train.labels.tolist()):
        labels_by_key.setdefault(key, set()).add(label)
    ids, same_label = [], 0
    for key, label, sample_id in zip(_keys(other), other.labels.tolist(), other.ids.tolist()):
        labels = labels_by_key.get(key)
        if labels is None:
            continue
        ids.append(sample_id)
        same_label += label in labels
    return SharedInputs(ids=tuple(ids), same_label=same_label, num_samples=other.num_samples)
