"""Optimization health from the per-epoch curves: non-finite losses, spikes, oscillation, slopes at the end.

Evidence for the ``unstable_optimization`` (spikes, oscillation, NaN/inf) and ``underfitting``
(train and val loss both still falling at the end). Losses are per-epoch means in nats; epochs in results
are 1-based.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossgap.analysis.smoothing import MAD_TO_STD, as_curve, linear_trend
from lossgap.plain import dataclass_to_plain
from lossgap.errors import ConfigError, DataError

#: A spike's log-loss step must exceed the recent steps' median by this many robust standard deviations...
SPIKE_MAD = 3.0
#: ... and the loss must rise by more than this fraction over the previous epoch.
SPIKE_MIN_JUMP = 0.25
#: Epochs of recent steps a spike is judged against.
SPIKE_WINDOW = 10
#: Oscillating: at least this fraction of consecutive steps change sign...
OSCILLATION_MIN_SIGN_CHANGES = 0.6
#: ... with a half-swing of at least this fraction of the loss.
OSCILLATION_MIN_AMPLITUDE = 0.02
#: Still falling: the tail's trend is at least this many standard errors below zero...
FALLING_T = 3.0
#: ... and the loss falls by at least this fraction of itself per epoch.
FALLING_MIN_RELATIVE_SLOPE = 0.002
#: Share of the tail's epochs that must each set a new lowest val loss for the val loss to count as still
#: improving however slowly it falls (a learning rate far too low moves it by 0.02% per epoch, every epoch a
#: new low; epoch-to-epoch noise around a level sets a new low in a few of them at most).
NEW_LOW_SHARE = 0.75


@dataclass(frozen=True)
class Spike:
    """A sudden jump of one split's loss.

    Attributes:
        epoch: 1-based epoch whose loss jumped.
        split: "train" or "val".
        size: that epoch's loss divided by the previous epoch's (3.0 = tripled).
    """

    epoch: int
    split: str
    size: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields."""
        return dataclass_to_plain(self)


