"""Noise-aware plateaus: windows of epochs where accuracy stays inside its own noise while the loss moves clearly.

The rule: "150 validation samples means one sample is 0.67 points of accuracy: never call a plateau or an
improvement that one or two samples explain." The noise of an accuracy measured on n samples is therefore
its binomial standard error, and never less than two samples' worth (2 / n). Epochs are 1-based in results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossgap.analysis.smoothing import as_curve, linear_trend, moving_median
from lossgap.plain import dataclass_to_plain
from lossgap.errors import ConfigError, DataError

#: A trend is "clear" when it is at least this many standard errors away from zero.
TREND_T = 3.0


@dataclass(frozen=True)
class Plateau:
    """A window of epochs where accuracy stayed within its noise while the loss moved clearly.

    Attributes:
        split: name of the split the curves belong to.
        start_epoch, end_epoch: first and last 1-based epoch of the window (inclusive).
        loss_change: loss at end_epoch minus loss at start_epoch (nats; negative = fell).
        accuracy_change: change of the lightly smoothed accuracy (centered median of 3) over the window,
            as a fraction; smoothed so one noisy epoch at an edge does not decide it.
        accuracy_noise: the accuracy noise the window was judged against (see :func:`accuracy_noise`).
        loss_start: loss at start_epoch (nats), to put loss_change in proportion.
        accuracy_mean: mean recorded accuracy over the window (as in metrics.csv; unsmoothed).
    """

    split: str
    start_epoch: int
    end_epoch: int
    loss_change: float
    accuracy_change: float
    accuracy_noise: float
    loss_start: float = math.nan
    accuracy_mean: float = math.nan

    @property
    def num_epochs(self) -> int:
        """Epochs in the window."""
        return self.end_epoch - self.start_epoch + 1

    @property
    def relative_loss_change(self) -> float:
        """loss_change / loss_start (fraction; -0.2 = the loss fell by a fifth); NaN if loss_start is 0."""
        return self.loss_change / self.loss_start if self.loss_start else math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields plus ``num_epochs`` and ``relative_loss_change`` (NaN -> None)."""
        out = dataclass_to_plain(self)
        out["num_epochs"] = self.num_epochs
        rel = self.relative_loss_change
        out["relative_loss_change"] = rel if math.isfinite(rel) else None
        return out


def accuracy_noise(accuracy, n: int):
    """Noise of an accuracy measured on ``n`` samples: max(binomial standard error sqrt(p(1-p)/n), 2/n).

    The 2/n floor is two samples' worth: a change that one or two samples explain is never a real change,
    even at p = 0 or 1 where the standard error vanishes. Returns a float (fraction) for a scalar
    ``accuracy``, an array for an array.
    """
    if n < 1:
        raise ConfigError(f"num_samples must be at least 1, got {n}; pass the size of the split")
    p = np.clip(np.asarray(accuracy, dtype=np.float64), 0.0, 1.0)
    noise = np.maximum(np.sqrt(p * (1.0 - p) / n), 2.0 / n)
    return float(noise) if noise.ndim == 0 else noise


def _flat_ends(accuracy: np.ndarray, usable: np.ndarray, n: int) -> np.ndarray:
    """int (E,): for each start index, the last index up to which the window's accuracy range stays within
    its noise and every epoch is usable (start - 1 when the start itself is not usable)."""
    size = accuracy.shape[0]
    ends = np.arange(size) - 1
    # Each start scans forward with running min/max (vectorised); the first failure ends the window.
    for start in np.flatnonzero(usable):
        stop = start + 1
        while stop < size and usable[stop]:
            stop += 1
        segment = accuracy[start:stop]
        spread = np.maximum.accumulate(segment) - np.minimum.accumulate(segment)
        means = np.cumsum(segment) / np.arange(1, segment.size + 1)
        within = spread <= accuracy_noise(means, n) * (1 + 1e-9)
        ends[start] = start + (segment.size if within.all() else int(np.argmin(within))) - 1
    return ends


def _trend_is_clear(values: np.ndarray, min_change: float) -> bool:
    """True when the least-squares change over ``values`` is at least ``min_change`` in size and the trend
    is at least TREND_T standard errors from zero (an exact line, with no jitter, is clear)."""
    slope, error = linear_trend(values)
    if not math.isfinite(slope):
        return False
    change = abs(slope) * (values.size - 1)
    if change == 0 or change < min_change:
        return False
    return not error > 0 or abs(slope) >= TREND_T * error


