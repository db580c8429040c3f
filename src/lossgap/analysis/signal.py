"""Is there any signal? Validation accuracy against the majority-class baseline, and loss against the prior.

The ``no_signal`` cause: validation accuracy not significantly above always predicting the majority
class, and a val loss no better than predicting the class prior (the article's synthetic data has random
labels). Accuracies are fractions, losses are nats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossgap.plain import dataclass_to_plain
from lossgap.analysis.fit import prior_of
from lossgap.dynamics import MISSING_PREDICTION, SplitDynamics
from lossgap.errors import ConfigError, DataError

#: The val loss must be below the prior entropy by this fraction of it to count as "below the prior".
PRIOR_MARGIN = 0.01
#: Confidence level of the reported accuracy interval.
CONFIDENCE_LEVEL = 0.95
#: The signal test over epochs looks twice (the last epoch and the best one) and so multiplies the smaller
#: p-value by 2 (see any_epoch_p_value).
SIGNAL_TESTS = 2


# The tail functions come from scipy.special, not scipy.stats: importing scipy.stats costs ~0.6 s of the ~1 s a
# user waits for `lossgap diagnose`, and these tests need only three of its ufuncs (the same ones scipy.stats'
# binom and norm call). tests/analysis/test_signal.py holds them equal to scipy.stats.
def binomial_tail(successes, trials, probability):
    """P(X >= successes) for X ~ Binomial(trials, probability), elementwise: scipy.stats.binom.sf(successes - 1,
    ...). 1.0 where successes <= 0."""
    from scipy.special import bdtrc  # on use: importing lossgap must not load scipy
    return bdtrc(np.asarray(successes) - 1, trials, probability)


def normal_upper_tail(z):
    """P(Z > z) for a standard normal Z: scipy.stats.norm.sf(z)."""
    from scipy.special import ndtr  # on use: importing lossgap must not load scipy
    return ndtr(-np.asarray(z, dtype=np.float64))


def normal_upper_quantile(probability: float) -> float:
    """The z with P(Z > z) = probability for a standard normal Z: scipy.stats.norm.isf(probability)."""
    from scipy.special import ndtri  # on use: importing lossgap must not load scipy
    return float(-ndtri(probability))


def wilson_interval(successes: int, trials: int, confidence_level: float = CONFIDENCE_LEVEL) -> tuple[float, float]:
    """Two-sided Wilson score interval (Newcombe 1998, without continuity correction) of the fraction
    successes / trials, as (low, high): what scipy.stats.binomtest(...).proportion_ci(method="wilson") gives."""
    z = normal_upper_quantile(0.5 - 0.5 * confidence_level)
    share = successes / trials
    denominator = 2 * (trials + z ** 2)
    center = (2 * trials * share + z ** 2) / denominator
    half_width = z / denominator * math.sqrt(4 * trials * share * (1 - share) + z ** 2)
    low = 0.0 if successes == 0 else center - half_width
    high = 1.0 if successes == trials else center + half_width
    return float(low), float(high)


@dataclass(frozen=True)
class SignalTest:
    """Validation accuracy tested against the majority-class baseline, and loss against the prior.

    Attributes:
        accuracy: fraction of the (recorded) val samples predicted correctly.
        num_samples: val samples counted (predictions of -1, i.e. unseen, are left out).
        num_correct: of those, how many were right.
        majority_class: most frequent class in the training counts when given, else in val (lowest index on ties);
            the class whose prior the loss is compared with.
        baseline_accuracy: the best accuracy a constant answer reaches on these val samples: the largest val
            class share. A class that is the majority only in train would set the bar too low (an unstratified
            split of random labels can leave it at 0.43 of val, and a model always answering the val majority
            would then "beat" it).
        p_value: one-sided exact binomial test that the accuracy is above the baseline.
        interval: two-sided 95% Wilson interval of the accuracy, (low, high).
        significant: p_value < alpha.
        alpha: the significance level used.
        loss: mean val loss given by the caller (nats), or None.
        prior_entropy: cross-entropy of predicting the class prior for every val sample (nats).
        loss_below_prior: loss < prior_entropy x (1 - PRIOR_MARGIN); None without a loss.
    """

    accuracy: float
    num_samples: int
    num_correct: int
    majority_class: int
    baseline_accuracy: float
    p_value: float
    interval: tuple[float, float]
    significant: bool
    alpha: float
    loss: float | None
    prior_entropy: float
    loss_below_prior: bool | None

    @property
    def lift(self) -> float:
        """accuracy - baseline_accuracy (fraction; positive = better than always predicting the majority)."""
        return self.accuracy - self.baseline_accuracy

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields plus ``lift`` (NaN -> None)."""
        out = dataclass_to_plain(self)
        out["lift"] = self.lift if math.isfinite(self.lift) else None
        return out


