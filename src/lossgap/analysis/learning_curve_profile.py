"""Profile intervals of a learning curve's extrapolation: every saturating power law the measured means cannot
reject, not only those the seeds' bootstrap reaches.

A curve measured over a 2.5x span of training-set sizes hardly fixes its asymptote: a curve still climbing
and one about to flatten fit the same few means. When the seeds agree, a bootstrap over seeds refits nearly the
same curve every time and its interval misses that (the accuracy at 4x of draw 4 of
benchmarks/bench_more_data.py: 0.886 [0.835, 0.944] from the bootstrap, 0.810 measured). The profile interval
holds the figure of every power law ``y(n) = a + sign * b * (n / n_ref) ** -c`` (``b >= 0``, ``c`` and ``a``
within the fit's bounds) whose weighted misfit to the per-size means exceeds the best one's by at most
t(0.975, K-1)^2 (the 95% profile-likelihood cut, with each mean's variance estimated from K seeds). Pure numpy:
arrays in, floats out.
"""

from __future__ import annotations

import math

import numpy as np

#: Exponents and figure values the profile scans (a grid: the model is linear in the rest).
EXPONENT_GRID = 120
VALUE_GRID = 801
#: How far beyond the measured means (in multiples of their range) the scan reaches.
REACH = 20.0


def profile_interval(sizes: np.ndarray, values: np.ndarray, target: float, *, falling: bool,
                     asymptote_bounds: tuple[float, float], exponent_bounds: tuple[float, float],
                     gain_from: float | None = None) -> tuple[float, float]:
    """(low, high): the figure at training-set size ``target`` (samples), or with ``gain_from`` (a size) its
    gain from there to ``target`` (positive = better, the figure's unit), over every power law within the 95%
    profile cut of the best fit to the means of ``values`` (F sizes x K seeds, NaN for runs left out) at
    ``sizes`` (F,). (NaN, NaN) when it cannot be told: fewer than three sizes with a mean, fewer than two
    seeds, or seeds that agree exactly (no noise to weigh the misfit by)."""
    from scipy import stats  # on use: importing lossgap must not load scipy

    values = np.asarray(values, dtype=np.float64).reshape(len(sizes), -1)
    means, weights = _means_and_weights(values)
    usable = np.isfinite(means) & np.isfinite(weights)
    if usable.sum() < 3 or values.shape[1] < 2:
        return math.nan, math.nan
    sizes, means, weights = np.asarray(sizes, dtype=np.float64)[usable], means[usable], weights[usable]
    threshold = float(stats.t.ppf(0.975, values.shape[1] - 1) ** 2)
    reference = float(sizes.max())
    exponents = np.geomspace(*exponent_bounds, EXPONENT_GRID)
    shape = (sizes[None, :] / reference) ** -exponents[:, None]            # (C, F)
    at_target = (target / reference) ** -exponents                          # (C,)
    spread = float(means.max() - means.min()) + 1e-9
    sign = 1.0 if falling else -1.0
    if gain_from is None:
        grid, cost = _figure_costs(means, weights, shape, at_target, sign, spread, asymptote_bounds)
    else:
        grid, cost = _gain_costs(means, weights, shape, at_target, (gain_from / reference) ** -exponents, sign,
                                 spread, asymptote_bounds)
    inside = grid[cost <= cost.min() + threshold]
    return float(inside.min()), float(inside.max())


def _figure_costs(means, weights, shape, at_target, sign, spread, bounds):
    """Each candidate figure ``y*`` at the target and its least weighted misfit over the exponents: with the
    curve held through ``y*``, ``y_i = y* + sign b (u_i - u_t)`` is linear in ``b``, which is solved exactly
    and clipped to ``b >= 0`` and the asymptote ``y* - sign b u_t`` within ``bounds``."""
    low_a, high_a = bounds
    low = max(low_a, means.min() - REACH * spread) if math.isfinite(low_a) else means.min() - REACH * spread
    high = min(high_a, means.max() + REACH * spread) if math.isfinite(high_a) else means.max() + REACH * spread
    grid = np.linspace(low, high, VALUE_GRID)
    direction = sign * (shape - at_target[:, None])                          # (C, F)
    offset = means[None, None, :] - grid[None, :, None]                      # (1, Y, F)
    scale = ((weights * direction)[:, None, :] * offset).sum(-1) / (weights * direction ** 2).sum(-1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # a = y* - sign b u_t within [low_a, high_a]  <=>  b within these (u_t > 0).
        ends = [(grid[None, :] - bound) * sign / at_target[:, None] for bound in (low_a, high_a)]
    most, least = (ends[0], ends[1]) if sign > 0 else (ends[1], ends[0])
    least = np.maximum(np.nan_to_num(least, nan=0.0, neginf=0.0, posinf=np.inf), 0.0)
    most = np.nan_to_num(most, nan=np.inf, posinf=np.inf, neginf=-np.inf)
    scale = np.clip(scale, least, np.maximum(most, least))
    residual = offset - scale[..., None] * direction[:, None, :]
    cost = np.where(most >= least, (weights * residual ** 2).sum(-1), np.inf)
    return grid, cost.min(axis=0)


def _gain_costs(means, weights, shape, at_target, at_from, sign, spread, bounds):
    """Each candidate gain ``g`` from the ``gain_from`` size to the target and its least weighted misfit: the
    gain fixes ``b = g / (u_from - u_t)`` for each exponent, and the asymptote is the weighted mean of what is
    left, clipped to ``bounds``."""
    grid = np.linspace(0.0, REACH * spread, VALUE_GRID)
    scale = grid[None, :] / (at_from - at_target)[:, None]                  # (C, G)
    curve = (sign * scale)[..., None] * shape[:, None, :]                    # (C, G, F)
    asymptote = np.clip(((means - curve) * weights).sum(-1) / weights.sum(), *bounds)
    residual = means - asymptote[..., None] - curve
    return grid, (weights * residual ** 2).sum(-1).min(axis=0)


def _means_and_weights(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-size mean over finished seeds and its weight, 1 / squared standard error (each size's own seed sd,
    at least a tenth of the pooled one; the pooled one where a size has a single run). Weights are NaN when
    the seeds agree exactly."""
    finite = np.isfinite(values)
    counts = finite.sum(axis=1)
    means = np.where(counts > 0, np.where(finite, values, 0.0).sum(axis=1) / np.maximum(counts, 1), np.nan)
    deviations = np.where(finite, values - np.nan_to_num(means)[:, None], 0.0)
    dof = int(finite.sum() - (counts > 0).sum())
    pooled = math.sqrt(float((deviations ** 2).sum()) / dof) if dof > 0 else 0.0
    if pooled == 0.0:
        return means, np.full(len(values), np.nan)
    own = np.sqrt((deviations ** 2).sum(axis=1) / np.maximum(counts - 1, 1))
    sd = np.where(counts > 1, np.maximum(own, 0.1 * pooled), pooled)
    return means, np.where(counts > 0, counts / sd ** 2, np.nan)