@dataclass(frozen=True)
class Oscillation:
    """How much one split's loss zig-zags over the tail.

    Attributes:
        split: "train" or "val".
        sign_change_fraction: fraction of consecutive loss steps whose direction flips (0 = monotone,
            1 = perfect zig-zag, about 2/3 for pure noise); NaN with fewer than two non-zero steps.
        relative_amplitude: mean |second difference| / 4 divided by the mean loss: the half-swing of a
            zig-zag as a fraction of the loss (about 0 for a smooth curve); NaN when undefined.
        oscillating: sign_change_fraction >= 0.6 and relative_amplitude >= 0.02.
    """

    split: str
    sign_change_fraction: float
    relative_amplitude: float
    oscillating: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (NaN -> None)."""
        return dataclass_to_plain(self)


@dataclass(frozen=True)
class OptimizationHealth:
    """Stability and progress of training, from per-epoch figures.

    Attributes:
        num_epochs: epochs E of the curves.
        tail_epochs: how many final epochs the slopes and oscillation were measured over.
        non_finite_epochs: 1-based epochs where the train or val loss is NaN or infinite.
        spikes: every :class:`Spike`, train first then val, in epoch order.
        train_oscillation, val_oscillation: :class:`Oscillation` of each loss over the tail (val None
            without a val loss).
        train_slope_end, val_slope_end: least-squares slope of the loss over the tail divided by the tail's
            mean loss: fraction of the loss per epoch (negative = still falling); NaN when undefined. Epochs spent
            in a spike the loss recovered from (see val_recovery_epochs) are left out.
        train_still_falling, val_still_falling: the slope is at most -0.002 per epoch and at least 3
            standard errors (from the tail's own jitter) below zero.
        val_new_low_share: share of the tail's epochs in which the val loss set a new lowest value of the run,
            in [0, 1], not counting val_recovery_epochs; NaN without a val loss.
        train_new_low_share: the same for the train loss, not counting the epochs of a train spike it recovered
            from.
        val_recovery_epochs: 1-based epochs of the tail spent in a val spike the run recovered from (the spike's
            epoch up to the first epoch back at or below the loss before it): they say nothing of the trend, and a
            GRU whose val loss set 7 new lows in 10 epochs around a 2-epoch spike had read as no longer improving.
        lr_end: last finite learning rate, or None.
        grad_norm_median, grad_norm_max: over the finite per-epoch gradient norms, or None.
    """

    num_epochs: int
    tail_epochs: int
    non_finite_epochs: tuple[int, ...]
    spikes: tuple[Spike, ...]
    train_oscillation: Oscillation
    val_oscillation: Oscillation | None
    train_slope_end: float
    val_slope_end: float
    train_still_falling: bool
    val_still_falling: bool
    val_new_low_share: float
    lr_end: float | None
    grad_norm_median: float | None
    grad_norm_max: float | None
    val_recovery_epochs: tuple[int, ...] = ()
    train_new_low_share: float = math.nan

    @property
    def val_still_improving(self) -> bool:
        """True when the val loss still falls at the end: clearly (``val_still_falling``) or slowly but to a new
        low in at least NEW_LOW_SHARE of the tail's epochs."""
        return self.val_still_falling or (self.val_new_low_share >= NEW_LOW_SHARE)

    @property
    def train_still_improving(self) -> bool:
        """True when the train loss still falls at the end: clearly (``train_still_falling``) or to a new low in at
        least NEW_LOW_SHARE of the tail's epochs outside a spike it recovered from (a run whose tail was mostly such a
        spike's recovery, then two new lows, has too few epochs left for a slope)."""
        return self.train_still_falling or (self.train_new_low_share >= NEW_LOW_SHARE)

    @property
    def oscillating(self) -> bool:
        """True when the train or the val loss oscillates over the tail."""
        return self.train_oscillation.oscillating or bool(self.val_oscillation and self.val_oscillation.oscillating)

    @property
    def unstable(self) -> bool:
        """True when a loss was non-finite, spiked, or the train loss oscillates."""
        return bool(self.non_finite_epochs or self.spikes or self.train_oscillation.oscillating)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields plus ``oscillating`` and ``unstable`` (NaN -> None)."""
        out = dataclass_to_plain(self)
        out["oscillating"] = self.oscillating
        out["unstable"] = self.unstable
        out["val_still_improving"] = self.val_still_improving
        out["train_still_improving"] = self.train_still_improving
        return out


def find_spikes(loss, split: str) -> tuple[Spike, ...]:
    """Epochs where ``loss`` jumps well above its recent trend.

    A step is the change of log loss from one epoch to the next. Epoch t is a spike when its step exceeds
    the median of the previous SPIKE_WINDOW (10) steps by more than SPIKE_MAD (3) robust standard
    deviations (1.4826 x median absolute deviation) of those steps, AND the loss rose by more than
    SPIKE_MIN_JUMP (25%) over epoch t - 1. With fewer than 3 earlier steps, all other steps of the curve
    are the reference. Working in log space makes the rule the same at any loss scale; the 25% floor keeps
    a very smooth curve's tiny wiggles from counting. Returns spikes in epoch order.
    """
    curve = as_curve(loss)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_loss = np.log(np.where(curve > 0, curve, np.nan))
    steps = np.diff(log_loss)
    spikes = []
    for index in np.flatnonzero(np.isfinite(steps)):
        recent = steps[max(index - SPIKE_WINDOW, 0):index]
        recent = recent[np.isfinite(recent)]
        if recent.size < 3:
            others = np.delete(steps, index)
            recent = others[np.isfinite(others)]
        center = float(np.median(recent)) if recent.size else 0.0
        spread = float(MAD_TO_STD * np.median(np.abs(recent - center))) if recent.size >= 2 else 0.0
        ratio = float(curve[index + 1] / curve[index])
        if steps[index] - center > SPIKE_MAD * spread and ratio - 1 > SPIKE_MIN_JUMP:
            spikes.append(Spike(epoch=int(index) + 2, split=split, size=ratio))
    return tuple(spikes)


def oscillation(loss, split: str) -> Oscillation:
    """The :class:`Oscillation` of ``loss`` (the tail to judge, non-finite values skipped)."""
    curve = as_curve(loss)
    values = curve[np.isfinite(curve)]
    steps = np.diff(values)
    directions = np.sign(steps)
    directions = directions[directions != 0]
    flips = directions[1:] != directions[:-1]
    fraction = float(np.mean(flips)) if flips.size else math.nan
    level = float(np.mean(values)) if values.size else math.nan
    if values.size >= 3 and level > 0:
        second = values[2:] - 2 * values[1:-1] + values[:-2]
        amplitude = float(np.mean(np.abs(second)) / 4 / level)
    else:
        amplitude = math.nan
    oscillating = (math.isfinite(fraction) and math.isfinite(amplitude)
                   and fraction >= OSCILLATION_MIN_SIGN_CHANGES and amplitude >= OSCILLATION_MIN_AMPLITUDE)
    return Oscillation(split=split, sign_change_fraction=fraction, relative_amplitude=amplitude,
                       oscillating=oscillating)


def new_low_share(loss, tail: int, skip: tuple[int, ...] = ()) -> float:
    """Share of the last ``tail`` epochs of ``loss`` whose value is below every earlier epoch's, in [0, 1]
    (non-finite epochs are never new lows and set none), the 1-based epochs in ``skip`` left out; NaN for an empty
    tail."""
    curve = np.where(np.isfinite(as_curve(loss)), as_curve(loss), np.inf)
    if tail < 1 or curve.size < 2:
        return math.nan
    tail = min(int(tail), curve.size - 1)
    lowest_before = np.minimum.accumulate(curve)[:-1]
    epochs = np.arange(curve.size - tail + 1, curve.size + 1)
    counted = ~np.isin(epochs, np.asarray(skip, dtype=np.int64))
    if not counted.any():
        return math.nan
    return float(np.mean((curve[1:][-tail:] < lowest_before[-tail:])[counted]))


def recovery_epochs(loss, spikes: tuple[Spike, ...]) -> tuple[int, ...]:
    """1-based epochs spent in spikes of this ``loss`` that it recovered from: from a spike's epoch up to, not
    including, the first later epoch whose loss is at or below the loss just before it. A spike inside another's
    episode (before that one recovered) belongs to it and is measured from where the episode began; an episode the
    run ended inside gives none (its last epochs are the trend, not an episode in it)."""
    curve = as_curve(loss)
    epochs: set[int] = set()
    reference, recovered_at = math.nan, 0    # the episode's starting loss, and the epoch its loss got back there
    for spike in sorted(spikes, key=lambda found: found.epoch):
        if spike.epoch >= recovered_at:      # a new episode
            reference, start = curve[spike.epoch - 2], spike.epoch
        later = np.flatnonzero(curve[spike.epoch:] <= reference)
        if not later.size:
            break                            # never back: this episode and any later spike are the run's end
        recovered_at = spike.epoch + int(later[0]) + 1
        epochs.update(range(start, recovered_at))
    return tuple(sorted(epochs))


def relative_slope(loss) -> tuple[float, bool]:
    """(least-squares slope / mean loss, still falling) of ``loss`` (the tail to judge), per epoch.

    Still falling: at least 3 finite epochs, relative slope <= -FALLING_MIN_RELATIVE_SLOPE, and the slope
    at least FALLING_T standard errors below zero (an exact straight fall has no error and counts).
    """
    curve = as_curve(loss)
    slope, error = linear_trend(curve)
    finite = curve[np.isfinite(curve)]
    level = float(np.mean(finite)) if finite.size else math.nan
    if not math.isfinite(slope) or not level > 0:
        return math.nan, False
    relative = slope / level
    falling = (finite.size >= 3 and relative <= -FALLING_MIN_RELATIVE_SLOPE
               and (not error > 0 or slope <= -FALLING_T * error))
    return relative, bool(falling)


def _without(curve: np.ndarray, epochs: tuple[int, ...]) -> np.ndarray:
    """``curve`` with the 1-based ``epochs`` set to NaN (skipped by the slope)."""
    if not epochs:
        return curve
    out = curve.copy()
    out[np.asarray(epochs, dtype=np.int64) - 1] = np.nan
    return out


def _optional_curve(values, size: int, name: str) -> np.ndarray | None:
    if values is None:
        return None
    curve = as_curve(values)
    if curve.size != size:
        raise DataError(f"{curve.size} {name} values for {size} epochs; pass one per epoch")
    return curve


def optimization_health(train_loss, val_loss=None, *, lr=None, grad_norm=None,
                        tail: int | None = None) -> OptimizationHealth:
    """Spikes, oscillation, non-finite epochs and end-of-training slopes from per-epoch curves.

    ``train_loss`` and ``val_loss`` are per-epoch mean losses (nats; val may be None); ``lr`` and
    ``grad_norm`` optional per-epoch values. ``tail`` is the number of final epochs the slopes and the
    oscillation are judged over (default: a quarter of the epochs, at least 5, at most all). Returns an
    :class:`OptimizationHealth`.
    """
    train = as_curve(train_loss)
    size = train.size
    if size == 0:
        raise DataError("no epochs to analyse; pass at least one epoch of train loss")
    val = _optional_curve(val_loss, size, "val loss")
    lr_curve = _optional_curve(lr, size, "learning-rate")
    grad_curve = _optional_curve(grad_norm, size, "gradient-norm")
    if tail is None:
        tail = min(size, max(5, size // 4))
    elif isinstance(tail, bool) or int(tail) != tail or tail < 2:
        raise ConfigError(f"tail must be an integer >= 2, got {tail!r}; e.g. 10 final epochs")
    tail = min(int(tail), size)

    # as_curve turned inf into NaN, so one isnan per split finds both.
    non_finite = np.isnan(train) | (np.isnan(val) if val is not None else False)
    train_spikes = find_spikes(train, "train")
    val_spikes = find_spikes(val, "val") if val is not None else ()
    spikes = train_spikes + val_spikes
    val_recovering = recovery_epochs(val, val_spikes) if val is not None else ()
    recovering = tuple(epoch for epoch in val_recovering if epoch > size - min(tail, size - 1))
    # A spike the loss recovered from says nothing of the trend either way: its epochs are left out of the slopes.
    train_recovering = recovery_epochs(train, train_spikes)
    train_slope, train_falling = relative_slope(_without(train, train_recovering)[-tail:])
    val_slope, val_falling = (relative_slope(_without(val, val_recovering)[-tail:]) if val is not None
                              else (math.nan, False))

    def finite(curve: np.ndarray | None) -> np.ndarray:
        return np.empty(0) if curve is None else curve[np.isfinite(curve)]

    lrs, grads = finite(lr_curve), finite(grad_curve)
    return OptimizationHealth(
        num_epochs=size,
        tail_epochs=tail,
        non_finite_epochs=tuple(int(index) + 1 for index in np.flatnonzero(non_finite)),
        spikes=spikes,
        train_oscillation=oscillation(train[-tail:], "train"),
        val_oscillation=oscillation(val[-tail:], "val") if val is not None else None,
        train_slope_end=train_slope,
        val_slope_end=val_slope,
        train_still_falling=train_falling,
        val_still_falling=val_falling,
        val_new_low_share=new_low_share(val, tail, recovering) if val is not None else math.nan,
        val_recovery_epochs=recovering,
        train_new_low_share=new_low_share(train, tail, train_recovering),
        lr_end=float(lrs[-1]) if lrs.size else None,
        grad_norm_median=float(np.median(grads)) if grads.size else None,
        grad_norm_max=float(np.max(grads)) if grads.size else None,
    )
