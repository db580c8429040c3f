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
