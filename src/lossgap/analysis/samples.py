"""Per-sample training dynamics and suspected mislabelled samples (evidence for ``label_noise``).

Three published views of what each training sample does over the epochs, all from the recorded arrays:

- data maps (Swayamdipta et al. 2020): confidence = mean true-class probability, variability = its standard
  deviation, correctness = fraction of epochs predicted correctly;
- forgetting events (Toneva et al. 2019): how often a sample goes from correct to wrong;
- area under the margin, AUM (Pleiss et al. 2020): mean over epochs of the true-class logit minus the largest
  other logit. A mislabelled sample fights the rest of its (true) class, so its margin stays negative until
  the network memorises it late; a correctly labelled one turns positive early.

Everything is computed on (E, N) arrays at once; no Python loop runs over samples. Epochs are 1-based.
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

#: ``learned_epoch`` value of a sample that is never learned (wrong, or unseen, at its last seen epoch).
NEVER_LEARNED = 0


@dataclass(frozen=True, eq=False)
class SampleDynamics:
    """Per-sample statistics of one split; every array is over the N samples in recorded order.

    Statistics marked (*) use only the seen epochs in the window burn_in + 1 .. until_epoch (1-based); a
    sample with no such epoch has NaN there (and 0 forgetting events).

    Attributes:
        split: name of the split.
        sample_ids: (N,) ids.
        labels: int (N,) given (possibly wrong) labels.
        confidence: float (N,) mean true-class probability (*).
        variability: float (N,) population standard deviation of the true-class probability (*).
        correctness: float (N,) fraction of epochs predicted correctly (*).
        forgetting_events: int (N,) correct -> wrong transitions between consecutive seen epochs (*).
        aum: float (N,) area under the margin, mean logit margin, logits (*), counted from the epoch the
            model began to fit the sample's class (``class_start_epoch``), not before.
        learned_epoch: int (N,) 1-based first epoch from which the sample is correct in every seen epoch to
            the end, over all epochs (burn-in does not apply); NEVER_LEARNED (0) if it is wrong at its
            last seen epoch or never seen.
        seen_epochs: int (N,) seen epochs counted in (*).
        num_epochs: epochs recorded E.
        burn_in: leading epochs left out of (*).
        until_epoch: last epoch (1-based) counted in (*).
        num_classes: classes C of the split (labels and predictions lie in 0..C-1).
        rival_class: int (N,) the class other than the label that the model predicted most often (*), the
            lowest such class on ties; -1 if the sample was never predicted as another class (*).
        class_start_epoch: int (C,) 1-based first epoch of each class's AUM window: the first epoch of the
            window in which the share of the class predicted correctly reached ``class_onset`` x its highest
            share in the window (burn_in + 1 for a class fitted from the start, or never fitted).
    """

    split: str
    sample_ids: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    variability: np.ndarray
    correctness: np.ndarray
    forgetting_events: np.ndarray
    aum: np.ndarray
    learned_epoch: np.ndarray
    seen_epochs: np.ndarray
    num_epochs: int
    burn_in: int
    until_epoch: int
    num_classes: int = 0
    rival_class: np.ndarray | None = None
    class_start_epoch: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def num_samples(self) -> int:
        """Samples N."""
        return int(self.labels.shape[0])

    @property
    def learned(self) -> np.ndarray:
        """bool (N,) whether each sample is learned by the end (learned_epoch > 0)."""
        return self.learned_epoch != NEVER_LEARNED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (NaN -> None)."""
        return {field.name: to_plain(getattr(self, field.name)) for field in dataclasses.fields(self)}


