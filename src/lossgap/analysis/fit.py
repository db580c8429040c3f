"""How well a model fit its own training labels, measured against predicting the class prior.

These are the preconditions the causes need: a model that never moved away from the prior on
its training set cannot say whether the labels carry signal; a model whose training loss sits *above* the
prior's entropy does worse on the data it is trained on than a constant guess, which a working optimiser
never does; a model that is more accurate on held-out data than on its own training labels is being
trained on labels that are wrong more often than the held-out ones.

Losses are mean cross-entropy in nats; accuracies are fractions; epochs are 1-based.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossgap.analysis.smoothing import as_curve
from lossgap.plain import dataclass_to_plain
from lossgap.class_weights import balanced_class_weights
from lossgap.dynamics import SplitDynamics

#: The train loss must fall at least this share of the prior's entropy below it to count as having moved...
MOVED_MIN_SHARE = 0.02
#: ... and the paired per-sample test, or the sign test of how many samples sit below their prior loss, must
#: put it this many standard errors below. The paired mean alone has little power where the gain is
#: concentrated on a few samples: on 75 + 4 imbalanced samples all fitted, the 4 rare ones carry most of it.
MOVED_Z = 3.0
#: A train loss above a constant guess's by more than this share of log C (the uniform guess's loss, where a
#: fresh network starts) counts as "worse than a constant guess". Measured against log C, not against the
#: guess itself: on 95/5 data the class shares' loss is 0.2 nats, 5% of which (0.01) is what a model still
#: sorting out its 4 rare samples moves by (GunPoint at 75 + 4 read "worse than a constant guess" at 0.017 nats
#: above it, in 3 early epochs). On balanced data both are the same.
ABOVE_PRIOR_MARGIN = 0.05
#: Losses above this multiple of the prior's entropy count as this multiple in the reversal.
REVERSAL_CAP = 3.0


@dataclass(frozen=True)
class FitSummary:
    """The training split's fit, against the prior and against the val split.

    Attributes:
        train_recorded: whether any train loss was recorded; without one the fit cannot be judged, and
            train_moved is True (the precondition is not checked, rather than failed).
        prior_entropy: cross-entropy of predicting the training class shares for every training sample (nats);
            what a model that learned nothing reaches.
        train_loss_min: lowest per-epoch train loss (nats), at train_loss_min_epoch.
        train_loss_min_epoch: 1-based epoch of train_loss_min.
        moved_share: (prior_entropy - train_loss_min) / prior_entropy: how far below the prior the model got
            on its own training data (1 = fitted perfectly, 0 = learned nothing, negative = never below).
        moved_z: paired z of the per-sample train loss against the prior's loss at train_loss_min_epoch
            (negative = below the prior); NaN without per-sample train records.
        moved_sign_z: sign-test z at the same epoch: (samples below their prior loss - n/2) / sqrt(n/4), negated
            so that negative = below the prior; NaN without per-sample train records.
        below_prior_in_every_class: more than half of every class's samples are below their prior loss there.
        train_moved: moved_share >= MOVED_MIN_SHARE, and moved_z <= -MOVED_Z or (moved_sign_z <= -MOVED_Z and
            below_prior_in_every_class): the model learned something on its training data (whether or not it
            generalises).
        above_prior_share: share of epochs after the first whose train loss exceeds a constant guess's loss by
            more than ABOVE_PRIOR_MARGIN x log C nats: the model did worse on its own training data than a
            constant guess.
            The guess is the uniform one (log C nats, where a fresh network starts) until the train loss has
            once been below the prior's entropy, and the class shares from then on: on imbalanced data a
            network needs a few epochs to learn the shares, and that is no fault.
        above_prior_excess: median relative excess over the prior in those epochs (0 when there are none).
        reversal: how much the train loss climbed and then gave back again from epoch 2 on, in units of the
            prior's entropy: min(total rise, total fall) over the epoch-to-epoch steps, each epoch's loss capped
            at REVERSAL_CAP x the prior's entropy so one blow-up does not dominate. A loss that descends, or one
            that rises steadily (weight decay pulling the weights back), scores about 0; one that bounces up and
            down scores its bounce.
        shares_learned_epoch: first 1-based epoch whose train loss lies within ABOVE_PRIOR_MARGIN x log C nats of the
            prior's entropy, or below it: from there on the model has at least learned the class shares, so what it
            gives a class is no longer the lean of its initialisation; 0 when no epoch did.
        train_accuracy_max: best per-epoch train accuracy.
        train_baseline: share of the most frequent training class (accuracy of always predicting it).
        judged_epoch: 1-based epoch the figures below are read at.
        train_accuracy: train accuracy at judged_epoch.
        val_accuracy: val accuracy at judged_epoch.
        val_minus_train: val_accuracy - train_accuracy (positive = the model agrees more with the val labels
            than with the labels it is trained on).
        val_minus_train_noise: standard error of that difference (binomial, both splits, adjusted: see
            _difference_noise).
    """

    train_recorded: bool
    prior_entropy: float
    train_loss_min: float
    train_loss_min_epoch: int
    moved_share: float
    moved_z: float
    moved_sign_z: float
    below_prior_in_every_class: bool
    train_moved: bool
    above_prior_share: float
    above_prior_excess: float
    reversal: float
    shares_learned_epoch: int
    train_accuracy_max: float
    train_baseline: float
    judged_epoch: int
    train_accuracy: float
    val_accuracy: float
    val_minus_train: float
    val_minus_train_noise: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (NaN -> None)."""
        return dataclass_to_plain(self)


