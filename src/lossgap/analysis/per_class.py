"""Per-class behaviour of one split: recall, predicted vs. true class distribution, never-predicted classes.

This is the evidence for ``class_imbalance_bias``: accuracy sitting at the frequent classes' share while the
rare classes are never (or rarely) predicted. Pure numpy; epochs in results are 1-based (row 0 = epoch 1).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossgap.plain import to_plain
from lossgap.dynamics import SplitDynamics
from lossgap.errors import ConfigError, DataError



def minority_classes(support, *, relative_share: float = 0.5) -> tuple[int, ...]:
    """Classes that are rare in a split, as a tuple of class indices in ascending order.

    A class with support > 0 is a minority class when its share of the samples is at most ``relative_share``
    times the share it would have if the present classes were balanced (1 / number of present classes).
    With the default 0.5: a 90/5/5 split has minority classes (1, 2); 80/20 and 75/25 have (1,); 70/30 and
    balanced splits have none. Classes with zero support are not in the split and are never listed.
    """
    support = np.asarray(support, dtype=np.float64)
    if relative_share <= 0:
        raise ConfigError(f"relative_share must be > 0, got {relative_share}; use e.g. 0.5")
    present = support > 0
    if not present.any():
        return ()
    share = support / support.sum()
    balanced_share = 1.0 / int(present.sum())
    # At the bound counts: 3:1 between classes (two of four at 0.125) is what a stratified split of such data gives
    # exactly, and it cost a trial's balanced accuracy 0.05-0.06 unnamed. The margin absorbs float rounding.
    rare = present & (share <= relative_share * balanced_share * (1 + 1e-9))
    return tuple(int(cls) for cls in np.flatnonzero(rare))


@dataclass(frozen=True, eq=False)
class PerClass:
    """Per-class figures of one split over epochs. Row e of every (E, ...) array is epoch e + 1.

    Attributes:
        split: name of the split.
        support: int (C,) samples of each class in the split.
        true_share: float (C,) support / N.
        seen_count: int (E,) samples recorded in each epoch (unseen samples are ignored everywhere).
        recall: float (E, C) fraction of a class's seen samples predicted as that class; NaN for a class
            with no seen sample in that epoch (in particular a class absent from the split).
        accuracy: float (E,) fraction of seen samples predicted correctly; NaN in an epoch with none seen.
        balanced_accuracy: float (E,) mean recall over the classes present in that epoch; NaN if none.
        predicted_share: float (E, C) share of the seen samples predicted as each class (rows sum to 1).
        never_predicted: classes with support > 0 that received no prediction at the final epoch.
        minority: minority classes of the split (see :func:`minority_classes`).
        majority_class: the most frequent class (lowest index on ties).
        majority_share: its share, the accuracy of always predicting it (the majority baseline).
    """

    split: str
    support: np.ndarray
    true_share: np.ndarray
    seen_count: np.ndarray
    recall: np.ndarray
    accuracy: np.ndarray
    balanced_accuracy: np.ndarray
    predicted_share: np.ndarray
    never_predicted: tuple[int, ...]
    minority: tuple[int, ...]
    majority_class: int
    majority_share: float

    @property
    def num_epochs(self) -> int:
        """Epochs E."""
        return int(self.accuracy.shape[0])

    def never_predicted_at(self, epoch: int) -> tuple[int, ...]:
        """Classes with support > 0 that received no prediction at 1-based ``epoch``."""
        if not 1 <= epoch <= self.num_epochs:
            raise ConfigError(f"epoch {epoch} is out of range; use 1..{self.num_epochs}")
        unpredicted = (self.predicted_share[epoch - 1] == 0) & (self.support > 0)
        return tuple(int(cls) for cls in np.flatnonzero(unpredicted))

    def epochs_never_predicted(self) -> np.ndarray:
        """int (C,) number of epochs in which each class received no prediction (0 for absent classes)."""
        unpredicted = (self.predicted_share == 0) & (self.seen_count[:, None] > 0) & (self.support[None, :] > 0)
        return unpredicted.sum(axis=0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field, plus ``epochs_never_predicted`` (NaN -> None)."""
        out = {field.name: to_plain(getattr(self, field.name)) for field in dataclasses.fields(self)}
        out["epochs_never_predicted"] = to_plain(self.epochs_never_predicted())
        return out


