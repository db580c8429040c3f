"""Stratified train/validation split by seed."""

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
    rng = np.random.default_rng(seed)
    val_parts = []
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        if len(members) < 2:
            raise DataError(
                f"class '{class_names[cls] if class_names else cls}' has only {len(members)} sample; a stratified validation split needs at least 2 per "
                "class: add samples of that class, drop it, or give a fixed validation split"
            )
        take = int(np.clip(round(val_fraction * len(members)), 1, len(members) - 1))
        val_parts.append(rng.permutation(members)[:take])
    val = np.sort(np.concatenate(val_parts))
    train = np.setdiff1d(np.arange(len(labels)), val, assume_unique=True)
    return train, val


def stratified_split(data: SequenceData, val_fraction: float, seed: int) -> tuple[SequenceData, SequenceData]:
    """``data`` split into (train, val) by :func:`stratified_indices`; the parts are named "train" and "val"."""
    try:
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
