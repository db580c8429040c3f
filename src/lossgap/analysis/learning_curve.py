"""Would more data help? A saturating power law fitted to val figures against training-set size.

The learning curve is the delivered val figure of the same configuration trained on nested fractions of the
training split, K seeds each. Its model is ``y(n) = asymptote + sign * scale * (n / n_full) ** -exponent``:
falling to the asymptote for a loss (sign +1), rising to it for an accuracy (sign -1), with ``scale >= 0`` so
the curve never says more data hurts. Intervals come from a bootstrap over seeds: each replicate resamples
the K seeds (each seed's whole curve) with replacement, refits, and predicts. Pure numpy (scipy on use): arrays in,
frozen dataclasses out. The verdict read from the curves is in :mod:`lossgap.analysis.learning_curve_verdict`,
the shares a curve is fitted to in :mod:`lossgap.analysis.learning_region`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import numpy as np

from lossgap.analysis.learning_curve_profile import profile_interval

#: Training-set sizes, as multiples of the full training split, the curve predicts.
MULTIPLES = (2.0, 4.0)
#: Bootstrap replicates of the fit.
BOOTSTRAP = 400
#: Exponents the fit may use: flatter than 0.05 is indistinguishable from a straight line in log n over the
#: sizes measured; steeper than 4 is a step.
EXPONENT_BOUNDS = (0.05, 4.0)
#: Exponents tried (log-spaced over EXPONENT_BOUNDS) for the least-squares start.
GRID_EXPONENTS = 25
#: Where the band of the figure is drawn: sizes from the smallest measured to this multiple of the full size.
BAND_POINTS = 40


@dataclass(frozen=True)
class PowerLaw:
    """``y(n) = asymptote + sign * scale * (n / reference) ** -exponent`` (sign +1 falling, -1 rising)."""

    asymptote: float
    scale: float
    exponent: float
    reference: float
    falling: bool

    def __call__(self, sizes: np.ndarray | float) -> np.ndarray:
        """The curve at training-set ``sizes`` (samples); float64 array of the figure's unit."""
        relative = np.asarray(sizes, dtype=np.float64) / self.reference
        sign = 1.0 if self.falling else -1.0
        return self.asymptote + sign * self.scale * relative ** -self.exponent

    def to_dict(self) -> dict:
        """JSON-ready parameters."""
        return {"asymptote": self.asymptote, "scale": self.scale, "exponent": self.exponent,
                "reference": self.reference, "falling": self.falling}


