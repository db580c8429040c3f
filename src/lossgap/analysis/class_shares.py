"""Do train and val hold the same mix of classes? A chi-square test of homogeneity on the two splits' label counts.

A val split drawn from another mix of classes than train (a fixed val set from another period, a stratification
forgotten) moves val accuracy and its majority baseline without anything being wrong with training: a model trained
on 50/50 and judged on 85/15 can sit below val's majority share while it tells the classes apart as well as the data
allow. The same test on the classes the model *predicts* tells whether it sees val's inputs as it sees train's
(:func:`predicted_mix_shift`). Pure numpy (the chi-square tail from scipy.special, imported on use).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossgap.dynamics import SplitDynamics

#: The shift counts when the class shares differ beyond chance at this level...
SHIFT_P_VALUE = 0.001
#: ...and by at least this total variation distance (half the summed absolute share differences): large splits
#: make tiny differences significant, and labels moved between two classes by 40% label noise shift the shares by
#: about 0.05.
SHIFT_DISTANCE = 0.1


@dataclass(frozen=True)
class ClassShareShift:
    """The two splits' class shares (fractions summing to 1), the total variation distance between them (0-1) and
    the chi-square test's p-value; ``shifted`` when both pass SHIFT_P_VALUE and SHIFT_DISTANCE."""

    train_shares: tuple[float, ...]
    val_shares: tuple[float, ...]
    distance: float
    p_value: float

    @property
    def shifted(self) -> bool:
        return self.p_value < SHIFT_P_VALUE and self.distance >= SHIFT_DISTANCE


def class_share_shift(train_counts, val_counts) -> ClassShareShift | None:
    """The shift between the class counts of train and val (arrays of equal length, one count per class); None
    when either split is empty or fewer than two classes occur in the two together."""
    train = np.asarray(train_counts, dtype=np.float64)
    val = np.asarray(val_counts, dtype=np.float64)
    if train.shape != val.shape or train.sum() <= 0 or val.sum() <= 0:
        return None
    present = (train + val) > 0
    if present.sum() < 2:
        return None
    table = np.stack([train[present], val[present]])
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    from scipy.special import chdtrc  # on use: importing lossgap must not load scipy

    p_value = float(chdtrc(present.sum() - 1, statistic))
    train_shares, val_shares = train / train.sum(), val / val.sum()
    distance = float(np.abs(train_shares - val_shares).sum() / 2)
    return ClassShareShift(tuple(float(share) for share in train_shares), tuple(float(share) for share in val_shares),
                           distance, p_value)


#: A model that fits train (its late epochs' pooled train accuracy at least TRAIN_FIT of the way from train's majority
#: share to 1), yet spreads its val predictions over the classes unlike its train predictions and unlike val's labels
#: (total variation PREDICTED_DISTANCE or more from both, over the late epochs pooled; chi-square p of the two splits'
#: predicted counts at most PREDICTED_P_VALUE at the median late epoch), sees val's inputs as unlike anything it
#: trained on. Over the 1,778 runs of the suite's cache and eight trials, only the three built with val prepared or
#: drawn otherwise than train passed (distances 0.40-0.59); a ninth trial (37 runs and 14 twins built to test this
#: check) found 10 more val-preparation bugs at distances 0.26-0.74 that a first cut (train 80% right, distance 0.3,
#: p 1e-4, sureness 0.75) missed, and no look-alike near these thresholds: over all 1,829 runs the closest runs that
#: were not val-preparation bugs (a val drawn from another class mix) reach a distance of 0.17 at p 6e-5; shuffled
#: labels 0.22 at best, with p 1e-7 or more and short of the other conditions; own loops whose weights jump (their
#: train predictions recorded while the weights move) fail the train fit.
TRAIN_FIT, PREDICTED_DISTANCE, PREDICTED_P_VALUE = 0.5, 0.25, 1e-6
#: A model that memorised its training set may answer inputs unlike any it memorised from its output bias, the
#: prior: in the class train holds most of, which shuffled labels can give, with about that class's share of
#: probability. Val predictions piled on that class (the one the model predicts most on train) count only when the model
#: is sure of them beyond that: its median probability for them at least FALLBACK_SURE and at least half-way from the
#: class's share of train predictions to 1 (the val-preparation bugs: 0.73-1.00; a memorising model on shuffled labels
#: putting every val sample in the largest class, at 0.69 on 70/20/10 and at 0.599 on 33/31/30/7, does not count).
#: Piled on another class, which no fallback gives, SURE and a third of the way suffice: a 4-class own loop fed val
#: scaled 3x and moved 2 standard deviations put 80% of val on a class of 26% of train (not its most predicted) at 0.599
#: on session 38's fresh install, and was missed under the one gate.
FALLBACK_SURE, SURE = 0.6, 0.5
#: Runs shorter than this many epochs are not judged (their late half is one or two epochs).
MIN_EPOCHS = 4


