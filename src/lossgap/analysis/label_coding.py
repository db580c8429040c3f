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


#: Val counts as the training set again when at least this many of its samples ...
SAME_SPLIT_MIN_SAMPLES = 20
#: ... and this share of them carry a training sample's id, with that sample's label on all but this share ...
SAME_SPLIT_SHARE, SAME_SPLIT_LABEL_MISMATCH = 0.9, 0.01
#: ... and their losses at the last epoch correlate with those training samples' at least this well: splits that
#: each number their samples from 0, sorted by class, can share ids and labels without sharing a sample, but the
#: model's losses on different samples do not move together.
SAME_SPLIT_CORRELATION = 0.8


@dataclass(frozen=True)
class SharedSamples:
    """How many val samples carry a training sample's id (``shared``, of ``num_val``), how many of those carry that
    training sample's label too (``same_label``), and the Pearson correlation of their losses at the last epoch
    with those training samples' (``loss_correlation``, NaN with fewer than 3 such samples or no spread);
    ``same_split`` when val looks like the training set again."""

    num_val: int
    shared: int
    same_label: int
    loss_correlation: float

    @property
    def same_split(self) -> bool:
        return (self.shared >= SAME_SPLIT_MIN_SAMPLES and self.shared >= SAME_SPLIT_SHARE * self.num_val
                and self.same_label >= (1 - SAME_SPLIT_LABEL_MISMATCH) * self.shared
                and self.loss_correlation >= SAME_SPLIT_CORRELATION)


def shared_samples(train: SplitDynamics, val: SplitDynamics) -> SharedSamples:
    """The val samples whose ids are training ids too, whether their labels agree, and how their losses move
    together. Ids alone say little (an own loop may number each split from 0); the same ids with the same labels on
    nearly every one and losses that rise and fall together sample by sample say val is the training set again (the
    article's flaw: it evaluates on the data it trained on)."""
    train_ids = np.asarray(train.sample_ids)
    order = np.argsort(train_ids, kind="stable")
    sorted_ids = train_ids[order]
    val_ids = np.asarray(val.sample_ids)
    position = np.clip(np.searchsorted(sorted_ids, val_ids), 0, max(len(sorted_ids) - 1, 0))
    found = sorted_ids[position] == val_ids if len(sorted_ids) else np.zeros(len(val_ids), dtype=bool)
    train_labels = np.asarray(train.labels)[order][position]
    same = found & (train_labels == np.asarray(val.labels))
    train_loss = np.asarray(train.true_log_prob[-1], dtype=np.float64)[order][position][same]
    val_loss = np.asarray(val.true_log_prob[-1], dtype=np.float64)[same]
    finite = np.isfinite(train_loss) & np.isfinite(val_loss)
    correlation = float("nan")
    if finite.sum() >= 3 and np.std(train_loss[finite]) > 0 and np.std(val_loss[finite]) > 0:
        correlation = float(np.corrcoef(train_loss[finite], val_loss[finite])[0, 1])
    return SharedSamples(len(val_ids), int(found.sum()), int(same.sum()), correlation)
