"""Calibration of one split: expected calibration error, reliability bins and temperature scaling.

Temperature scaling (Guo et al. 2017) divides every logit by one scalar T > 0. It never changes the argmax,
so accuracy is untouched, and the loss it removes is exactly the part of the loss that is about confidence
rather than correctness: a run whose loss keeps falling at flat accuracy mostly moves that part.

Pure numpy. Epochs in results are 1-based.
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

#: Range searched for the temperature; beyond it the fit is hitting a degenerate (separable or constant) case.
TEMPERATURE_BOUNDS = (0.05, 20.0)


@dataclass(frozen=True, eq=False)
class Reliability:
    """Reliability diagram of one set of predictions, equal-width confidence bins on [0, 1].

    Bin b holds confidences in (bin_edges[b], bin_edges[b + 1]] (bin 0 also holds exactly 0).

    Attributes:
        bin_edges: float (bins + 1,).
        mean_confidence: float (bins,) mean confidence per bin; NaN for an empty bin.
        accuracy: float (bins,) fraction correct per bin; NaN for an empty bin.
        count: int (bins,) predictions per bin (0 for an empty bin).
        ece: expected calibration error, sum over bins of count / N * |accuracy - mean_confidence|;
            NaN when there is no prediction.
    """

    bin_edges: np.ndarray
    mean_confidence: np.ndarray
    accuracy: np.ndarray
    count: np.ndarray
    ece: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (NaN -> None)."""
        return {field.name: to_plain(getattr(self, field.name)) for field in dataclasses.fields(self)}


@dataclass(frozen=True)
class TemperatureFit:
    """Result of fitting one temperature to a set of logits.

    Attributes:
        temperature: T > 0 minimising the mean NLL of softmax(logits / T); > 1 means the model was
            overconfident, < 1 underconfident.
        loss_before: mean cross-entropy at T = 1, nats (from the stored float16 logits).
        loss_after: mean cross-entropy at the fitted T, nats.
        loss_removed: loss_before - loss_after >= 0, nats: the loss that is about confidence, not correctness.
        ece_before: ECE at T = 1.
        ece_after: ECE at the fitted T.
        accuracy: fraction correct, identical before and after (scaling keeps the argmax).
        num_samples: samples used (rows with any non-finite logit are left out).
    """

    temperature: float
    loss_before: float
    loss_after: float
    loss_removed: float
    ece_before: float
    ece_after: float
    accuracy: float
    num_samples: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (NaN -> None)."""
        return {field.name: to_plain(getattr(self, field.name)) for field in dataclasses.fields(self)}


@dataclass(frozen=True, eq=False)
class Calibration:
    """Calibration of one split over training.

    Attributes:
        split: name of the split.
        ece: float (E,) ECE per epoch (row e = epoch e + 1) from the stored confidence of the seen samples;
            NaN in an epoch with none seen.
        best_epoch: the 1-based epoch given as best, or None.
        final_epoch: the last epoch, 1-based.
        reliability_best: reliability bins at best_epoch, or None without a best epoch.
        reliability_final: reliability bins at the final epoch.
        temperature_best: temperature fit at best_epoch; None without a best epoch or without stored
            logits (the train split usually has none: the recorder keeps logits for val/test only).
        temperature_final: temperature fit at the final epoch; None without stored logits.
        loss_removed_share: temperature_final.loss_removed / temperature_final.loss_before, the share of
            the final loss that temperature scaling removes; None without a final fit.
    """

    split: str
    ece: np.ndarray
    best_epoch: int | None
    final_epoch: int
    reliability_best: Reliability | None
    reliability_final: Reliability
    temperature_best: TemperatureFit | None
    temperature_final: TemperatureFit | None
    loss_removed_share: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields, nested results as dicts (NaN -> None)."""
        return {field.name: to_plain(getattr(self, field.name)) for field in dataclasses.fields(self)}


def _check_bins(bins: int) -> None:
    if int(bins) != bins or bins < 1:
        raise ConfigError(f"bins must be a positive integer, got {bins}; use e.g. 15")


def _bin_index(confidence: np.ndarray, bins: int) -> np.ndarray:
    """Index of the bin (lo, hi] holding each confidence; exactly 0 goes to bin 0.

    Searching the same edges that :class:`Reliability` reports keeps a confidence on an edge in the bin
    the edges say (ceil(confidence * bins) would misplace e.g. 0.2 with 15 bins by rounding)."""
    interior_edges = np.linspace(0.0, 1.0, bins + 1)[1:-1]
    return np.searchsorted(interior_edges, confidence, side="left")