def _masked_mean(values: np.ndarray, mask: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Mean over axis 0 of ``values`` where ``mask``; NaN where ``count`` is 0. float64 (N,)."""
    # Summing in the input dtype (float32) is several times faster than casting to float64, and numpy's
    # pairwise summation keeps the error far below what these statistics are read at.
    total = np.where(mask, values, values.dtype.type(0)).sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _learned_epoch(seen: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """1-based first epoch after the last wrong seen epoch that is itself seen; 0 if there is none."""
    num_epochs = seen.shape[0]
    wrong = seen & ~correct
    last_wrong = np.where(wrong.any(axis=0), num_epochs - 1 - np.argmax(wrong[::-1], axis=0), -1)
    stays_correct = seen & (np.arange(num_epochs)[:, None] > last_wrong[None, :])
    return np.where(stays_correct.any(axis=0), np.argmax(stays_correct, axis=0) + 1, NEVER_LEARNED)


def _forgetting_events(seen: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Correct -> wrong transitions between consecutive seen epochs (unseen epochs are skipped), int (N,)."""
    num_epochs = seen.shape[0]
    if num_epochs < 2:
        return np.zeros(seen.shape[1], dtype=np.int64)
    # Index of the last seen epoch up to each epoch (-1 before the first): carries the status over gaps.
    if seen.all():  # the usual train split: every sample in every epoch
        return (correct[:-1] & ~correct[1:]).sum(axis=0)
    # int32: accumulate along axis 0 is several times faster than in int64.
    epoch_index = np.arange(num_epochs, dtype=np.int32)[:, None]
    last_seen = np.maximum.accumulate(np.where(seen, epoch_index, np.int32(-1)), axis=0)
    previous = last_seen[:-1]
    previous_correct = np.take_along_axis(correct, np.maximum(previous, 0), axis=0) & (previous >= 0)
    return (seen[1:] & ~correct[1:] & previous_correct).sum(axis=0)


def _class_start(seen: np.ndarray, correct: np.ndarray, labels: np.ndarray, num_classes: int,
                 onset: float) -> np.ndarray:
    """0-based index, within the (E, N) window, of the first epoch at which each class's correct share reached
    ``onset`` x its highest share in the window; 0 for a class never fitted or with onset 0. int (C,)."""
    one_hot = np.zeros((labels.size, num_classes), dtype=np.float32)
    one_hot[np.arange(labels.size), labels] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (correct.astype(np.float32) @ one_hot) / (seen.astype(np.float32) @ one_hot)  # (E, C)
    share = np.nan_to_num(share, nan=0.0)
    peak = share.max(axis=0)
    reached = (share >= onset * peak[None, :]) & (peak[None, :] > 0)
    return np.where(reached.any(axis=0), np.argmax(reached, axis=0), 0)


def _rival_class(wrong: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Most frequent predicted class over the (E, N) entries where ``wrong``; lowest on ties, -1 if none.

    Works on the wrong entries only (memory grows with them, not with N x C).
    """
    epochs, samples = np.nonzero(wrong)
    rival = np.full(wrong.shape[1], -1, dtype=np.int64)
    if samples.size == 0:
        return rival
    keys, counts = np.unique(samples.astype(np.int64) * num_classes + predicted[epochs, samples], return_counts=True)
    owner = keys // num_classes
    order = np.lexsort((-counts, owner))  # by sample, then most frequent first; keys sorted: lowest class on ties
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    rival[owner[first]] = keys[first] % num_classes
    return rival


def sample_dynamics(dynamics: SplitDynamics, *, burn_in: int = 0, until_epoch: int | None = None,
                    class_onset: float = 0.5) -> SampleDynamics:
    """Data-map coordinates, forgetting events, AUM and learned epoch of every sample of one split.

    The averaged statistics use epochs ``burn_in + 1`` to ``until_epoch`` (1-based, default the last).
    ``burn_in`` drops the first epochs of a fresh network, which say little about the sample. ``until_epoch``
    stops before memorisation: Pleiss et al. measure AUM only until the learning rate first decays, because a
    network that goes on to memorise mislabelled samples lifts their late margins and with them their AUM.
    Passing the val-loss minimum (the epoch early stopping picks) does the same here.

    AUM assumes every class is learned from the first epochs. A class the model takes up late (a rare class
    learned after the majority) has all its samples contradicted until then, so an AUM counted from epoch 1
    makes its correctly labelled samples look mislabelled (on an 80/10/10 set with 10% flips, 37 of 75 clean
    samples of a rare class). Each sample's AUM therefore starts at its class's ``class_start_epoch``: the
    first epoch at which the class's correct share reached ``class_onset`` x its peak in the window (0.5:
    half-way up its learning curve). A class learned at once keeps the whole window; ``class_onset=0`` turns
    this off (Pleiss et al.'s AUM). Meant for the train
    split; works on any split. Returns a :class:`SampleDynamics`; probabilities are fractions, AUM is in logits.
    """
    num_epochs = dynamics.num_epochs
    if num_epochs == 0:
        raise DataError(f"{dynamics.split}: no epoch recorded; train at least one epoch before analysing samples")
    until_epoch = num_epochs if until_epoch is None else until_epoch
    if int(until_epoch) != until_epoch or not 1 <= until_epoch <= num_epochs:
        raise ConfigError(f"until_epoch must be an integer in 1..{num_epochs}, got {until_epoch}")
    until_epoch = int(until_epoch)
    if not 0 <= class_onset <= 1:
        raise ConfigError(f"class_onset must be in [0, 1], got {class_onset}; use e.g. 0.5")
    if int(burn_in) != burn_in or not 0 <= burn_in < until_epoch:
        raise ConfigError(f"burn_in must be an integer in 0..{until_epoch - 1} (below until_epoch), got {burn_in}")
    burn_in = int(burn_in)
    window = slice(burn_in, until_epoch)

    seen_all = dynamics.seen
    correct_all = dynamics.correct & seen_all
    seen = seen_all[window]
    correct = correct_all[window]
    seen_epochs = seen.sum(axis=0)

    # float32 keeps the (E, N) temporaries small for 100k-sample runs; sums are accumulated in float64.
    log_prob = dynamics.true_log_prob[window].astype(np.float32, copy=False)
    prob_usable = seen & np.isfinite(log_prob)
    true_prob = np.exp(np.where(prob_usable, log_prob, np.float32(0.0)))
    prob_count = prob_usable.sum(axis=0)
    confidence = _masked_mean(true_prob, prob_usable, prob_count)
    deviation = true_prob - confidence[None, :].astype(np.float32)
    variability = np.sqrt(_masked_mean(deviation * deviation, prob_usable, prob_count))

    num_classes = max(int(dynamics.num_classes), int(dynamics.labels.max(initial=-1)) + 1)
    rival = _rival_class(seen & ~correct, dynamics.predicted[window].astype(np.int64), num_classes)

    labels = np.asarray(dynamics.labels, dtype=np.int64)
    class_start = _class_start(seen, correct, labels, num_classes, class_onset)
    margin = dynamics.margin[window].astype(np.float32, copy=False)
    margin_usable = seen & np.isfinite(margin)
    if class_start.any():
        margin_usable &= np.arange(seen.shape[0])[:, None] >= class_start[labels][None, :]
    aum = _masked_mean(margin, margin_usable, margin_usable.sum(axis=0))

    return SampleDynamics(
        split=dynamics.split,
        sample_ids=np.asarray(dynamics.sample_ids),
        labels=np.asarray(dynamics.labels),
        confidence=confidence,
        variability=variability,
        correctness=np.where(seen_epochs > 0, correct.sum(axis=0) / np.maximum(seen_epochs, 1), np.nan),
        forgetting_events=_forgetting_events(seen, correct),
        aum=aum,
        learned_epoch=_learned_epoch(seen_all, correct_all),
        seen_epochs=seen_epochs,
        num_epochs=num_epochs,
        burn_in=burn_in,
        until_epoch=until_epoch,
        num_classes=num_classes,
        rival_class=rival,
        class_start_epoch=class_start + burn_in + 1,
    )


@dataclass(frozen=True, eq=False)
class Suspects:
    """Samples whose given label the model consistently disagreed with, most suspect first, and what the
    diagnosis needs to tell label noise from a model that cannot fit (all class arrays are over C classes).

    Attributes:
        sample_ids: ids of the suspects.
        indices: their positions in the split's sample order.
        scores: float, negated AUM (logits): higher = the label lost to another class by more, on average.
        threshold: AUM threshold used (logits, <= 0); suspects have AUM below it.
        num_samples: samples considered.
        capped: True when more than ``max_fraction`` of the samples met the rule and only the most suspect
            were kept; then the model disagrees with most labels, which points to underfitting or no
            signal rather than a noisy subset.
        rival_classes: int, aligned with ``indices``: the class the model predicted most often for each
            suspect (what it says the sample is); -1 where unknown.
        fit_fraction: share of the samples (finite AUM) the model fits, AUM > 0, in [0, 1]; NaN if none.
        class_fit: float (C,) the same share within each given class; NaN for a class without samples.
        class_counts: int (C,) samples (finite AUM) per given class.
        class_suspects: int (C,) suspects per given class.
        unjudged_classes: int, classes left out because the model fits less than ``min_relative_class_fit``
            x fit_fraction of them: their contradicted samples say nothing about their labels.
        unjudged_contradicted: samples below the threshold in unjudged classes (contradicted, not flagged).
        suspect_correctness: mean share of window epochs in which the suspects were predicted as their label,
            in [0, 1]; near 0 = consistently contradicted (label noise), near 0.5 = flipping back and forth
            (hard samples, or weights that jump); NaN without suspects.
        suspect_forgetting: mean forgetting events of the suspects in the window; NaN without suspects.
    """

    sample_ids: np.ndarray
    indices: np.ndarray
    scores: np.ndarray
    threshold: float
    num_samples: int
    capped: bool
    rival_classes: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    fit_fraction: float = math.nan
    class_fit: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    class_counts: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    class_suspects: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unjudged_classes: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unjudged_contradicted: int = 0
    suspect_correctness: float = math.nan
    suspect_forgetting: float = math.nan

    @property
    def fraction(self) -> float:
        """Share of the samples flagged, in [0, 1]."""
        return len(self.indices) / self.num_samples if self.num_samples else 0.0

    @property
    def concentration(self) -> float:
        """Share of the suspects in the class holding most of them, in [0, 1]; NaN without suspects.
        Compare with that class's share of the samples (``class_counts``) to see whether they cluster."""
        total = int(np.sum(self.class_suspects))
        return float(np.max(self.class_suspects) / total) if total else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields plus ``fraction`` and ``concentration`` (NaN -> None)."""
        out = {field.name: to_plain(getattr(self, field.name)) for field in dataclasses.fields(self)}
        out["fraction"] = self.fraction
        out["concentration"] = to_plain(self.concentration)
        return out


def otsu_threshold(values: np.ndarray) -> float:
    """The cut between sorted ``values`` that maximises the between-group variance of the two groups it
    makes (Otsu's method, exact over every cut, O(N log N)); midpoint of the two values around the cut.
    NaN if fewer than two distinct values."""
    values = np.sort(np.asarray(values, dtype=np.float64))
    n = values.size
    if n < 2 or values[0] == values[-1]:
        return math.nan
    low_size = np.arange(1, n)
    low_sum = np.cumsum(values)[:-1]
    low_mean = low_sum / low_size
    high_mean = (values.sum() - low_sum) / (n - low_size)
    between = low_size * (n - low_size) * (low_mean - high_mean) ** 2
    between[values[1:] == values[:-1]] = -1.0  # no cut between equal values
    cut = int(np.argmax(between))
    return float((values[cut] + values[cut + 1]) / 2)


def suspected_mislabeled(sample_dynamics: SampleDynamics, *, max_fraction: float = 0.5,
                         min_relative_class_fit: float = 0.5) -> Suspects:
    """Samples the model consistently disagreed with over training, most suspect first.

    Rule: a sample is suspect when its AUM is below ``min(0, otsu_threshold(AUM))`` and the model fits its
    given class: at least ``min_relative_class_fit`` x as large a share of that class has AUM > 0 as of
    the whole split.

    - AUM < 0 means that, averaged over training, some other class's logit beat the given label. Pleiss et
      al. set the cut from deliberately mislabelled "threshold samples"; without them, 0 is the natural
      scale-free cut (it does not depend on how large the logits grow), and a positive-AUM sample is never
      flagged, so a clean, well-learned set yields few or no suspects.
    - The data-derived part: a noisy set has a bimodal AUM distribution (the mislabelled samples form a
      low mode), and Otsu's split finds the gap between the two modes. Usually that gap lies above 0 and
      the cut stays 0. When the correctly labelled samples' AUM straddles 0 (a task still being learned)
      while the mislabelled ones sit far below, the cut moves down into the gap, so the barely-negative
      clean samples are not flagged.
    - The class gate: a mislabelled sample is evidence against its label only if the model fits the rest
      of its class; each class is judged against its own fit share. Label noise at rate r leaves about
      1 - r of every class right, so a model that learns the task fits a similar share of every class
      (on JapaneseVowels with 40% symmetric flips, 0.42-0.71 of each class with 0.57 overall). A class the
      model leans away from has a fit share near 0 while the split's stays high: the rare classes of a
      90/5/5 set (measured 0.0 and 0.0 against 0.90 overall), or the classes a model far too small cannot
      represent. Their samples are all contradicted, correctly labelled or not, and the dynamics cannot
      tell which labels are wrong, so none of them is flagged; they are counted in ``unjudged_classes``
      and ``unjudged_contradicted``. A class whose labels are mostly wrong is unjudged too: beyond 50% the
      labels no longer say what the class is. ``min_relative_class_fit=0`` turns the gate off.

    Hard-but-correct samples can still have AUM < 0; the model disagreed with them by less than with
    mislabelled ones, so they rank lower. Compute the statistics with ``until_epoch`` at the val-loss
    minimum (see :func:`sample_dynamics`) so that late memorisation does not lift mislabelled samples' AUM.

    Suspects are ranked by negated AUM; ties go to lower confidence, then to later (or no) learning.
    At most ``max_fraction`` of the samples are returned (see :attr:`Suspects.capped`). Samples never seen
    (NaN AUM) are never suspects. The result also carries the per-class fit shares and how consistently
    the suspects were contradicted, for the diagnosis to tell label noise from a model that cannot fit or
    whose weights jump; this function does not decide the cause.
    """
    if not 0 < max_fraction <= 1:
        raise ConfigError(f"max_fraction must be in (0, 1], got {max_fraction}; use e.g. 0.5")
    if not 0 <= min_relative_class_fit <= 1:
        raise ConfigError(f"min_relative_class_fit must be in [0, 1], got {min_relative_class_fit}; use e.g. 0.5")
    aum = np.asarray(sample_dynamics.aum, dtype=np.float64)
    labels = np.asarray(sample_dynamics.labels, dtype=np.int64)
    finite = np.isfinite(aum)
    split_point = otsu_threshold(aum[finite])
    threshold = 0.0 if math.isnan(split_point) else min(0.0, split_point)
    contradicted = finite & (aum < threshold)

    num_classes = max(int(sample_dynamics.num_classes), int(labels.max(initial=-1)) + 1)
    class_counts = np.bincount(labels[finite], minlength=num_classes)
    fitted = finite & (aum > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        class_fit = np.bincount(labels[fitted], minlength=num_classes) / class_counts
    fit_fraction = float(fitted.sum() / finite.sum()) if finite.any() else math.nan
    judged = ~(class_fit < min_relative_class_fit * fit_fraction)  # NaN (no samples) counts as judged
    unjudged = np.flatnonzero((class_counts > 0) & ~judged)
    flagged = np.flatnonzero(contradicted & judged[labels])

    # Later learning = more suspect; never learned counts as later than any epoch.
    lateness = np.where(sample_dynamics.learned, sample_dynamics.learned_epoch, sample_dynamics.num_epochs + 1)
    confidence = np.nan_to_num(sample_dynamics.confidence[flagged], nan=0.0)
    order = np.lexsort((-lateness[flagged], confidence, aum[flagged]))  # last key sorts first
    flagged = flagged[order]
    limit = int(math.floor(max_fraction * sample_dynamics.num_samples))
    capped = flagged.size > limit
    flagged = flagged[:limit]
    rival = sample_dynamics.rival_class
    has_suspects = flagged.size > 0
    return Suspects(
        sample_ids=np.asarray(sample_dynamics.sample_ids)[flagged],
        indices=flagged,
        scores=-aum[flagged],
        threshold=threshold,
        num_samples=sample_dynamics.num_samples,
        capped=bool(capped),
        rival_classes=(np.asarray(rival)[flagged] if rival is not None else np.full(flagged.size, -1)),
        fit_fraction=fit_fraction,
        class_fit=class_fit,
        class_counts=class_counts,
        class_suspects=np.bincount(labels[flagged], minlength=num_classes),
        unjudged_classes=unjudged,
        unjudged_contradicted=int((contradicted & ~judged[labels]).sum()),
        suspect_correctness=float(np.nanmean(sample_dynamics.correctness[flagged])) if has_suspects else math.nan,
        suspect_forgetting=float(sample_dynamics.forgetting_events[flagged].mean()) if has_suspects else math.nan,
    )


@dataclass(frozen=True)
class LabelNoiseEvidence:
    """Summary figures for the ``label_noise`` verdict; fractions are of all N samples unless stated.

    Attributes:
        reference_epoch: 1-based epoch "late" is measured from (the val-loss minimum), or None.
        fraction_learned_after_reference: samples learned after reference_epoch; None without one.
        fraction_never_learned: samples wrong at their last seen epoch.
        fraction_forgotten: samples with at least one forgetting event.
        fraction_negative_aum: samples with AUM < 0.
        suspect_fraction: samples flagged by :func:`suspected_mislabeled`.
        suspects_learned_after_reference: share of the suspects learned after reference_epoch (memorised
            late, the label-noise signature); None without a reference epoch or without suspects.
        suspects_never_learned: share of the suspects still wrong at their last seen epoch; None without
            suspects. Near 1 with few learned late: the model could not (yet) fit them, as a model too small
            or stopped early leaves them; a model that memorises noisy labels learns them late instead.
    """

    reference_epoch: int | None
    fraction_learned_after_reference: float | None
    fraction_never_learned: float
    fraction_forgotten: float
    fraction_negative_aum: float
    suspect_fraction: float
    suspects_learned_after_reference: float | None
    suspects_never_learned: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (NaN -> None)."""
        return {field.name: to_plain(getattr(self, field.name)) for field in dataclasses.fields(self)}


def label_noise_evidence(sample_dynamics: SampleDynamics, *, reference_epoch: int | None = None,
                         suspects: Suspects | None = None) -> LabelNoiseEvidence:
    """How much of the split is learned late, never learned, forgotten or has negative AUM.

    ``reference_epoch`` (1-based, typically the val-loss minimum) defines "late"; ``suspects`` defaults to
    :func:`suspected_mislabeled` with its defaults.
    """
    num_samples = sample_dynamics.num_samples
    if reference_epoch is not None and not 1 <= reference_epoch <= sample_dynamics.num_epochs:
        raise ConfigError(f"reference_epoch {reference_epoch} is out of range; use 1..{sample_dynamics.num_epochs}")
    if suspects is None:
        suspects = suspected_mislabeled(sample_dynamics)

    def share(mask: np.ndarray) -> float:
        return float(mask.sum() / num_samples) if num_samples else 0.0

    learned_late = sample_dynamics.learned_epoch > (reference_epoch or 0)
    late_after = share(learned_late) if reference_epoch is not None else None
    suspects_late = None
    if reference_epoch is not None and len(suspects.indices):
        suspects_late = float(learned_late[suspects.indices].mean())
    aum = np.asarray(sample_dynamics.aum)
    return LabelNoiseEvidence(
        reference_epoch=reference_epoch,
        fraction_learned_after_reference=late_after,
        fraction_never_learned=share(~sample_dynamics.learned),
        fraction_forgotten=share(sample_dynamics.forgetting_events > 0),
        fraction_negative_aum=share(np.isfinite(aum) & (aum < 0)),
        suspect_fraction=suspects.fraction,
        suspects_learned_after_reference=suspects_late,
        suspects_never_learned=(float((~sample_dynamics.learned[suspects.indices]).mean())
                                if len(suspects.indices) else None),
    )