def find_plateaus(epoch_loss, epoch_accuracy, num_samples: int, split: str = "val", *, min_epochs: int = 5,
                  min_relative_loss_change: float = 0.02) -> tuple[Plateau, ...]:
    """Plateaus of one split's per-epoch loss (nats) and accuracy (fractions), largest loss fall first.

    A window of at least ``min_epochs`` epochs is a plateau when all of these hold:

    1. Accuracy is flat: the range of the accuracy, lightly smoothed by a centered median of 3 epochs (so a
       single noisy epoch does not split a plateau), is at most :func:`accuracy_noise` of its mean.
    2. Accuracy has no steady trend: its least-squares trend over the window does not both change it by
       more than half the noise and stand TREND_T (3) standard errors from zero. This stops a slow steady
       climb from being cut into short "plateaus".
    3. Loss moves clearly: the least-squares trend of the loss over the window is at least TREND_T standard
       errors from zero, the errors coming from the loss's own epoch-to-epoch jitter around that trend,
       and the fitted change is at least ``min_relative_loss_change`` of the window's mean loss.

    Windows are chosen longest first and never overlap; each is maximal (accuracy leaves its band, or the
    curves end or hold a non-finite value, right after it). Returns plateaus sorted by loss_change,
    largest fall first (a plateau where the loss rose comes after every one where it fell); empty when
    there are fewer than ``min_epochs`` epochs.
    """
    loss = as_curve(epoch_loss)
    accuracy = as_curve(epoch_accuracy)
    if loss.shape != accuracy.shape:
        raise DataError(f"{split}: {loss.size} loss values but {accuracy.size} accuracy values; "
                        "pass one of each per epoch")
    if isinstance(num_samples, bool) or int(num_samples) != num_samples or num_samples < 1:
        raise ConfigError(f"num_samples must be a positive integer, got {num_samples!r}; pass the size of the split")
    if min_epochs < 3:
        raise ConfigError(f"min_epochs must be at least 3, got {min_epochs}; a trend needs three epochs")
    n = int(num_samples)
    size = loss.size
    if size < min_epochs:
        return ()

    smoothed = moving_median(accuracy, 3)
    usable = np.isfinite(loss) & np.isfinite(smoothed) & np.isfinite(accuracy)
    ends = _flat_ends(smoothed, usable, n)
    checked: dict[tuple[int, int], bool] = {}

    def qualifies(start: int, end: int) -> bool:
        if (start, end) not in checked:
            window_accuracy = smoothed[start:end + 1]
            noise = accuracy_noise(float(window_accuracy.mean()), n)
            window_loss = loss[start:end + 1]
            checked[(start, end)] = (
                not _trend_is_clear(window_accuracy, noise / 2)
                and _trend_is_clear(window_loss, min_relative_loss_change * abs(float(window_loss.mean()))))
        return checked[(start, end)]

    covered = np.zeros(size, dtype=bool)
    windows: list[tuple[int, int]] = []
    while True:
        # First covered index at or after each start (size when none), to cut windows at accepted ones.
        covered_at = np.where(covered, np.arange(size), size)
        next_covered = np.minimum.accumulate(covered_at[::-1])[::-1]
        candidates = sorted(
            ((start, min(int(ends[start]), int(next_covered[start]) - 1))
             for start in range(size) if not covered[start]),
            key=lambda window: (window[0] - window[1], window[0]))
        chosen = next(((start, end) for start, end in candidates
                       if end - start + 1 >= min_epochs and qualifies(start, end)), None)
        if chosen is None:
            break
        windows.append(chosen)
        covered[chosen[0]:chosen[1] + 1] = True

    plateaus = []
    for start, end in windows:
        # The recorded (unsmoothed) mean: the figure a user finds again in metrics.csv; smoothing only decides.
        mean_accuracy = float(np.nanmean(accuracy[start:end + 1]))
        plateaus.append(Plateau(
            split=split, start_epoch=start + 1, end_epoch=end + 1,
            loss_change=float(loss[end] - loss[start]),
            accuracy_change=float(smoothed[end] - smoothed[start]),
            accuracy_noise=accuracy_noise(mean_accuracy, n),
            loss_start=float(loss[start]), accuracy_mean=mean_accuracy))
    return tuple(sorted(plateaus, key=lambda plateau: (plateau.loss_change, plateau.start_epoch)))


def main_plateau(plateaus) -> Plateau | None:
    """The plateau with the largest loss fall (the article's case), or None when the loss fell in none."""
    falling = [plateau for plateau in plateaus if plateau.loss_change < 0]
    return min(falling, key=lambda plateau: (plateau.loss_change, plateau.start_epoch)) if falling else None
