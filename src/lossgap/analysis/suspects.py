"""Suspected mislabelled samples, and the label-noise figures the diagnosis reads (evidence for ``label_noise``).

Built on :func:`lossgap.analysis.samples.sample_dynamics`: a sample is suspect when its area under the margin
(AUM, Pleiss et al. 2020) is clearly negative while the model fits the rest of its class. Pure numpy: arrays in,
frozen dataclasses out.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossgap.analysis.samples import SampleDynamics
from lossgap.errors import ConfigError
from lossgap.plain import to_plain


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
        unjudged_sample_ids: their ids, most contradicted (lowest AUM) first.
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
    unjudged_sample_ids: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))
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
    unflagged = np.flatnonzero(contradicted & ~judged[labels])
    unflagged = unflagged[np.argsort(aum[unflagged], kind="stable")]
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
        unjudged_contradicted=int(unflagged.size),
        unjudged_sample_ids=np.asarray(sample_dynamics.sample_ids)[unflagged],
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