@dataclass(frozen=True)
class ControlComparison:
    """A run's accuracy against its permuted-label control on the same split.

    Attributes:
        real_accuracy, control_accuracy: fractions.
        difference: real - control.
        p_value: one-sided Fisher exact test that the real run is more accurate than the control.
        significant: p_value < alpha.
        num_samples: samples each accuracy was measured on.
        alpha: the significance level used.
    """

    real_accuracy: float
    control_accuracy: float
    difference: float
    p_value: float
    significant: bool
    num_samples: int
    alpha: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (NaN -> None)."""
        return dataclass_to_plain(self)


def prior_entropy(val_labels, prior_counts, num_classes: int) -> float:
    """Cross-entropy (nats) of predicting the class prior given by ``prior_counts`` for every val label.

    When a class present in val has no count in the prior, every count gets +1 (Laplace smoothing) so the
    result stays finite; otherwise the prior is used as it is (a 50/50 prior gives exactly ln 2).
    """
    labels = np.asarray(val_labels, dtype=np.int64)
    counts = np.asarray(prior_counts, dtype=np.float64)
    if labels.size == 0:
        return math.nan
    if np.any(counts[np.unique(labels)] <= 0):
        counts = counts + 1.0
    prior = counts / counts.sum()
    return float(-np.mean(np.log(prior[labels])))


def signal_test(val_labels, val_predicted, *, num_classes: int, val_loss=None, train_class_counts=None,
                alpha: float = 0.01) -> SignalTest:
    """Test whether val accuracy beats the majority-class baseline (and the loss beats the prior).

    ``val_labels`` and ``val_predicted`` are (N,) class indices of one epoch (predicted -1 = not recorded,
    left out). ``val_loss`` is the mean val loss in nats, or per-sample losses (their finite mean is used).
    ``train_class_counts`` (C,) sets the majority class and the prior; without it val's own counts do.
    Returns a :class:`SignalTest`; with no val sample, accuracy and p_value are NaN and nothing is significant.
    """
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {alpha}; use e.g. 0.01")
    if num_classes < 1:
        raise ConfigError(f"num_classes must be at least 1, got {num_classes}")
    labels = np.asarray(val_labels, dtype=np.int64).reshape(-1)
    predicted = np.asarray(val_predicted, dtype=np.int64).reshape(-1)
    if labels.shape != predicted.shape:
        raise DataError(f"{labels.size} val labels but {predicted.size} predictions; pass one prediction per sample")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DataError(f"val labels outside 0..{num_classes - 1}; pass num_classes matching the data")
    if predicted.size and predicted.max() >= num_classes:
        raise DataError(f"predictions outside 0..{num_classes - 1}; pass num_classes matching the model")
    if train_class_counts is not None:
        train_counts = np.asarray(train_class_counts, dtype=np.float64).reshape(-1)
        if train_counts.size != num_classes or np.any(train_counts < 0) or train_counts.sum() <= 0:
            raise DataError(f"train_class_counts must hold {num_classes} non-negative counts with a positive total")
    else:
        train_counts = None

    seen = predicted != MISSING_PREDICTION
    labels, predicted = labels[seen], predicted[seen]
    num_samples = int(labels.size)
    val_counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    prior_counts = train_counts if train_counts is not None else val_counts
    majority = int(np.argmax(prior_counts))
    loss = _mean_loss(val_loss)
    entropy = prior_entropy(labels, prior_counts, num_classes)
    below = None if loss is None or not math.isfinite(entropy) else bool(loss < entropy * (1 - PRIOR_MARGIN))
    if num_samples == 0:
        nan = math.nan
        return SignalTest(nan, 0, 0, majority, nan, nan, (nan, nan), False, alpha, loss, entropy, below)

    num_correct = int(np.sum(predicted == labels))
    baseline = float(val_counts.max() / num_samples)
    p_value = float(binomial_tail(num_correct, num_samples, baseline))
    return SignalTest(
        accuracy=num_correct / num_samples,
        num_samples=num_samples,
        num_correct=num_correct,
        majority_class=majority,
        baseline_accuracy=baseline,
        p_value=p_value,
        # Two-sided whatever the test's direction.
        interval=wilson_interval(num_correct, num_samples),
        significant=p_value < alpha,
        alpha=alpha,
        loss=loss,
        prior_entropy=entropy,
        loss_below_prior=below,
    )


def detectable_accuracy(num_samples: int, baseline: float, alpha: float) -> float:
    """The lowest accuracy (fraction) on ``num_samples`` samples whose one-sided binomial test against
    ``baseline`` has p < ``alpha``: what a split this size can show at all. NaN without samples; above 1 (inf)
    when no accuracy can be significant."""
    if num_samples < 1 or not 0 <= baseline < 1:
        return math.nan if num_samples < 1 else math.inf
    counts = np.arange(num_samples + 1)
    significant = np.flatnonzero(binomial_tail(counts, num_samples, baseline) < alpha)
    return float(significant[0] / num_samples) if significant.size else math.inf


def _mean_loss(val_loss) -> float | None:
    if val_loss is None:
        return None
    values = np.asarray(val_loss, dtype=np.float64).reshape(-1)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def control_test(real_accuracy: float, control_accuracy: float, num_samples: int, *,
                 alpha: float = 0.01) -> ControlComparison:
    """Compare a run's accuracy with its permuted-label control, both measured on ``num_samples`` samples.

    Accuracies are turned back into counts (rounded) and compared with a one-sided Fisher exact test
    (exact at any n, unlike a z test). Returns a :class:`ControlComparison`; significant means the real
    run is more accurate than the control at level ``alpha``.
    """
    if isinstance(num_samples, bool) or int(num_samples) != num_samples or num_samples < 1:
        raise ConfigError(f"num_samples must be a positive integer, got {num_samples!r}")
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be between 0 and 1, got {alpha}; use e.g. 0.01")
    for name, value in (("real_accuracy", real_accuracy), ("control_accuracy", control_accuracy)):
        if not 0 <= value <= 1:
            raise DataError(f"{name} must be a fraction in [0, 1], got {value}")
    n = int(num_samples)
    real_correct = int(round(real_accuracy * n))
    control_correct = int(round(control_accuracy * n))
    table = [[real_correct, n - real_correct], [control_correct, n - control_correct]]
    from scipy import stats  # on use: scipy costs ~0.5 s that importing lossgap should not
    p_value = float(stats.fisher_exact(table, alternative="greater").pvalue)
    return ControlComparison(
        real_accuracy=float(real_accuracy),
        control_accuracy=float(control_accuracy),
        difference=float(real_accuracy - control_accuracy),
        p_value=p_value,
        significant=p_value < alpha,
        num_samples=n,
        alpha=alpha,
    )


def any_epoch_p_value(val: SplitDynamics, baseline: float) -> float:
    """p-value of "val accuracy beats the baseline" from two one-sided binomial tests, corrected for both looks.

    The best epoch's accuracy is the best of E tries (its p-value times E, Bonferroni); the last epoch's was
    chosen by nobody, so its p-value needs no such correction. A model that holds a real but modest lead over
    many epochs is shown by the last epoch, where the best-of-E correction alone would grow with every epoch
    trained on the plateau until "signal" turned into "no signal". Using both is two tests: the smaller p-value
    times 2.
    """
    seen = val.seen
    correct = (val.correct & seen).sum(axis=1)
    counts = seen.sum(axis=1)
    usable = counts > 0
    if not usable.any() or not 0 < baseline < 1:
        return float("nan")
    return corrected_over_epochs(binomial_tail(correct[usable], counts[usable], baseline))


def corrected_over_epochs(p_values: np.ndarray) -> float:
    """One p-value from per-epoch ones (the usable epochs, in order): the best epoch's times their number
    (Bonferroni) or the last epoch's, the smaller times SIGNAL_TESTS (see :func:`any_epoch_p_value`)."""
    best = float(np.min(p_values)) * len(p_values)
    return float(min(1.0, SIGNAL_TESTS * min(best, float(p_values[-1]))))


