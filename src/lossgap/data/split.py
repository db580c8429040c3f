"""Stratified train/validation split by seed, with identical inputs kept on one side."""

from __future__ import annotations

import numpy as np

from lossgap.data.sequence import SequenceData
from lossgap.errors import DataError


def stratified_indices(labels: np.ndarray, val_fraction: float, seed: int,
                       class_names: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the train and validation samples, each sorted ascending.

    Every class keeps its share: round(val_fraction x count) of its samples go to validation, at least one
    and never all of them, so each class appears in both parts.
    """
    labels = np.asarray(labels)
    _check_class_sizes(labels, class_names)
    rng = np.random.default_rng(seed)
    val_parts = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        take = int(np.clip(round(val_fraction * len(members)), 1, len(members) - 1))
        val_parts.append(rng.permutation(members)[:take])
    val = np.sort(np.concatenate(val_parts))
    train = np.setdiff1d(np.arange(len(labels)), val, assume_unique=True)
    return train, val


def _check_class_sizes(labels: np.ndarray, class_names: tuple[str, ...] | None) -> None:
    """DataError naming the first class with fewer than 2 samples (a stratified split needs one on each side)."""
    for cls in np.unique(labels):
        count = int((labels == cls).sum())
        if count < 2:
            raise DataError(
                f"class '{class_names[cls] if class_names else cls}' has only {count} sample; a stratified validation "
                "split needs at least 2 per class: add samples of that class, drop it, or give a fixed validation split"
            )


def grouped_stratified_indices(labels: np.ndarray, groups: np.ndarray, val_fraction: float, seed: int,
                               class_names: tuple[str, ...] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the train and validation samples (each sorted ascending), whole groups at a time.

    Samples of one group (identical inputs) all go to one side: a duplicate on both sides would let val measure
    what the model memorised. A group counts for the class of its first sample. Per class, groups are drawn in a
    seeded order until round(val_fraction x count) samples are in val, never taking the class's last group; a class
    whose samples are all one group stays in train.
    """
    labels, groups = np.asarray(labels), np.asarray(groups)
    _check_class_sizes(labels, class_names)
    rng = np.random.default_rng(seed)
    first = np.unique(groups, return_index=True)[1]  # group g's first sample is first[g] (groups number from 0)
    sizes = np.bincount(groups)
    in_val = np.zeros(len(sizes), dtype=bool)
    for cls in np.unique(labels):
        members = np.flatnonzero(labels[first] == cls)
        target = int(np.clip(round(val_fraction * sizes[members].sum()), 1, max(sizes[members].sum() - 1, 1)))
        taken = 0
        for group in rng.permutation(members)[:max(len(members) - 1, 0)]:
            if taken >= target:
                break
            in_val[group] = True
            taken += sizes[group]
    val = np.flatnonzero(in_val[groups])
    if val.size == 0:
        raise DataError("no validation sample can be held out without a copy of its inputs staying in train (each "
                        "class's samples share one input); give a fixed validation split")
    return np.setdiff1d(np.arange(len(labels)), val, assume_unique=True), val


def stratified_split(data: SequenceData, val_fraction: float, seed: int) -> tuple[SequenceData, SequenceData]:
    """``data`` split into (train, val), the parts named "train" and "val": by :func:`stratified_indices`, or, where
    some samples have identical inputs, by :func:`grouped_stratified_indices` so that no input is on both sides."""
    from lossgap.data.overlap import input_groups

    groups = input_groups(data)
    try:
        if groups.max() + 1 < data.num_samples:
            train, val = grouped_stratified_indices(data.labels, groups, val_fraction, seed, data.class_names)
        else:
            train, val = stratified_indices(data.labels, val_fraction, seed, data.class_names)
    except DataError as error:
        raise DataError(f"{data.name}: {error}") from None
    return data.subset(train, split="train"), data.subset(val, split="val")


def fraction_indices(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Positions (sorted ascending) of a stratified ``fraction`` of the samples, nested across fractions.

    Each class keeps round(fraction x count) of its samples (at least one): the first ones of a permutation
    drawn from ``seed`` alone, so for one seed the 25% subset lies inside the 50% one, which lies inside the
    75% one. ``fraction`` 1 returns every position.
    """
    labels = np.asarray(labels)
    if fraction >= 1.0:
        return np.arange(len(labels))
    # Its own stream (not the validation split's), so the subset does not depend on how val was drawn.
    rng = np.random.default_rng([seed, 0x5EED])
    kept = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        order = rng.permutation(members)
        kept.append(order[:max(1, int(round(fraction * len(members))))])
    return np.sort(np.concatenate(kept))
