"""Overfitting evidence from the per-epoch train and val loss: best epoch, onset, the generalization gap.

The ``overfitting`` cause: train loss keeps falling while val loss turns up after its minimum, and
the gap grows. Losses are mean cross-entropy per epoch (nats); epochs in results are 1-based; non-finite
losses are treated as missing epochs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossgap.analysis.smoothing import as_curve, jitter_std, linear_trend, moving_mean
from lossgap.plain import dataclass_to_plain
from lossgap.errors import ConfigError, DataError

#: A val-loss rise must exceed this many robust standard deviations of the val loss's jitter.
NOISE_MULTIPLE = 3.0
#: ... and this fraction of the minimum val loss, so a perfectly smooth curve still needs a real rise.
MIN_RELATIVE_RISE = 0.01
#: Relative rise (and gap growth) at which each half of overfitting_strength reaches 1 - 1/e.
STRENGTH_SCALE = 0.1
#: Train loss "kept falling" after the best epoch also when the median of its later half is at most this
#: fraction of its (smoothed) level at the best epoch.
TRAIN_HALVED = 0.5
#: ... and the train loss must fall by at least this share of the val loss's rise after the best epoch.
TRAIN_SHARE_OF_RISE = 0.25


@dataclass(frozen=True, eq=False)
class Generalization:
    """What the train and val loss curves say about overfitting.

    Attributes:
        best_epoch: 1-based epoch of the minimum of the lightly smoothed val loss (earliest on ties);
            None when no val loss is finite.
        min_val_loss: raw val loss at best_epoch (nats).
        onset_epoch: best_epoch when overfitting set in after it (val loss then rose clearly and train loss
            kept falling), else None.
        gap: float64 (E,) val loss - train loss per epoch (nats; NaN where either is missing).
        gap_at_best, gap_at_onset, gap_at_end: the gap at best_epoch, at onset_epoch (None without onset)
            and at the last epoch where both losses are finite.
        val_loss_rise: last finite val loss minus min_val_loss (nats, >= 0 unless the minimum is the end).
        val_jitter: the val loss's epoch-to-epoch jitter (nats, :func:`jitter_std`), the noise in that margin.
        val_rise_margin: how far the smoothed val loss had to rise above its minimum to count (nats).
        val_rose_clearly: the smoothed val loss at the end exceeds its minimum by more than val_rise_margin
            (an onset also needs the train loss to have kept falling).
        train_fall_after_best: fall of the train loss's least-squares line from best_epoch to the last epoch
            (nats, > 0 = fell; NaN when best_epoch is the last epoch).
        early_stopping_epoch: the epoch a patience-based early stopper on raw val loss would restore.
        early_stopping_stopped_at: the epoch at which it would have stopped training (None: never).
        overfitting_strength: score in [0, 1], see :func:`analyze_generalization`.
        unmargined_strength: the same score with no noise margin taken off the rise (>= overfitting_strength):
            how strong the rise would be if the val loss's jitter did not cover it. A curve whose loss climbs
            20% from its minimum through heavy jitter scores high here and 0 above.
    """

    best_epoch: int | None
    min_val_loss: float
    onset_epoch: int | None
    gap: np.ndarray
    gap_at_best: float
    gap_at_onset: float | None
    gap_at_end: float
    val_loss_rise: float
    val_jitter: float
    val_rise_margin: float
    val_rose_clearly: bool
    train_fall_after_best: float
    early_stopping_epoch: int | None
    early_stopping_stopped_at: int | None
    overfitting_strength: float
    unmargined_strength: float

    @property
    def overfitting(self) -> bool:
        """True when an onset was found."""
        return self.onset_epoch is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (gap as a list; NaN -> None)."""
        return dataclass_to_plain(self)


def early_stopping_epoch(val_loss, *, patience: int = 5, min_delta: float = 0.0) -> tuple[int | None, int | None]:
    """Replay a patience-based early stopper on raw ``val_loss`` (nats per epoch).

    An epoch improves when its loss is below the best so far minus ``min_delta``; non-finite losses never
    improve. Training stops after ``patience`` epochs in a row without improvement. Returns (1-based
    epoch the stopper would restore, 1-based epoch at which it stops or None if it would run to the end);
    the restored epoch is None when no loss is finite.
    """
    best_value, best_epoch, waited = math.inf, None, 0
    for index, value in enumerate(as_curve(val_loss)):
        if math.isfinite(value) and (best_epoch is None or value < best_value - min_delta):
            best_value, best_epoch, waited = float(value), index + 1, 0
            continue
        waited += 1
        if waited >= patience:
            return best_epoch, index + 1
    return best_epoch, None