def outputs_unchanged(split: SplitDynamics, *, min_epochs: int = 3) -> bool:
    """True when ``split``'s recorded outputs (each sample's true-class log-probability, over the samples recorded in
    every epoch) are the same in all of at least ``min_epochs`` epochs, within float32 rounding: the evaluated
    model never changed. False with fewer epochs or no sample recorded throughout."""
    if split.num_epochs < min_epochs:
        return False
    throughout = split.seen.all(axis=0)
    if not throughout.any():
        return False
    values = np.asarray(split.true_log_prob[:, throughout], dtype=np.float64)
    # Bit-identical where the batches are the same; rounding apart where a batch's size picks another kernel.
    return bool(np.isfinite(values).all() and np.allclose(values, values[0], rtol=1e-6, atol=1e-7))


def prior_of(class_counts) -> np.ndarray:
    """Class shares from per-class counts (C,), with half a count added to each so that a class absent from
    the counts keeps a finite loss; float64 (C,) summing to 1."""
    counts = np.asarray(class_counts, dtype=np.float64) + 0.5
    return counts / counts.sum()


def fit_summary(train_loss, train_accuracy, val_accuracy, *, train: SplitDynamics | None, val: SplitDynamics,
                judged_epoch: int, class_weights=None) -> FitSummary:
    """The :class:`FitSummary` of a run from its per-epoch curves and per-sample records.

    ``train_loss``, ``train_accuracy`` and ``val_accuracy`` are per-epoch (E,); ``train`` the per-sample train
    records (None when the train split was not recorded: the prior then comes from val and the paired test
    is NaN); ``judged_epoch`` the 1-based epoch to read accuracies at (usually the best epoch).

    ``class_weights`` (C,), with ``train`` recorded: the fit of the class-weighted loss the optimiser minimised
    instead (pass that loss as ``train_loss``, :func:`weighted_epoch_loss`; the constant guess is the one it
    prefers, shares proportional to weight x count: uniform for balanced weights; the paired test weighs each
    sample's difference by its class weight).
    """
    losses = as_curve(train_loss)
    train_acc = as_curve(train_accuracy)
    val_acc = as_curve(val_accuracy)
    reference = train if train is not None else val
    counts = np.bincount(reference.labels, minlength=reference.num_classes)
    sample_weights = None
    if class_weights is not None and train is not None:
        weights = np.asarray(class_weights, dtype=np.float64)
        sample_weights = weights[train.labels] / weights[train.labels].mean()
        counts = counts * weights
    prior = prior_of(counts)
    prior_loss = -np.log(prior[reference.labels])
    entropy = float(np.average(prior_loss, weights=sample_weights))
    finite = np.isfinite(losses)
    min_index = int(np.nanargmin(np.where(finite, losses, np.inf))) if finite.any() else 0
    loss_min = float(losses[min_index]) if finite.any() else math.nan
    moved_share = (entropy - loss_min) / entropy if entropy > 0 and math.isfinite(loss_min) else math.nan
    if train is not None:
        difference, labels = _differences(train, min_index, prior_loss, sample_weights)
        moved_z, (sign_z, every_class) = _paired_z(difference), _sign_z(difference, labels)
    else:
        moved_z, sign_z, every_class = math.nan, math.nan, False
    if math.isnan(moved_z):
        z_ok = True  # no per-sample records to test with: the precondition is not checked, rather than failed
    else:
        z_ok = moved_z <= -MOVED_Z or (sign_z <= -MOVED_Z and every_class)
    uniform = float(np.log(reference.num_classes))
    excess, excess_nats = _excess_over_guess(losses, entropy, uniform)
    above = _above_guess(excess_nats, uniform)
    index = min(max(judged_epoch, 1), losses.size) - 1
    train_now, val_now = float(train_acc[index]), float(val_acc[index])
    train_n = reference.num_samples if train is not None else 0
    val_n = val.num_samples
    noise = _difference_noise(train_now, train_n, val_now, val_n)
    return FitSummary(
        train_recorded=bool(finite.any()),
        prior_entropy=entropy,
        train_loss_min=loss_min,
        train_loss_min_epoch=min_index + 1,
        moved_share=float(moved_share),
        moved_z=float(moved_z),
        moved_sign_z=float(sign_z),
        below_prior_in_every_class=every_class,
        train_moved=bool(not finite.any() or (math.isfinite(moved_share) and moved_share >= MOVED_MIN_SHARE and z_ok)),
        above_prior_share=float(above.mean()) if above.size else 0.0,
        above_prior_excess=float(np.median(excess[above])) if above.any() else 0.0,
        reversal=loss_reversal(losses, entropy),
        shares_learned_epoch=_first_near_guess(losses, entropy, uniform),
        train_accuracy_max=float(np.nanmax(train_acc)) if np.isfinite(train_acc).any() else math.nan,
        train_baseline=float(prior.max()),
        judged_epoch=index + 1,
        train_accuracy=train_now,
        val_accuracy=val_now,
        val_minus_train=val_now - train_now,
        val_minus_train_noise=noise,
    )