def fit_power_law(sizes: np.ndarray, values: np.ndarray, *, falling: bool,
                  asymptote_bounds: tuple[float, float] = (-math.inf, math.inf)) -> PowerLaw:
    """Least-squares saturating power law through (``sizes``, ``values``); the reference size is the largest.

    Needs three distinct sizes or more (three parameters); a curve going the wrong way (a loss that rises
    with data) fits as flat (scale 0). ``asymptote_bounds`` keeps the limit meaningful (an accuracy within
    [0, 1], a loss above 0). Raises ValueError on fewer than three distinct finite points.
    """
    from scipy.optimize import least_squares  # on use: importing lossgap must not load scipy

    sizes = np.asarray(sizes, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(sizes) & np.isfinite(values) & (sizes > 0)
    sizes, values = sizes[finite], values[finite]
    if np.unique(sizes).size < 3:
        raise ValueError("a power law needs the figure at three training-set sizes or more")
    reference = float(sizes.max())
    relative = sizes / reference
    sign = 1.0 if falling else -1.0
    low_a, high_a = asymptote_bounds
    start = _grid_start(relative, values, sign, low_a, high_a)

    log_relative = np.log(relative)

    def residuals(params: np.ndarray) -> np.ndarray:
        asymptote, scale, exponent = params
        return asymptote + sign * scale * relative ** -exponent - values

    def jacobian(params: np.ndarray) -> np.ndarray:
        # Exact derivatives: finite differences cost three more residual calls a step, a quarter of the fit
        # (the remedy's learning curve refits 400 bootstrap replicates per figure).
        _, scale, exponent = params
        powered = sign * relative ** -exponent
        return np.column_stack([np.ones_like(relative), powered, -scale * powered * log_relative])

    lower = [low_a, 0.0, EXPONENT_BOUNDS[0]]
    upper = [high_a, np.inf, EXPONENT_BOUNDS[1]]
    result = least_squares(residuals, start, jac=jacobian, bounds=(lower, upper), method="trf", x_scale="jac")
    asymptote, scale, exponent = (float(value) for value in result.x)
    return PowerLaw(asymptote, scale, exponent, reference, falling)


def _grid_start(relative: np.ndarray, values: np.ndarray, sign: float, low_a: float, high_a: float) -> np.ndarray:
    """A starting point inside the bounds: for each exponent on a grid the model is linear in (asymptote,
    scale), solved exactly (all exponents at once); the exponent with the smallest residual wins. Local
    optimisers started from one fixed guess miss the valley of shallow exponents."""
    exponents = np.geomspace(EXPONENT_BOUNDS[0], EXPONENT_BOUNDS[1], GRID_EXPONENTS)
    powered = sign * relative[None, :] ** -exponents[:, None]             # (exponents, points)
    centred = powered - powered.mean(axis=1, keepdims=True)
    spread = np.sum(centred ** 2, axis=1)
    covariance = centred @ (values - values.mean())
    # The least-squares slope of the values on each exponent's column (0 where the column is constant).
    scale = np.maximum(np.divide(covariance, spread, out=np.zeros_like(spread), where=spread > 0), 0.0)
    asymptote = np.clip(np.mean(values[None, :] - scale[:, None] * powered, axis=1), low_a, high_a)
    cost = np.sum((asymptote[:, None] + scale[:, None] * powered - values[None, :]) ** 2, axis=1)
    best = int(np.argmin(cost))
    return np.array([asymptote[best], scale[best], exponents[best]])


@dataclass(frozen=True)
class Estimate:
    """A figure and its 95% bootstrap interval (low, high), in the figure's unit."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict:
        """{"value", "low", "high"}."""
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Prediction:
    """The curve's figure at ``multiple`` x the full training split (``size`` samples)."""

    multiple: float
    size: float
    estimate: Estimate

    def to_dict(self) -> dict:
        """{"multiple", "size", "value", "low", "high"}."""
        return {"multiple": self.multiple, "size": self.size, **self.estimate.to_dict()}


@dataclass(frozen=True)
class LearningCurve:
    """One val figure against training-set size: the measurements, the fit, predictions and their intervals.

    ``sizes`` (F,) are training-set sizes in samples, ascending; ``values`` (F, K) the delivered figure of
    each seed (NaN where a run did not finish). ``gain`` is the fitted figure's change from the full size to
    2x (positive = better: lower loss, higher accuracy). ``band_sizes``/``band_low``/``band_high`` trace the
    95% band of the fitted curve from the smallest size to the largest multiple (for the figure).
    """

    metric: str
    sizes: np.ndarray
    values: np.ndarray
    fit: PowerLaw
    observed_full: float
    predictions: tuple[Prediction, ...]
    asymptote: Estimate
    gain: Estimate
    #: Root mean square of the fit's residuals against the per-size means (the figure's unit).
    residual_rms: float
    #: Pooled standard deviation over seeds within a size (the figure's unit).
    seed_sd: float
    band_sizes: np.ndarray
    band_low: np.ndarray
    band_high: np.ndarray
    #: The paired estimate of 2x (:func:`seed_fall`): share of the distance to the bound closed, t interval.
    seed_fall: Estimate = Estimate(math.nan, math.nan, math.nan)
    #: True when the fitted asymptote sits on the figure's own bound (a loss's 0, an accuracy's 1): the sizes measured
    #: do not fix a floor, so the asymptote is the bound, not a finding (trial 36: a val loss "asymptote 0.000" beside
    #: an accuracy asymptote of 0.865 from the same runs).
    asymptote_at_bound: bool = False

    def prediction(self, multiple: float) -> Prediction:
        """The prediction at ``multiple`` x the full size (KeyError when not predicted)."""
        for prediction in self.predictions:
            if prediction.multiple == multiple:
                return prediction
        raise KeyError(multiple)

    def to_dict(self) -> dict:
        """JSON-ready form (NaN stays NaN; the writer cleans it)."""
        return {"metric": self.metric, "sizes": self.sizes.tolist(), "per_seed": self.values.tolist(),
                "means": np.nanmean(self.values, axis=1).tolist(), "fit": self.fit.to_dict(),
                "observed_full": self.observed_full,
                "predictions": [prediction.to_dict() for prediction in self.predictions],
                "asymptote": self.asymptote.to_dict(), "gain_at_2x": self.gain.to_dict(),
                "residual_rms": self.residual_rms, "seed_sd": self.seed_sd,
                "seed_fall_at_2x": self.seed_fall.to_dict(), "asymptote_at_bound": self.asymptote_at_bound,
                "band": {"sizes": self.band_sizes.tolist(), "low": self.band_low.tolist(),
                         "high": self.band_high.tolist()}}


def learning_curve(metric: str, sizes: np.ndarray, values: np.ndarray, *, falling: bool,
                   asymptote_bounds: tuple[float, float] = (-math.inf, math.inf),
                   multiples: tuple[float, ...] = MULTIPLES, replicates: int = BOOTSTRAP,
                   seed: int = 0) -> LearningCurve:
    """Fit ``metric``'s learning curve and bootstrap it over seeds; returns a :class:`LearningCurve`.

    ``sizes`` (F,) training-set sizes in samples (F >= 3 distinct); ``values`` (F, K) the figure of each
    seed at each size; ``asymptote_bounds`` the figure's range (an accuracy's (0, 1), a loss's (0, inf)), which
    also bounds the predictions', the asymptote's and the band's intervals. Predictions at ``multiples`` of the largest size, the asymptote and the gain at 2x
    carry 95% percentile intervals over ``replicates`` bootstrap refits (seeded by ``seed``: same input, same
    intervals), widened by :func:`small_sample_factor` and, for predictions, gain and band, to hold the fit
    without the smallest size (:func:`_top_fit`) and every power law the means cannot reject
    (:func:`~lossgap.analysis.learning_curve_profile.profile_interval`: the asymptote a few means hardly fix).
    Raises ValueError when fewer than three sizes have a finite value.
    """
    order = np.argsort(np.asarray(sizes, dtype=np.float64))
    sizes = np.asarray(sizes, dtype=np.float64)[order]
    values = np.asarray(values, dtype=np.float64).reshape(len(sizes), -1)[order]
    means = _row_means(values)
    usable = np.isfinite(means)
    fit = fit_power_law(sizes[usable], means[usable], falling=falling, asymptote_bounds=asymptote_bounds)
    full = float(sizes.max())
    band_sizes = np.geomspace(sizes.min(), full * max(multiples), BAND_POINTS)
    targets = np.array([full * multiple for multiple in multiples])
    rng = np.random.default_rng(seed)
    draws = []  # per replicate: the curve at 1x, at each multiple, its asymptote, and along the band
    for _ in range(replicates):
        resampled = _row_means(_resample_seeds(values, rng))
        keep = np.isfinite(resampled)
        try:
            refit = fit_power_law(sizes[keep], resampled[keep], falling=falling, asymptote_bounds=asymptote_bounds)
        except ValueError:
            continue
        at = refit(np.concatenate([[full], targets, band_sizes]))
        draws.append(np.concatenate([at, [refit.asymptote]]))
    draws = np.asarray(draws).reshape(-1, 2 + len(targets) + len(band_sizes))
    # A percentile bootstrap over K seeds covers far less than 95% for few seeds (about 73% at K = 3, 83% at
    # K = 5 for a mean): widen each draw's distance from the fit by the small-sample factor of a mean's
    # interval, t(0.975, K-1) / 1.96 x sqrt(K / (K-1)).
    centre = np.concatenate([fit(np.concatenate([[full], targets, band_sizes])), [fit.asymptote]])
    draws = centre + small_sample_factor(values.shape[1]) * (draws - centre)
    direction = -1.0 if falling else 1.0   # gain: lower loss, higher accuracy
    gain_draws = direction * (draws[:, 1] - draws[:, 0])   # multiples[0] is 2x by default
    top = _top_fit(sizes[usable], means[usable], falling=falling, asymptote_bounds=asymptote_bounds)
    profile = partial(profile_interval, sizes, values, falling=falling, asymptote_bounds=asymptote_bounds,
                      exponent_bounds=EXPONENT_BOUNDS)
    predictions = tuple(Prediction(float(multiple), float(target),
                                   _within(_widen(_hull(_estimate(float(fit(target)), draws[:, 1 + i]), top, target),
                                                  profile(float(target))), asymptote_bounds))
                        for i, (multiple, target) in enumerate(zip(multiples, targets)))
    band = draws[:, 1 + len(targets):-1]
    band_low = np.percentile(band, 2.5, axis=0) if len(band) else np.full(BAND_POINTS, np.nan)
    band_high = np.percentile(band, 97.5, axis=0) if len(band) else np.full(BAND_POINTS, np.nan)
    profiled = np.array([profile(float(size)) for size in band_sizes])
    band_low, band_high = np.fmin(band_low, profiled[:, 0]), np.fmax(band_high, profiled[:, 1])
    # The widening above scales distances, not figures: it can carry an accuracy past 1 or a loss below 0.
    band_low, band_high = (np.clip(band, *asymptote_bounds) for band in (band_low, band_high))
    spread = values - means[:, None]
    deviations = spread[np.isfinite(spread)]
    seed_sd = float(np.sqrt(np.sum(deviations ** 2) / max(1, deviations.size - int(usable.sum()))))
    return LearningCurve(
        metric=metric, sizes=sizes, values=values, fit=fit, observed_full=float(means[-1]), predictions=predictions,
        asymptote=_within(_estimate(fit.asymptote, draws[:, -1]), asymptote_bounds),
        gain=_widen(_hull(_estimate(direction * float(fit(targets[0]) - fit(full)), gain_draws), top, targets[0],
                          gain_from=(full, direction)), profile(float(targets[0]), gain_from=full)),
        residual_rms=float(np.sqrt(np.mean((fit(sizes[usable]) - means[usable]) ** 2))), seed_sd=seed_sd,
        band_sizes=band_sizes,
        band_low=band_low, band_high=band_high,
        seed_fall=seed_fall(sizes, values, bound=asymptote_bounds[0] if falling else asymptote_bounds[1],
                            falling=falling),
        asymptote_at_bound=_on_bound(fit.asymptote, asymptote_bounds[0] if falling else asymptote_bounds[1]))


def _on_bound(value: float, bound: float) -> bool:
    """True when ``value`` lies on the finite ``bound``, within 1e-4 (the bounded fit stops a few 1e-6 short of it)."""
    return math.isfinite(bound) and abs(value - bound) <= 1e-4


def seed_fall(sizes: np.ndarray, values: np.ndarray, *, bound: float, falling: bool) -> Estimate:
    """The paired estimate of 2x the data: the share (fraction; negative = worse) of the distance to ``bound``
    (a loss's 0, an accuracy's 1) closed at 2x the largest size, with its 95% t interval over seeds; NaN
    without a finite bound or two seeds with a slope. Each seed (one val split, nested subsets) is a pure power
    law, a log-log line through its sizes: slope ``s`` closes ``1 - 2^-s`` per doubling, with no asymptote or
    exponent to fix from three or four noisy means (what widens the fit's bootstrap). Without a floor it reads
    more than a flattening curve gives (benchmarks/bench_more_data.py: up to 1.5x); the verdict uses its low end.
    """
    if not math.isfinite(bound):
        return Estimate(math.nan, math.nan, math.nan)
    from scipy import stats  # on use: importing lossgap must not load scipy

    distance = (np.asarray(values, dtype=np.float64) - bound) * (1.0 if falling else -1.0)
    log_n = np.log(np.asarray(sizes, dtype=np.float64))
    slopes = []
    for column in distance.T:
        usable = np.isfinite(column) & (column > 0)
        if np.unique(log_n[usable]).size < 2:
            continue
        x, y = log_n[usable], np.log(column[usable])
        slopes.append(-float(np.sum((x - x.mean()) * (y - y.mean())) / np.sum((x - x.mean()) ** 2)))
    if len(slopes) < 2:
        return Estimate(math.nan, math.nan, math.nan)
    mean, half = float(np.mean(slopes)), float(stats.t.ppf(0.975, len(slopes) - 1) * np.std(slopes, ddof=1)
                                                / math.sqrt(len(slopes)))
    # 1 - 2^-s is monotone in s: the slope's interval maps onto the share's.
    return Estimate(*(1.0 - 2.0 ** -slope for slope in (mean, mean - half, mean + half)))


def small_sample_factor(seeds: int) -> float:
    """How much wider than a percentile bootstrap over ``seeds`` seeds a 95% interval must be:
    t(0.975, K-1) / 1.96 x sqrt(K / (K-1)) (the bootstrap's spread is the plug-in one, and its tails are
    normal ones); 1.0 for fewer than two seeds, where no interval exists."""
    if seeds < 2:
        return 1.0
    from scipy import stats  # on use: importing lossgap must not load scipy

    return float(stats.t.ppf(0.975, seeds - 1) / stats.norm.ppf(0.975) * math.sqrt(seeds / (seeds - 1)))


def _top_fit(sizes: np.ndarray, means: np.ndarray, *, falling: bool,
             asymptote_bounds: tuple[float, float]) -> PowerLaw | None:
    """The power law through every size but the smallest (None under four sizes). Where the power-law region
    starts is uncertain, and a curve about to flatten shows it only at its top: a model uncertainty the
    bootstrap over seeds cannot see, so the intervals are widened to hold this fit too (:func:`_hull`)."""
    try:
        return fit_power_law(sizes[1:], means[1:], falling=falling, asymptote_bounds=asymptote_bounds) \
            if len(sizes) >= 4 else None
    except ValueError:
        return None


def _hull(estimate: Estimate, top: PowerLaw | None, size: float,
          gain_from: tuple[float, float] | None = None) -> Estimate:
    """``estimate`` widened to hold ``top``'s figure at ``size`` (with ``gain_from`` = (full size, direction):
    its gain from the full size to ``size``)."""
    if top is None or not math.isfinite(estimate.low):
        return estimate
    value = float(top(size)) if gain_from is None else gain_from[1] * float(top(size) - top(gain_from[0]))
    return _widen(estimate, (value, value))


def _widen(estimate: Estimate, bounds: tuple[float, float]) -> Estimate:
    """``estimate`` widened to hold ``bounds`` (low, high; NaN ones are ignored)."""
    lows = [value for value in (estimate.low, bounds[0]) if math.isfinite(value)]
    highs = [value for value in (estimate.high, bounds[1]) if math.isfinite(value)]
    return Estimate(estimate.value, min(lows) if lows else math.nan, max(highs) if highs else math.nan)


def _within(estimate: Estimate, bounds: tuple[float, float]) -> Estimate:
    """``estimate`` with its interval clipped to the figure's range ``bounds`` (an accuracy's [0, 1], a loss's
    [0, inf)): the small-sample widening scales the draws' distance from the fit and can carry them past it."""
    low, high = bounds
    return Estimate(estimate.value, *(value if value != value else min(max(value, low), high)
                                      for value in (estimate.low, estimate.high)))


def _row_means(values: np.ndarray) -> np.ndarray:
    """Mean over seeds of each size, NaN for a size with no finite value (without numpy's warning)."""
    counts = np.isfinite(values).sum(axis=1)
    totals = np.where(np.isfinite(values), values, 0.0).sum(axis=1)
    return np.where(counts > 0, totals / np.maximum(counts, 1), np.nan)


def _resample_seeds(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The K seeds drawn with replacement, whole curves at a time: one seed's runs share its validation split
    and nested subsets, so a lucky split lifts its whole curve; resampling whole curves keeps that shared
    shift in the level's interval and out of the gain's."""
    picks = rng.integers(0, values.shape[1], size=values.shape[1])
    return values[:, picks]


def _estimate(value: float, draws: np.ndarray) -> Estimate:
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return Estimate(value, math.nan, math.nan)
    return Estimate(value, float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5)))