def patience_to_minimum(val_loss, *, min_delta: float = 0.0) -> tuple[int | None, int | None]:
    """The smallest patience with which :func:`early_stopping_epoch` restores the epoch it would restore with
    unlimited patience: the lowest raw ``val_loss`` (nats per epoch; with ``min_delta`` > 0, the last epoch
    that improved on the best by more than it). Returns (that 1-based epoch, the patience), both None when no
    loss is finite. Any larger patience restores the same epoch, since nothing later improves on it. The
    patience is one more than the longest run of epochs without a new best before that epoch."""
    best_value, best_epoch, waited, longest = math.inf, None, 0, 0
    for index, value in enumerate(as_curve(val_loss)):
        if math.isfinite(value) and (best_epoch is None or value < best_value - min_delta):
            longest = max(longest, waited)
            best_value, best_epoch, waited = float(value), index + 1, 0
        else:
            waited += 1
    if best_epoch is None:
        return None, None
    return best_epoch, longest + 1


def _last_finite(values: np.ndarray) -> tuple[int | None, float]:
    finite = np.flatnonzero(np.isfinite(values))
    return (int(finite[-1]), float(values[finite[-1]])) if finite.size else (None, math.nan)


def _saturating(excess: float) -> float:
    return 1.0 - math.exp(-max(excess, 0.0) / STRENGTH_SCALE) if math.isfinite(excess) else 0.0