@dataclass(frozen=True)
class PredictedMixShift:
    """How the model spreads its predictions over the classes in the late epochs (``first_epoch`` to ``last_epoch``,
    1-based, pooled): on train (``train_shares``), on val (``val_shares``) and val's labels (``val_label_shares``),
    fractions summing to 1; ``distance`` and ``label_distance`` the total variation distances of val's predictions
    from train's and from val's labels (0-1), ``p_value`` the median epoch's chi-square p of train's against val's
    predicted counts, ``train_accuracy`` the late epochs' pooled train accuracy and ``train_majority`` train's
    majority share (fractions); ``over_predicted`` the class val gets most beyond train's share, ``sureness`` the
    median probability the model gives the val samples it puts there (0-1)."""

    train_shares: tuple[float, ...]
    val_shares: tuple[float, ...]
    val_label_shares: tuple[float, ...]
    distance: float
    label_distance: float
    p_value: float
    train_accuracy: float
    train_majority: float
    first_epoch: int
    last_epoch: int
    over_predicted: int
    sureness: float

    @property
    def shifted(self) -> bool:
        fitted = self.train_accuracy >= self.train_majority + TRAIN_FIT * (1.0 - self.train_majority)
        # Sure beyond the prior: a fallback on the output bias gives the class about its train share.
        prior = self.train_shares[self.over_predicted]
        fallback = self.over_predicted == int(np.argmax(self.train_shares))
        sure = (self.sureness >= max(FALLBACK_SURE, prior + (1.0 - prior) / 2) if fallback
                else self.sureness >= max(SURE, prior + (1.0 - prior) / 3))
        return (fitted and sure and self.p_value <= PREDICTED_P_VALUE
                and min(self.distance, self.label_distance) >= PREDICTED_DISTANCE)


def predicted_mix_shift(train: SplitDynamics, val: SplitDynamics) -> PredictedMixShift | None:
    """The mixes of classes the model predicts on train and val over the second half of the epochs; None for runs
    under MIN_EPOCHS epochs or an epoch range where either split was never evaluated."""
    epochs = min(train.num_epochs, val.num_epochs)
    if epochs < MIN_EPOCHS:
        return None
    classes = max(train.num_classes, val.num_classes)
    train_total, val_total, label_total = (np.zeros(classes) for _ in range(3))
    right = seen = 0
    p_values = []
    for epoch in range(epochs // 2, epochs):
        train_seen, val_seen = train.predicted[epoch] >= 0, val.predicted[epoch] >= 0
        train_counts = np.bincount(train.predicted[epoch][train_seen], minlength=classes)
        val_counts = np.bincount(val.predicted[epoch][val_seen], minlength=classes)
        if train_counts.sum() == 0 or val_counts.sum() == 0:
            continue
        train_total += train_counts
        val_total += val_counts
        label_total += np.bincount(val.labels[val_seen], minlength=classes)
        right += int((train.predicted[epoch][train_seen] == train.labels[train_seen]).sum())
        seen += int(train_seen.sum())
        epoch_shift = class_share_shift(train_counts, val_counts)
        # Both splits predicted as one and the same class: nothing differs.
        p_values.append(1.0 if epoch_shift is None else epoch_shift.p_value)
    if not p_values:
        return None
    shares = [total / total.sum() for total in (train_total, val_total, label_total)]
    over = int(np.argmax(shares[1] - shares[0]))
    late = slice(epochs // 2, epochs)
    sure = val.max_prob[late][val.predicted[late] == over].astype(np.float64)
    return PredictedMixShift(*(tuple(float(share) for share in split) for split in shares),
                             distance=float(np.abs(shares[0] - shares[1]).sum() / 2),
                             label_distance=float(np.abs(shares[2] - shares[1]).sum() / 2),
                             p_value=float(np.median(p_values)), train_accuracy=right / seen,
                             train_majority=float(np.bincount(train.labels).max() / train.labels.size),
                             first_epoch=epochs // 2 + 1, last_epoch=epochs, over_predicted=over,
                             sureness=float(np.nanmedian(sure)) if np.isfinite(sure).any() else 0.0)