def _difference_noise(train_accuracy: float, train_n: int, val_accuracy: float, val_n: int) -> float:
    """Standard error of val minus train accuracy: sqrt(sum p(1 - p)/n) over the splits, each p taken as
    (right + 1) / (n + 2) (the Agresti-Caffo adjustment). The plain share says a split that got all its samples right
    has no spread: 12 val samples all right beside train at 0.854 had read as val siding with the model beyond its
    noise, where a model right on 85% of inputs gets 12 of 12 one time in seven. A split without samples or a finite
    accuracy counts no term."""
    total = 0.0
    for accuracy, n in ((train_accuracy, train_n), (val_accuracy, val_n)):
        if n and math.isfinite(accuracy):
            adjusted = (accuracy * n + 1) / (n + 2)
            total += adjusted * (1 - adjusted) / n
    return math.sqrt(total)


def above_guess_share(losses, entropy: float, num_classes: int) -> float:
    """Share of the epochs after the first whose loss lies more than ABOVE_PRIOR_MARGIN x log C nats above a constant
    guess's (see :attr:`FitSummary.above_prior_share`), for any per-epoch loss curve (E,) of a split whose prior's
    entropy is ``entropy``: 0 without such epochs."""
    uniform = float(np.log(max(num_classes, 2)))
    _, excess_nats = _excess_over_guess(as_curve(losses), entropy, uniform)
    above = _above_guess(excess_nats, uniform)
    return float(above.mean()) if above.size else 0.0


def _first_near_guess(losses: np.ndarray, entropy: float, uniform: float) -> int:
    """1-based first epoch whose loss is at most ``entropy`` + ABOVE_PRIOR_MARGIN x ``uniform`` nats; 0 if none."""
    near = np.flatnonzero(np.isfinite(losses) & (losses <= entropy + ABOVE_PRIOR_MARGIN * uniform))
    return int(near[0]) + 1 if near.size else 0


def _above_guess(excess_nats: np.ndarray, uniform: float) -> np.ndarray:
    """Which epochs' excess over the guess (nats) is beyond the margin."""
    return excess_nats > ABOVE_PRIOR_MARGIN * uniform


def _excess_over_guess(losses: np.ndarray, entropy: float, uniform: float) -> tuple[np.ndarray, np.ndarray]:
    """(relative excess, excess in nats) of each epoch's train loss (from the second on) over a constant
    guess's loss: the uniform guess until the loss has once been below the prior's entropy, the class shares
    from then on. An epoch of a first descent from above the guess counts as no excess: a new lowest loss of a
    run that has not yet been below the guess is a slow start (a network of one unit starts well above log C
    and comes down in every epoch), not a model doing worse than it did; the epochs in which the loss rises
    back, or lies above a guess it was once below, count."""
    if not entropy > 0:
        return np.zeros(0), np.zeros(0)
    finite = np.where(np.isfinite(losses), losses, np.inf)
    reached = np.minimum.accumulate(finite) <= entropy
    guess = np.where(reached, entropy, max(entropy, uniform))
    excess = losses / guess - 1.0
    excess_nats = losses - guess
    previous_low = np.concatenate([[np.inf], np.minimum.accumulate(finite)[:-1]])
    first_descent = (finite < previous_low) & (previous_low > guess)
    excess = np.where(first_descent, 0.0, excess)
    excess_nats = np.where(first_descent, 0.0, excess_nats)
    keep = np.isfinite(excess[1:])
    return excess[1:][keep], excess_nats[1:][keep]