def per_class(dynamics: SplitDynamics) -> PerClass:
    """Per-class recall, accuracy, balanced accuracy and predicted/true class shares of one split.

    Samples not recorded in an epoch (predicted == -1) are left out of that epoch's figures. Returns a
    :class:`PerClass`; shares and accuracies are fractions in [0, 1].
    """
    num_classes = int(dynamics.num_classes)
    labels = np.asarray(dynamics.labels, dtype=np.int64)
    predicted = np.asarray(dynamics.predicted, dtype=np.int64)
    num_epochs, num_samples = predicted.shape
    out_of_range = (labels.size and (labels.min() < 0 or labels.max() >= num_classes)) or (
        predicted.size and predicted.max() >= num_classes)
    if out_of_range:
        raise DataError(f"{dynamics.split}: labels or predictions outside 0..{num_classes - 1}; "
                        "re-record with the right number of classes")
    seen = predicted >= 0
    correct = (predicted == labels[None, :]) & seen

    support = np.bincount(labels, minlength=num_classes)[:num_classes]
    true_share = support / max(num_samples, 1)
    seen_count = seen.sum(axis=1)

    # Counts per (epoch, class) are one bincount each over (E, N) cell numbers; entries left out go to a
    # spare last cell, which avoids boolean indexing of (E, N) arrays.
    cells = num_epochs * num_classes
    epoch_offset = np.arange(num_epochs)[:, None] * num_classes

    def count_per_epoch_and_class(include: np.ndarray, classes: np.ndarray) -> np.ndarray:
        flat = np.where(include, epoch_offset + classes, cells).ravel()
        return np.bincount(flat, minlength=cells + 1)[:cells].reshape(num_epochs, num_classes)

    seen_per_class = count_per_epoch_and_class(seen, labels[None, :])
    correct_per_class = count_per_epoch_and_class(correct, labels[None, :])
    predictions_per_class = count_per_epoch_and_class(seen, predicted)

    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(seen_per_class > 0, correct_per_class / seen_per_class, np.nan)
        accuracy = np.where(seen_count > 0, correct.sum(axis=1) / seen_count, np.nan)
        predicted_share = np.where(seen_count[:, None] > 0, predictions_per_class / seen_count[:, None], 0.0)
    present = ~np.isnan(recall)
    present_count = present.sum(axis=1)
    balanced_accuracy = np.full(num_epochs, np.nan)
    has_any = present_count > 0
    balanced_accuracy[has_any] = np.nansum(recall[has_any], axis=1) / present_count[has_any]

    if num_epochs and seen_count[-1] > 0:
        never_predicted = tuple(int(cls) for cls in np.flatnonzero((predictions_per_class[-1] == 0) & (support > 0)))
    else:
        never_predicted = ()
    majority_class = int(np.argmax(support)) if num_classes else 0
    return PerClass(
        split=dynamics.split,
        support=support,
        true_share=true_share,
        seen_count=seen_count,
        recall=recall,
        accuracy=accuracy,
        balanced_accuracy=balanced_accuracy,
        predicted_share=predicted_share,
        never_predicted=never_predicted,
        minority=minority_classes(support),
        majority_class=majority_class,
        majority_share=float(true_share[majority_class]) if num_classes else math.nan,
    )


@dataclass(frozen=True)
class ProbabilityShortfall:
    """How much less probability a group of classes' samples give their own class than the other samples do.

    Attributes:
        group_mean: mean probability (0..1) the group's samples give their true class.
        rest_mean: the same for every other sample.
        shortfall: ``rest_mean - group_mean`` (probability; positive when the group is less sure).
        standard_error: standard error of the shortfall (two-sample, unequal variances).
        group_samples: samples of the group recorded at that epoch.
    """

    group_mean: float
    rest_mean: float
    shortfall: float
    standard_error: float
    group_samples: int


def _sample_variance(values: np.ndarray) -> float:
    """Unbiased variance (ddof 1) of probabilities ``values``; for a single value, 0.25, the largest a variable in
    [0, 1] can have: one sample says nothing about the spread (the population variance of 3 rare samples had
    made a shortfall look 1.2x surer than it was, and of 1 sample infinitely sure)."""
    return float(values.var(ddof=1)) if values.size >= 2 else 0.25


