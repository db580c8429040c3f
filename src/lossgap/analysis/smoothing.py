"""Small numeric helpers shared by the curve analyses: light smoothing, robust spread, trends, JSON values.

Curves here are per-epoch figures (E,) that may hold NaN/inf for epochs where nothing was recorded or the
loss blew up; every helper treats non-finite entries as missing rather than failing.
"""

from __future__ import annotations

import math

import numpy as np

#: Factor turning a median absolute deviation into a standard deviation for normally distributed values.
MAD_TO_STD = 1.482602218505602


def as_curve(values) -> np.ndarray:
    """``values`` as a new 1-D float64 array with +-inf replaced by NaN (missing)."""
    curve = np.atleast_1d(np.array(values, dtype=np.float64)).reshape(-1)
    curve[~np.isfinite(curve)] = np.nan
    return curve


def moving_median(values, window: int = 3) -> np.ndarray:
    """Centered moving median of ``values`` over ``window`` (odd) epochs, float64 (E,), NaN-aware.

    Near the ends the window shrinks symmetrically (the first and last values are kept as they are), so
    every smoothed value is the median of a centered window and a trend is never bent at the edges.
    Missing (non-finite) values are skipped; a window with no finite value gives NaN. A median keeps
    steps sharp and ignores one outlying epoch, which suits accuracy curves.
    """
    return _centered(values, window, median=True)


def moving_mean(values, window: int = 3) -> np.ndarray:
    """Centered moving mean of ``values`` over ``window`` (odd) epochs, float64 (E,), NaN-aware.

    Same windows as :func:`moving_median`. Unlike a median, a mean does not flatten a sharp minimum into
    a three-epoch tie, so it suits locating the minimum of a loss curve.
    """
    return _centered(values, window, median=False)


def _centered(values, window: int, *, median: bool) -> np.ndarray:
    curve = as_curve(values)
    if window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd number, got {window}")
    half = window // 2
    size = curve.shape[0]
    if half == 0 or size == 0:
        return curve.copy()
    smoothed = np.empty(size)
    if size > 2 * half:
        windows = np.lib.stride_tricks.sliding_window_view(curve, window)
        empty = np.isnan(windows).all(axis=1)
        # nanmedian warns on all-NaN rows; give those rows a dummy value and mark them missing afterwards.
        filled = np.where(empty[:, None], 0.0, windows)
        inner = np.nanmedian(filled, axis=1) if median else np.nanmean(filled, axis=1)
        inner[empty] = np.nan
        smoothed[half:size - half] = inner
    for index in list(range(min(half, size))) + list(range(max(size - half, half), size)):
        reach = min(index, size - 1 - index, half)
        part = curve[index - reach:index + reach + 1]
        part = part[np.isfinite(part)]
        smoothed[index] = (float(np.median(part)) if median else float(np.mean(part))) if part.size else math.nan
    return smoothed


def robust_std(values) -> float:
    """Robust standard deviation (1.4826 x median absolute deviation) of the finite ``values``; NaN if none."""
    finite = as_curve(values)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return math.nan
    return float(MAD_TO_STD * np.median(np.abs(finite - np.median(finite))))


def jitter_std(values) -> float:
    """Epoch-to-epoch jitter of a curve: robust standard deviation of its second differences / sqrt(6).

    For independent noise of standard deviation s on a locally straight trend, second differences have
    standard deviation s * sqrt(6), and a smooth trend adds almost nothing to them. Non-finite values are
    skipped (their neighbouring differences are dropped). Returns 0.0 with fewer than 3 finite values.
    """
    curve = as_curve(values)
    second = curve[2:] - 2 * curve[1:-1] + curve[:-2]
    spread = robust_std(second) if second.size else math.nan
    return spread / math.sqrt(6) if math.isfinite(spread) else 0.0


def linear_trend(values) -> tuple[float, float]:
    """Least-squares slope of ``values`` against their index (units per epoch) and its standard error.

    Non-finite values are skipped. Returns (NaN, NaN) with fewer than 2 finite values and a NaN standard
    error with exactly 2 (a line through two points has no residual to judge it by).
    """
    curve = as_curve(values)
    epochs = np.flatnonzero(np.isfinite(curve)).astype(np.float64)
    ys = curve[np.isfinite(curve)]
    if ys.size < 2:
        return math.nan, math.nan
    centered = epochs - epochs.mean()
    spread = float(np.sum(centered ** 2))
    slope = float(np.sum(centered * (ys - ys.mean())) / spread)
    if ys.size < 3:
        return slope, math.nan
    residuals = ys - ys.mean() - slope * centered
    variance = float(np.sum(residuals ** 2)) / (ys.size - 2)
    return slope, math.sqrt(variance / spread)