def loss_reversal(losses, entropy: float, window: int | None = None) -> float:
    """min(total rise, total fall) of the per-epoch ``losses`` from epoch 2 on, in units of ``entropy`` (the
    prior's), each epoch's loss capped at REVERSAL_CAP of it (see FitSummary.reversal). With ``window``, the largest
    such figure over any ``window`` consecutive epoch-to-epoch steps (all of them in a shorter run): a total over the
    whole run grows with its length, as epoch-to-epoch noise adds up, where a window's does not."""
    steps = reversal_steps(losses, entropy)
    if not steps.size:
        return 0.0
    span = steps.size if window is None else max(1, min(int(window), steps.size))
    rises = np.concatenate([[0.0], np.cumsum(np.where(steps > 0, steps, 0.0))])
    falls = np.concatenate([[0.0], np.cumsum(np.where(steps < 0, -steps, 0.0))])
    return float(np.max(np.minimum(rises[span:] - rises[:-span], falls[span:] - falls[:-span])))


def reversal_steps(losses, entropy: float) -> np.ndarray:
    """The epoch-to-epoch steps :func:`loss_reversal` sums: float64 (S,), the change of each recorded epoch's loss from
    epoch 2 on, in units of ``entropy``, each loss capped at REVERSAL_CAP of it; none without a positive entropy."""
    if not entropy > 0:
        return np.zeros(0)
    losses = np.asarray(losses, dtype=np.float64)
    scaled = np.minimum(losses[1:], REVERSAL_CAP * entropy) / entropy
    return np.diff(scaled[np.isfinite(scaled)])


def _differences(train: SplitDynamics, index: int, prior_loss: np.ndarray,
                 sample_weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(loss - prior loss, label) of every sample recorded at epoch ``index`` (0-based), each difference times
    its sample's weight when given (weights of mean 1, so the mean difference is the weighted loss's)."""
    seen = train.seen[index]
    difference = train.loss[index] - prior_loss
    if sample_weights is not None:
        difference = difference * sample_weights
    return difference[seen], train.labels[seen]


def weighted_epoch_loss(split: SplitDynamics, class_weights: np.ndarray) -> np.ndarray:
    """Per-epoch class-weighted mean loss over the samples seen (nats, float64 (E,); NaN for an epoch that saw
    none): sum of w_y x loss over sum of w_y, what ``nn.CrossEntropyLoss(weight=...)`` averages."""
    weights = np.asarray(class_weights, dtype=np.float64)[split.labels][None, :] * split.seen
    losses = np.where(split.seen, split.loss, 0.0)
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (weights * losses).sum(axis=1) / total, np.nan)


def _sign_z(difference: np.ndarray, labels: np.ndarray) -> tuple[float, bool]:
    """(sign-test z of the samples whose ``difference`` (loss - prior loss) is below 0, negative = more below
    than above, NaN with < 2 samples; whether more than half of every class's samples are below).

    The per-class condition keeps the pooled count from being the majority class's alone: a model that only
    grew surer of the majority puts most samples below their prior loss, yet learned nothing of the others."""
    if difference.size < 2:
        return math.nan, False
    below = difference < 0
    every_class = all(below[labels == label].mean() > 0.5 for label in np.unique(labels))
    return -(int(below.sum()) - difference.size / 2) / math.sqrt(difference.size / 4), bool(every_class)


def _paired_z(difference: np.ndarray) -> float:
    """z of the mean of ``difference`` (per-sample loss - prior loss); NaN with < 2 samples."""
    if difference.size < 2:
        return math.nan
    spread = float(difference.std(ddof=1))
    mean = float(difference.mean())
    if spread == 0:
        return -math.inf if mean < 0 else (math.inf if mean > 0 else 0.0)
    return mean / (spread / math.sqrt(difference.size))


@dataclass(frozen=True, eq=False)
class Objective:
    """What the optimiser minimised, where that is not the plain train loss (``--class-weights balanced``): the
    class-weighted train loss per epoch (``name`` says so; nats), balanced train accuracy per epoch, and the
    fit of that loss against the constant guess it prefers (uniform). Weighting moves the decision boundary
    toward the rare classes, so the plain loss may rise and fall while the weighted one descends smoothly."""

    name: str
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    fit: FitSummary


def weighted_objective(train: SplitDynamics | None, val: SplitDynamics, judged_epoch: int,
                       class_weights: np.ndarray | None = None) -> Objective | None:
    """The :class:`Objective` of a run whose loss was weighted by ``class_weights`` (C,) (default: balanced
    weights from the train labels, as ``--class-weights balanced`` sets them); None without train records."""
    if train is None or train.num_epochs == 0:
        return None
    weights = (balanced_class_weights(train.labels, train.num_classes) if class_weights is None
               else np.asarray(class_weights, dtype=np.float64))
    loss, accuracy = weighted_epoch_loss(train, weights), train.epoch_balanced_accuracy()
    fit = fit_summary(loss, accuracy, val.epoch_balanced_accuracy(), train=train, val=val,
                      judged_epoch=judged_epoch, class_weights=weights)
    return Objective(name="class-weighted train loss", train_loss=loss, train_accuracy=accuracy, fit=fit)
