"""Do train and val hold the same mix of classes? A chi-square test of homogeneity on the two splits' label counts.

A val split drawn from another mix of classes than train (a fixed val set from another period, a stratification
forgotten) moves val accuracy and its majority baseline without anything being wrong with training: a model trained
on 50/50 and judged on 85/15 can sit below val's majority share while it tells the classes apart as well as the data
allow. Pure numpy (the chi-square tail from scipy.special, imported on use).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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