def analyze_generalization(train_loss, val_loss, *, patience: int = 5, min_delta: float = 0.0,
                           smoothing: int = 3) -> Generalization:
    """Best epoch, overfitting onset, gap and early-stopping replay from per-epoch train/val loss (nats).

    - best_epoch: minimum of val loss smoothed by a centered moving mean of ``smoothing`` (odd) epochs,
      among epochs whose raw val loss is finite; earliest on ties.
    - onset: the smoothed val loss at the last epoch exceeds its minimum by more than the margin
      max(NOISE_MULTIPLE x the val loss's epoch-to-epoch jitter (:func:`jitter_std`), MIN_RELATIVE_RISE x
      minimum, min_delta), and the train loss kept falling after best_epoch: its least-squares line from
      best_epoch to the end falls by more than the same margin rule applied to the train loss, or the median
      of its later half after best_epoch is at most TRAIN_HALVED x its smoothed level at best_epoch.
    - overfitting_strength = sqrt(s(rise) x s(growth)), where s(x) = 1 - exp(-x / 0.1), rise = (smoothed
      final - smoothed min val loss - margin) / smoothed min, and growth = (gap at end - gap at best) /
      smoothed min val loss. Both must be present for a high score: a 10% rise with a 10% gap growth scores
      ~0.6, 30% with 30% ~0.95; no rise beyond the noise scores 0.
    - unmargined_strength: the same with rise = (smoothed final - smoothed min val loss) / smoothed min.

    Raises DataError when the curves differ in length or are empty.
    """
    train = as_curve(train_loss)
    val = as_curve(val_loss)
    if train.shape != val.shape:
        raise DataError(f"{train.size} train losses but {val.size} val losses; pass one of each per epoch")
    if train.size == 0:
        raise DataError("no epochs to analyse; pass at least one epoch of train and val loss")
    if patience < 1:
        raise ConfigError(f"patience must be at least 1, got {patience}")
    if min_delta < 0:
        raise ConfigError(f"min_delta must be >= 0, got {min_delta}")
    if smoothing < 1 or smoothing % 2 == 0:
        raise ConfigError(f"smoothing must be a positive odd number of epochs, got {smoothing}; use 1 for none or 3")

    gap = val - train
    stop_restore, stopped_at = early_stopping_epoch(val, patience=patience, min_delta=min_delta)
    _, gap_at_end = _last_finite(gap)
    smooth_val = moving_mean(val, smoothing)
    smooth_train = moving_mean(train, smoothing)
    candidates = np.where(np.isfinite(val), smooth_val, np.nan)
    if not np.isfinite(candidates).any():
        return Generalization(None, math.nan, None, gap, math.nan, None, gap_at_end, math.nan, math.nan,
                              math.nan, False, math.nan, stop_restore, stopped_at, 0.0, 0.0)

    # Earliest epoch within rounding of the minimum: a mean of equal values can differ in the last bit.
    lowest = float(np.nanmin(candidates))
    best = int(np.flatnonzero(candidates <= lowest + 1e-12 * max(abs(lowest), 1.0))[0])
    min_val = float(val[best])
    smooth_min = float(candidates[best])
    last_val_index, last_val = _last_finite(val)
    smooth_last_val = float(smooth_val[last_val_index])
    val_jitter = jitter_std(val)
    val_margin = max(NOISE_MULTIPLE * val_jitter, MIN_RELATIVE_RISE * abs(smooth_min), min_delta)
    val_excess = smooth_last_val - smooth_min - val_margin

    # Train loss after the best epoch: the fall of its least-squares line from best to the last epoch, so a
    # curve that flattens at the best epoch does not count as "still falling" through smoothing.
    last_train_index, _ = _last_finite(train)
    if last_train_index is not None and last_train_index > best:
        slope, _ = linear_trend(train[best:last_train_index + 1])
        train_fall = -slope * (last_train_index - best) if math.isfinite(slope) else math.nan
    else:
        train_fall = math.nan
    train_level = float(smooth_train[best])
    train_margin = max(NOISE_MULTIPLE * jitter_std(train),
                       MIN_RELATIVE_RISE * abs(train_level) if math.isfinite(train_level) else 0.0)
    rose = last_val_index > best and val_excess > 0
    # A train loss already near zero at the best epoch can fall by less than its own jitter and still
    # vanish: halving it over the later epochs counts as falling too.
    train_halved = (last_train_index is not None and last_train_index > best and math.isfinite(train_level)
                    and _tail_median(train[best + 1:last_train_index + 1]) <= TRAIN_HALVED * train_level)
    # And by a share of what the val loss rose: a gap that grows only because val rises while train stays put
    # (a model its weight decay pins at 75% train accuracy, its 8 val samples drifting) is no memorisation.
    val_rise = smooth_last_val - smooth_min
    train_margin = max(train_margin, TRAIN_SHARE_OF_RISE * val_rise) if math.isfinite(val_rise) else train_margin
    train_kept_falling = (math.isfinite(train_fall) and train_fall > train_margin) or bool(train_halved)
    onset = best + 1 if rose and train_kept_falling else None

    gap_at_best = float(gap[best])
    growth = (gap_at_end - gap_at_best) / smooth_min if smooth_min > 0 and math.isfinite(gap_at_best) else math.nan
    rise = val_excess / smooth_min if smooth_min > 0 else math.nan
    strength = math.sqrt(_saturating(rise) * _saturating(growth))
    unmargined = (math.sqrt(_saturating((smooth_last_val - smooth_min) / smooth_min) * _saturating(growth))
                  if smooth_min > 0 else 0.0)
    return Generalization(
        best_epoch=best + 1,
        min_val_loss=min_val,
        onset_epoch=onset,
        gap=gap,
        gap_at_best=gap_at_best,
        gap_at_onset=gap_at_best if onset is not None else None,
        gap_at_end=gap_at_end,
        val_loss_rise=last_val - min_val,
        val_jitter=val_jitter,
        val_rise_margin=val_margin,
        val_rose_clearly=bool(rose),
        train_fall_after_best=train_fall,
        early_stopping_epoch=stop_restore,
        early_stopping_stopped_at=stopped_at,
        overfitting_strength=float(min(max(strength, 0.0), 1.0)),
        unmargined_strength=float(min(max(unmargined, strength, 0.0), 1.0)),
    )


def _tail_median(values: np.ndarray) -> float:
    """Median of the finite values in the later half of ``values`` (NaN when there are none)."""
    tail = values[len(values) // 2:]
    tail = tail[np.isfinite(tail)]
    return float(np.median(tail)) if tail.size else math.nan