def loss_clearly_below_prior(val: SplitDynamics, index: int, train_counts: np.ndarray,
                              alpha: float = 0.01) -> bool:
    """True when val loss beats predicting the training prior, by a paired test.

    Each sample's loss is compared with the loss the prior alone would give it, -log prior[label]. Pairing
    removes the spread between classes (a rare class costs -log 0.05 = 3 nats under the prior), so a weak
    signal on imbalanced data is still seen. It holds when the judged epoch's mean difference is below zero
    by more than 3 standard errors, or when any epoch's is by more than the z of alpha / E (Bonferroni:
    looking at every epoch is E tries).
    """
    prior = prior_of(train_counts)
    difference = np.where(val.seen, val.loss + np.log(prior[val.labels])[None, :], np.nan)
    counts = val.seen.sum(axis=1)
    usable = counts >= 2
    if not usable[index]:
        return False
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nanmean(difference, axis=1)
        standard_error = np.nanstd(difference, axis=1, ddof=1) / np.sqrt(counts)
        z = mean / standard_error
    if mean[index] < -3 * standard_error[index]:
        return True
    z_needed = normal_upper_quantile(alpha / max(1, int(usable.sum())))
    return bool(np.nanmin(np.where(usable, z, np.nan)) < -z_needed)


#: Fewest val samples a class needs to take part in the balanced-accuracy test (its recall's binomial tail is
#: read by a normal approximation, which a handful of samples does not bear).
BALANCED_MIN_CLASS_SAMPLES = 5