def probability_shortfall(dynamics: SplitDynamics, epoch: int, classes) -> ProbabilityShortfall | None:
    """The true-class probability shortfall of ``classes``' samples against the rest at 1-based ``epoch``.

    A graded twin of the recall deficit: on a split with two samples per rare class, recall moves in steps
    of 0.5, while the probability a sample gives its class moves smoothly. Returns None when either group
    has no sample recorded at that epoch.
    """
    if not 1 <= epoch <= dynamics.num_epochs:
        raise ConfigError(f"epoch {epoch} is out of range; use 1..{dynamics.num_epochs}")
    labels = np.asarray(dynamics.labels)
    seen = np.asarray(dynamics.predicted[epoch - 1]) >= 0
    probability = np.exp(np.asarray(dynamics.true_log_prob[epoch - 1], dtype=np.float64))
    in_group = np.isin(labels, list(classes)) & seen & np.isfinite(probability)
    rest = ~np.isin(labels, list(classes)) & seen & np.isfinite(probability)
    if not in_group.any() or not rest.any():
        return None
    group, others = probability[in_group], probability[rest]
    error = math.sqrt(_sample_variance(group) / group.size + _sample_variance(others) / others.size)
    return ProbabilityShortfall(group_mean=float(group.mean()), rest_mean=float(others.mean()),
                                shortfall=float(others.mean() - group.mean()), standard_error=error,
                                group_samples=int(group.size))


def group_lean(dynamics: SplitDynamics, classes, shares) -> np.ndarray | None:
    """Per epoch (E,), the probability the samples of the other classes give ``classes`` together, over those
    classes' summed share: 1 for a model that gives the group its share whatever the input, above 1 for one that
    leans to the group across the board (a fresh network often does), below 1 for one that tells the group apart.
    NaN for an epoch without such samples; None without recorded logits or samples outside the group."""
    if dynamics.logits is None:
        return None
    labels = np.asarray(dynamics.labels)
    group = list(classes)
    outside = ~np.isin(labels, group)
    share = float(np.asarray(shares, dtype=np.float64)[group].sum())
    if not outside.any() or not share > 0:
        return None
    from scipy.special import softmax  # on use: importing lossgap must not pay for scipy

    probability = softmax(np.asarray(dynamics.logits[:, outside, :], dtype=np.float64), axis=2)
    seen = (np.asarray(dynamics.predicted[:, outside]) >= 0) & np.isfinite(probability).all(axis=2)
    in_group = np.where(seen, probability[:, :, group].sum(axis=2), 0.0)
    counts = seen.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, in_group.sum(axis=1) / counts / share, np.nan)


def probability_lift(dynamics: SplitDynamics, classes, shares, *, first_epoch: int = 1) -> float:
    """The largest, over epochs from the 1-based ``first_epoch`` on, mean of ``classes``' samples' true-class
    probability over their class's share, divided by the epoch's :func:`group_lean` where that is above 1.

    ``shares`` (C,) are the class shares the model could learn without any signal (the train split's); a model
    that learned nothing about a class gives its samples about its share (lift 1), one that learned to tell it
    apart gives them more. A model that leans to the group across the board gives the other samples more than the
    share too, and lifts the group's samples by as much without telling them apart: against that lean, the lift is
    1 again (without recorded logits the lean is unknown and taken as 1). Returns NaN when no sample of ``classes``
    was recorded in a counted epoch.
    """
    labels = np.asarray(dynamics.labels)
    in_group = np.isin(labels, list(classes))
    if not in_group.any():
        return math.nan
    share = np.asarray(shares, dtype=np.float64)[labels[in_group]]
    probability = np.exp(np.asarray(dynamics.true_log_prob[:, in_group], dtype=np.float64))
    seen = (np.asarray(dynamics.predicted[:, in_group]) >= 0) & np.isfinite(probability)
    seen[:max(first_epoch, 1) - 1] = False
    counts = seen.sum(axis=1)
    if not counts.any():
        return math.nan
    lean = group_lean(dynamics, classes, shares)
    against = np.ones(counts.size) if lean is None else np.where(np.isfinite(lean), np.maximum(lean, 1.0), 1.0)
    ratio = np.where(seen, probability / share, 0.0).sum(axis=1)
    return float(np.max(ratio[counts > 0] / counts[counts > 0] / against[counts > 0]))
