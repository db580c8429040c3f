"""One split's figures for one epoch, computed from exactly the samples a Recorder recorded in it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EpochSummary:
    """One split's figures for one epoch, computed from exactly the recorded samples.

    ``loss`` is the mean cross-entropy over samples (nats); accuracies are fractions in [0, 1].
    """

    split: str
    loss: float
    accuracy: float
    balanced_accuracy: float
    num_samples: int


def summarise_epoch(split: str, labels: np.ndarray, values: np.ndarray) -> EpochSummary:
    """The EpochSummary of ``split`` from its samples' ``labels`` (int, N) and recorded ``values`` (N, 4: true-class
    log-probability, predicted class, max probability, margin): mean loss in nats, accuracy and balanced accuracy (mean per-class
    recall over the classes present) as fractions."""
    correct = values[:, 1].astype(np.int64) == labels
    recalls = [correct[labels == cls].mean() for cls in np.unique(labels)]
    return EpochSummary(
        split=split,
        loss=float(0.0 - values[:, 0].astype(np.float64).mean()),  # never -0.0 (see SplitDynamics.loss)
        accuracy=float(correct.mean()),
        balanced_accuracy=float(np.mean(recalls)),
        num_samples=int(labels.shape[0]),
    )
