"""What label_noise's routes measure on the training records (see :mod:`lossgap.diagnosis.causes.label_noise`).

Pure numpy on the recorded splits: how well the suspects' class-mates are fitted, how decisively the suspects are
contradicted (their AUM while the model fits the rest, and its depth against the rest's), and whether their
confusions run one way between two classes.
"""

from __future__ import annotations

import numpy as np

from lossgap.analysis.samples import masked_mean
from lossgap.analysis.signal import binomial_tail

#: Share of the unflagged samples right from which an epoch counts as one where the model fits the rest (the depth's
#: window, see aum_while_fitted).
WINDOW_FIT = 0.7


def rest_of_class_fit(train, flagged: np.ndarray, index: int) -> float:
    """Accuracy of the unflagged samples of the suspects' classes at epoch ``index``, weighted by suspects."""
    if not flagged.any():
        return 0.0
    correct = train.correct[index]
    total, weight = 0.0, 0
    for cls, count in zip(*np.unique(train.labels[flagged], return_counts=True)):
        mates = (train.labels == cls) & ~flagged & train.seen[index]
        if mates.any():
            total += count * float(correct[mates].mean())
            weight += count
    return total / weight if weight else 0.0


def sign_test(count: int, reverse: int) -> float:
    """One-sided p-value of ``count`` or more of ``count + reverse`` confusions going one way when either way is
    as likely: the binomial tail at 1/2 (1.0 without confusions)."""
    trials = count + reverse
    return float(binomial_tail(count, trials, 0.5)) if trials else 1.0


def one_way_pair(labels: np.ndarray, rivals: np.ndarray,
                  num_classes: int) -> tuple[tuple[int, int] | None, float, float, float]:
    """The most common (given label, rival class) pair among the suspects, its share of them, the ratio of the
    reverse pair's count to its count, and the sign test of the two counts (:func:`sign_test`). A suspect's rival is the class the model predicted most often for
    it over the epochs its AUM counts (:attr:`SampleDynamics.rival_class`), not at one epoch: a model that
    memorises late predicts the wrong label by then."""
    if len(labels) == 0:
        return None, 0.0, 1.0, 1.0
    labels = np.asarray(labels, dtype=np.int64)
    rivals = np.asarray(rivals, dtype=np.int64)
    off = (rivals >= 0) & (rivals != labels)
    if not off.any():
        return None, 0.0, 1.0, 1.0
    codes = labels[off] * num_classes + rivals[off]
    values, counts = np.unique(codes, return_counts=True)
    top = int(np.argmax(counts))
    given, predicted_class = divmod(int(values[top]), num_classes)
    reverse = int(counts[values == predicted_class * num_classes + given].sum())
    return ((given, predicted_class), float(counts[top] / len(labels)), reverse / float(counts[top]),
            sign_test(int(counts[top]), reverse))


def aum_while_fitted(train, samples, flagged: np.ndarray, index: int) -> np.ndarray:
    """Each sample's mean margin (logits) over the epochs of its AUM window in which the model already fitted
    the unflagged samples (at least WINDOW_FIT of them right), up to epoch ``index`` (0-based); its AUM where
    no epoch of the window qualifies. float64 (N,).

    The AUM window starts at the epoch its class began to be fitted, which on two classes is epoch 1 (chance
    is already half-way to the peak): a fresh network's first epochs, before it fits anything, then count as
    much as the rest. On a two-class set with 30% of labels flipped and the val-loss minimum at epoch 8, those
    epochs left the suspects' depth at 0.69 (label noise "considered"), against 0.8-0.9 once the model fitted
    the rest; the flips were 99% of the suspects."""
    aum = np.asarray(samples.aum, dtype=np.float64)
    seen, correct = train.seen[:index + 1], train.correct[:index + 1]
    rest = ~flagged[None, :] & seen
    rest_accuracy = (correct & rest).sum(axis=1) / np.maximum(rest.sum(axis=1), 1)
    fitted = np.flatnonzero(rest_accuracy >= WINDOW_FIT)
    if fitted.size == 0:
        return aum
    epochs = np.arange(index + 1)[:, None]
    class_start = np.asarray(samples.class_start_epoch, dtype=np.int64) - 1      # 0-based, per class
    counted = seen & (epochs >= fitted[0]) & (epochs >= class_start[np.asarray(train.labels)][None, :])
    margin = np.asarray(train.margin[:index + 1], dtype=np.float32)
    counted &= np.isfinite(margin)
    count = counted.sum(axis=0)
    return np.where(count > 0, masked_mean(margin, counted, count), aum)


def contradiction_depth(aum: np.ndarray, flagged: np.ndarray) -> float:
    """-median AUM of the suspects / median AUM of the rest: 1 = as sure against them as for the rest."""
    rest = aum[~flagged & np.isfinite(aum)]
    mine = aum[flagged & np.isfinite(aum)]
    if mine.size == 0 or rest.size == 0 or np.median(rest) <= 0:
        return 0.0
    return float(min(2.0, -np.median(mine) / np.median(rest)))
