"""Val labels that contradict what the model learned on train: accuracy far *below* what label-blind predictions get.

A model that learned nothing useful predicts independently of the labels, and its accuracy sits near what such
predictions get: sum over classes of (share of predictions naming class k) x (share of samples of class k).
Significantly below that, the model picks another class than the label consistently: what it learned on train
holds on val with the classes renamed (val coded with another label mapping, classes rotated, labels shifted by
one when joining files). Overfitting, noise or missing signal bring a model down *to* that level, not far below
it. Pure numpy (the binomial tail from scipy.special, imported on use).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossgap.dynamics import SplitDynamics

#: The shortfall counts when its one-sided binomial p-value is below this (the test runs once, on the last epoch;
#: a threshold this strict needs dozens of samples, so a small val split's bad luck does not count)...
CONTRADICTION_P_VALUE = 1e-6
#: ...and the accuracy is at most this share of what label-blind predictions get.
CONTRADICTION_SHARE = 0.5


@dataclass(frozen=True)
class LabelBlindShortfall:
    """Accuracy at ``epoch`` (1-based) against the label-blind expectation (both fractions), the one-sided
    p-value of getting so few right by chance, and the number of samples; ``contradicted`` when both thresholds
    hold."""

    epoch: int
    accuracy: float
    expected: float
    p_value: float
    num_samples: int

    @property
    def contradicted(self) -> bool:
        return self.p_value < CONTRADICTION_P_VALUE and self.accuracy <= CONTRADICTION_SHARE * self.expected


def label_blind_shortfall(split: SplitDynamics, epoch: int | None = None) -> LabelBlindShortfall | None:
    """The shortfall of ``split``'s accuracy at ``epoch`` (1-based; default the last) below label-blind
    predictions; None when no sample was recorded in that epoch."""
    index = split.num_epochs - 1 if epoch is None else epoch - 1
    seen = split.seen[index]
    count = int(seen.sum())
    if count == 0:
        return None
    labels = split.labels[seen].astype(np.int64)
    predicted = split.predicted[index][seen].astype(np.int64)
    classes = split.num_classes
    label_shares = np.bincount(labels, minlength=classes)[:classes] / count
    predicted_shares = np.bincount(predicted, minlength=classes)[:classes] / count
    expected = float(np.dot(label_shares, predicted_shares))
    hits = int((labels == predicted).sum())
    from scipy.special import bdtr  # on use: importing lossgap must not load scipy

    p_value = float(bdtr(hits, count, expected)) if 0 < expected < 1 else 1.0
    return LabelBlindShortfall(index + 1, hits / count, expected, p_value, count)