def _prepare(confidence, correct) -> tuple[np.ndarray, np.ndarray]:
    """Confidence (float64) and correctness (bool) of the predictions with a finite confidence."""
    confidence = np.asarray(confidence, dtype=np.float64).ravel()
    correct = np.asarray(correct).ravel()
    if confidence.shape != correct.shape:
        raise DataError(f"confidence has {confidence.size} values but correct has {correct.size}; "
                        "pass one of each per prediction")
    keep = np.isfinite(confidence)
    confidence, correct = confidence[keep], correct[keep].astype(bool)
    if confidence.size and (confidence.min() < 0 or confidence.max() > 1):
        raise DataError("confidence must lie in [0, 1]; pass probabilities, not logits")
    return confidence, correct


def reliability(confidence, correct, bins: int = 15) -> Reliability:
    """Reliability bins of predictions with ``confidence`` (probability of the predicted class) and
    ``correct`` (whether the prediction was right). Non-finite confidences (unseen samples) are ignored."""
    _check_bins(bins)
    confidence, correct = _prepare(confidence, correct)
    index = _bin_index(confidence, bins)
    count = np.bincount(index, minlength=bins)
    confidence_sum = np.bincount(index, weights=confidence, minlength=bins)
    correct_sum = np.bincount(index, weights=correct.astype(np.float64), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.where(count > 0, confidence_sum / count, np.nan)
        accuracy = np.where(count > 0, correct_sum / count, np.nan)
    # count/N * |acc - conf| per bin equals |sum correct - sum confidence| / N.
    ece = float(np.abs(correct_sum - confidence_sum).sum() / confidence.size) if confidence.size else math.nan
    return Reliability(bin_edges=np.linspace(0.0, 1.0, bins + 1), mean_confidence=mean_confidence,
                       accuracy=accuracy, count=count, ece=ece)


def expected_calibration_error(confidence, correct, bins: int = 15) -> float:
    """Expected calibration error in [0, 1]: over equal-width confidence bins on [0, 1], the mean over
    predictions of |bin accuracy - bin mean confidence|. NaN when there is no prediction."""
    return reliability(confidence, correct, bins).ece


def _epoch_ece(confidence: np.ndarray, correct: np.ndarray, usable: np.ndarray, bins: int) -> np.ndarray:
    """ECE of every row of (E, N) arrays at once, counting only ``usable`` entries; float (E,)."""
    num_epochs = confidence.shape[0]
    size = num_epochs * bins
    # Unusable entries go to a spare last bin instead of being masked out: no (E, N) boolean indexing.
    flat = np.where(usable, np.arange(num_epochs)[:, None] * bins + _bin_index(confidence, bins), size).ravel()

    def sum_per_bin(weights: np.ndarray) -> np.ndarray:
        return np.bincount(flat, weights=weights.ravel(), minlength=size + 1)[:size].reshape(num_epochs, bins)

    confidence_sum = sum_per_bin(np.where(usable, confidence, 0.0))
    correct_sum = sum_per_bin(correct.astype(np.float64))
    used = usable.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(used > 0, np.abs(correct_sum - confidence_sum).sum(axis=1) / used, np.nan)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64, max-subtracted so large logits cannot overflow."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _mean_nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    log_probs = _log_softmax(logits / temperature)
    return float(-log_probs[np.arange(labels.size), labels].mean())


def _best_inverse_temperature(logits: np.ndarray, labels: np.ndarray, low: float, high: float) -> float:
    """The beta in [low, high] minimising the mean NLL of softmax(beta * logits): a root of its derivative.

    The NLL is convex in beta with exact derivatives, mean(E_p[z] - z_label) and mean(Var_p[z]) under
    p = softmax(beta * z), so a Newton step kept inside a shrinking sign-change bracket (bisection when the
    step would leave it) reaches the minimum to 1e-12 in a handful of steps. It replaces scipy's bounded Brent
    search, whose import (scipy.optimize, ~0.3 s) was a quarter of what `lossgap diagnose` costs a user.
    """
    rows = np.arange(labels.size)
    logits = logits - logits.max(axis=1, keepdims=True)  # the derivatives are unchanged by a row shift
    target = logits[rows, labels]

    def derivatives(beta: float) -> tuple[float, float]:
        probs = np.exp(_log_softmax(beta * logits))
        expected = (probs * logits).sum(axis=1)
        variance = (probs * logits ** 2).sum(axis=1) - expected ** 2
        return float((expected - target).mean()), float(max(variance.mean(), 0.0))

    slope_low, _ = derivatives(low)
    if slope_low >= 0:
        return low
    slope_high, _ = derivatives(high)
    if slope_high <= 0:
        return high
    beta = 1.0 if low < 1.0 < high else 0.5 * (low + high)
    for _ in range(100):
        slope, curvature = derivatives(beta)
        if abs(slope) < 1e-13 or high - low <= 1e-12 * high:
            break
        if slope < 0:
            low = beta
        else:
            high = beta
        step = beta - slope / curvature if curvature > 0 else math.nan
        beta = step if low < step < high else 0.5 * (low + high)
    return beta


def fit_temperature(logits, labels, *, bounds: tuple[float, float] = TEMPERATURE_BOUNDS) -> TemperatureFit:
    """Fit the temperature T minimising the mean NLL of softmax(logits / T) for ``logits`` (N, C) and
    integer ``labels`` (N,).

    The NLL is convex in 1 / T, so the search (see _best_inverse_temperature) has one minimum. If the search
    ends no better than T = 1, T = 1 is kept, so ``loss_removed`` is never negative. Rows with a non-finite logit
    (unseen samples) are left out. The fit is in-sample: it measures how much of this split's loss is about
    confidence, it is not a calibrator to deploy. Losses are in nats.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if logits.ndim != 2 or labels.shape != (logits.shape[0],):
        raise DataError(f"logits must be (N, C) and labels (N,), got {logits.shape} and {labels.shape}")
    low, high = bounds
    if not 0 < low < 1 < high:
        raise ConfigError(f"temperature bounds must satisfy 0 < low < 1 < high, got {bounds}")
    keep = np.isfinite(logits).all(axis=1)
    logits, labels = logits[keep], labels[keep]
    if labels.size == 0:
        raise DataError("no sample has finite logits; record logits for this split before fitting a temperature")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise DataError(f"labels must lie in 0..{logits.shape[1] - 1}; pass class indices matching the logits")

    temperature = 1.0 / _best_inverse_temperature(logits, labels, 1.0 / high, 1.0 / low)
    loss_before = _mean_nll(logits, labels, 1.0)
    loss_after = _mean_nll(logits, labels, temperature)
    if not loss_after < loss_before:
        temperature, loss_after = 1.0, loss_before

    predicted = logits.argmax(axis=1)  # the same for every T > 0
    correct = predicted == labels
    rows = np.arange(labels.size)
    confidence_before = np.exp(_log_softmax(logits)[rows, predicted])
    confidence_after = np.exp(_log_softmax(logits / temperature)[rows, predicted])
    return TemperatureFit(
        temperature=temperature,
        loss_before=loss_before,
        loss_after=loss_after,
        loss_removed=loss_before - loss_after,
        ece_before=expected_calibration_error(confidence_before, correct),
        ece_after=expected_calibration_error(confidence_after, correct),
        accuracy=float(correct.mean()),
        num_samples=int(labels.size),
    )


def _fit_at(dynamics: SplitDynamics, epoch_row: int) -> TemperatureFit | None:
    """Temperature fit on the seen samples of one epoch row, or None without logits or seen samples."""
    if dynamics.logits is None:
        return None
    logits = np.asarray(dynamics.logits[epoch_row], dtype=np.float64)
    seen = (dynamics.predicted[epoch_row] >= 0) & np.isfinite(logits).all(axis=1)
    if not seen.any():
        return None
    return fit_temperature(logits[seen], np.asarray(dynamics.labels)[seen])


def calibration(dynamics: SplitDynamics, *, best_epoch: int | None = None, bins: int = 15) -> Calibration:
    """Calibration of one split: ECE per epoch, reliability bins and temperature fits at the best (1-based
    ``best_epoch``, if given) and final epochs. See :class:`Calibration` for what is None when."""
    _check_bins(bins)
    num_epochs = dynamics.num_epochs
    if num_epochs == 0:
        raise DataError(f"{dynamics.split}: no epoch recorded; train at least one epoch before calibration")
    if best_epoch is not None and not 1 <= best_epoch <= num_epochs:
        raise ConfigError(f"best_epoch {best_epoch} is out of range; use 1..{num_epochs}")

    confidence = np.asarray(dynamics.max_prob, dtype=np.float64)
    correct = dynamics.correct
    usable = dynamics.seen & np.isfinite(confidence)
    ece = _epoch_ece(confidence, correct, usable, bins)

    def reliability_at(row: int) -> Reliability:
        return reliability(confidence[row][usable[row]], correct[row][usable[row]], bins)

    temperature_final = _fit_at(dynamics, num_epochs - 1)
    loss_removed_share = None
    if temperature_final is not None and temperature_final.loss_before > 0:
        loss_removed_share = temperature_final.loss_removed / temperature_final.loss_before
    return Calibration(
        split=dynamics.split,
        ece=ece,
        best_epoch=best_epoch,
        final_epoch=num_epochs,
        reliability_best=reliability_at(best_epoch - 1) if best_epoch is not None else None,
        reliability_final=reliability_at(num_epochs - 1),
        temperature_best=_fit_at(dynamics, best_epoch - 1) if best_epoch is not None else None,
        temperature_final=temperature_final,
        loss_removed_share=loss_removed_share,
    )
