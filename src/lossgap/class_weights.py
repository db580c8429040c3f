"""Class weights for the loss, shared by the trainer (which weighs by them) and the analysis (which judges the
loss the trainer minimised): one definition, so the two can never disagree."""

from __future__ import annotations

import numpy as np


def balanced_class_weights(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Balanced class weights N / (C' x n_c) over the C' classes present in ``labels`` (0 for absent ones),
    float64 (C,): what ``--class-weights balanced`` weighs the loss by."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    present = counts > 0
    weights = np.zeros(num_classes)
    weights[present] = labels.shape[0] / (present.sum() * counts[present])
    return weights


def run_class_weights(settings: dict | None, labels: np.ndarray, num_classes: int) -> np.ndarray | None:
    """The class weights a run's loss was weighted by, float64 (C,), or None for an unweighted loss.

    ``settings`` is lossgap's training configuration (``"class_weights": "balanced"``: the weights come from the
    train ``labels`` as the trainer computed them) or the settings an own loop described
    (``{"loss": {"class_weights": [...]}}``: taken as given). Weights of another length than ``num_classes``, or
    all equal (the same loss as none), count as None."""
    settings = settings or {}
    if settings.get("class_weights") == "balanced":
        weights = balanced_class_weights(np.asarray(labels, dtype=np.int64), num_classes)
    else:
        described = (settings.get("loss") or {}).get("class_weights")
        if described is None:
            return None
        weights = np.asarray(described, dtype=np.float64).reshape(-1)
    if weights.shape != (num_classes,) or not weighs_classes(weights):
        return None
    return weights


def weighs_classes(weights) -> bool:
    """True when ``weights`` (one per class) are all finite and its positive ones not all equal: all equal weigh the
    loss as none do."""
    weights = np.asarray(weights, dtype=np.float64).reshape(-1)
    positive = weights[weights > 0]
    return bool(np.all(np.isfinite(weights)) and positive.size and np.ptp(positive) > 0)