def balanced_accuracy_p_values(split: SplitDynamics) -> np.ndarray:
    """Per epoch, the one-sided p-value that the balanced accuracy (mean recall over the classes with at least
    BALANCED_MIN_CLASS_SAMPLES samples seen) of ``split``'s predictions beats what predictions that ignore the
    labels would get: float64 (E,), NaN for an epoch with fewer than two such classes.

    Under "no signal" each class's hits are binomial with the share q_k of all predictions that go to class k,
    so the balanced accuracy has mean mean_k q_k (1/C' when every prediction names one of the C' classes)
    whatever the predictions lean to, and variance sum_k q_k (1 - q_k) / n_k / C'^2 (normal approximation).
    On imbalanced data this is the test that sees a model telling the classes apart while its accuracy trails
    the majority share (a 90/7/3 run at val accuracy 0.905 against 0.895 and balanced accuracy 0.71 had read
    "no signal" 0.95), and the one a class-weighted model needs: its weights trade accuracy for the rare
    classes' recall."""
    seen = split.seen
    labels = split.labels
    p_values = np.full(split.num_epochs, np.nan)
    for epoch in range(split.num_epochs):
        mask = seen[epoch]
        truth, predicted = labels[mask], split.predicted[epoch][mask].astype(np.int64)
        counts = np.bincount(truth, minlength=split.num_classes).astype(np.float64)
        used = counts >= BALANCED_MIN_CLASS_SAMPLES
        if used.sum() < 2:
            continue
        shares = np.bincount(predicted, minlength=split.num_classes)[used] / predicted.size
        hits = np.bincount(truth[predicted == truth], minlength=split.num_classes)[used]
        classes = float(used.sum())
        lift = float(np.mean(hits / counts[used]) - np.mean(shares))
        variance = float(np.sum(shares * (1 - shares) / counts[used])) / classes ** 2
        # Every prediction in one class: its recall is 1 and the others' 0, the null's value with no spread.
        p_values[epoch] = float(normal_upper_tail(lift / math.sqrt(variance))) if variance > 0 else 1.0
    return p_values


def detectable_balanced_lead(class_counts, alpha: float) -> float:
    """The lead over chance (fraction of balanced accuracy) that :func:`balanced_accuracy_p_values` needs for p <
    ``alpha`` when the predictions spread evenly over the classes with BALANCED_MIN_CLASS_SAMPLES samples or more
    (``class_counts``: val samples per class): what a split this size can show of a class-weighted model's aim. inf
    with fewer than two such classes."""
    counts = np.asarray(class_counts, dtype=np.float64)
    counts = counts[counts >= BALANCED_MIN_CLASS_SAMPLES]
    if counts.size < 2:
        return math.inf
    share = 1.0 / counts.size
    spread = math.sqrt(float(np.sum(share * (1 - share) / counts))) / counts.size
    return normal_upper_quantile(alpha) * spread


def any_epoch_balanced_p_value(split: SplitDynamics) -> float:
    """:func:`balanced_accuracy_p_values` over the epochs, corrected as :func:`any_epoch_p_value` corrects its
    binomial tests: the best epoch's p-value times the E epochs, or the last epoch's, the smaller times 2;
    NaN without a usable epoch."""
    p_values = balanced_accuracy_p_values(split)
    usable = np.isfinite(p_values)
    return corrected_over_epochs(p_values[usable]) if usable.any() else float("nan")
