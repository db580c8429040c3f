"""One configuration's results over seeds (baseline or candidate), its intervals, and the paired judgement."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from lossgap.training.config import TrainConfig

METRICS = ("val_loss", "val_accuracy", "val_balanced_accuracy")
#: The metrics of METRICS where lower is better (the others: higher is better).
LOWER_IS_BETTER = frozenset({"val_loss"})
#: The range each val figure can take: an interval never reaches outside it (a loss is >= 0, an accuracy a
#: fraction), however few seeds and however wide the t interval.
BOUNDS = {"val_loss": (0.0, math.inf), "val_accuracy": (0.0, 1.0), "val_balanced_accuracy": (0.0, 1.0)}
#: One-sided significance level of "beats the baseline" (paired t-test over seeds).
ALPHA = 0.05
#: Least mean gain over the baseline that counts as beating it, whatever the p-value: MIN_LOSS_GAIN of the baseline's
#: mean val loss, or MIN_ACCURACY_GAIN of (balanced) accuracy. A gain smaller changes nothing a user would act on,
#: and a steady one passes the t-test however small (trial 36: a larger hidden size under weight decay 0.5, every
#: seed at the constant guess's val loss, had "beaten the baseline beyond noise" by 2-3e-6 nats, p = 0.008).
MIN_LOSS_GAIN, MIN_ACCURACY_GAIN = 0.01, 0.005


@dataclass(frozen=True)
class Interval:
    """Mean over seeds and its 95% t interval (low, high), clipped to the figure's range."""

    mean: float
    low: float
    high: float
    #: True when the figure's range cut the t interval (an end at 0 or 1 for an accuracy, at 0 for a loss).
    clipped: bool = False

    @property
    def symmetric(self) -> bool:
        """True when the interval is mean ± one half width (not clipped: an accuracy of mean 0.5 clipped to
        [0, 1] on both sides had shown "±0.500", its true half width 0.53); False for NaN ends."""
        return not self.clipped and math.isfinite(self.low) and math.isfinite(self.high) and math.isclose(
            self.mean - self.low, self.high - self.mean, rel_tol=1e-9, abs_tol=1e-12)

    def to_dict(self) -> dict:
        """{"mean", "low", "high"}."""
        return {"mean": self.mean, "low": self.low, "high": self.high}


def mean_interval(values: list[float], bounds: tuple[float, float] = (-math.inf, math.inf)) -> Interval:
    """Mean and two-sided 95% Student-t interval of ``values``, clipped to ``bounds`` (the figure's range)."""
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean())
    if array.size < 2:
        return Interval(mean, math.nan, math.nan)
    from scipy import stats  # on use: scipy costs ~0.5 s that importing lossgap should not
    half = float(stats.t.ppf(0.975, array.size - 1) * array.std(ddof=1) / math.sqrt(array.size))
    low, high = bounds
    return Interval(mean, max(low, mean - half), min(high, mean + half),
                    clipped=bool(mean - half < low or mean + half > high))


@dataclass(frozen=True)
class Outcome:
    """One configuration's results over the seeds: the delivered model's val figures per seed and summarised.

    ``command`` is the ``lossgap train`` command that trains this configuration (into its own directory);
    ``seeds`` the seeds it ran with (paired with the baseline's), ``run_at`` when (ISO time, UTC).
    """

    name: str
    action: str
    config: TrainConfig
    per_seed: dict[str, list[float]]
    beats_baseline: bool = False
    p_value: float | None = None
    #: The val figure this configuration was judged on (what it is meant to improve, or --metric).
    judged_on: str | None = None
    command: str | None = None
    seeds: tuple[int, ...] = ()
    run_at: str | None = None

    def interval(self, metric: str) -> Interval:
        """Mean and 95% interval of ``metric`` over seeds, within the figure's range."""
        return mean_interval(self.per_seed[metric], BOUNDS.get(metric, (-math.inf, math.inf)))

    def to_dict(self) -> dict:
        """The remedy.json entry: name, config, {metric: {mean, low, high}}, beats_baseline, and the command."""
        return {"name": self.name, "action": self.action, "config": self.config.to_dict(),
                **{metric: self.interval(metric).to_dict() for metric in METRICS},
                "per_seed": self.per_seed, "judged_on": self.judged_on, "beats_baseline": self.beats_baseline,
                "p_value": self.p_value, "command": self.command, "seeds": list(self.seeds), "run_at": self.run_at}

    @classmethod
    def from_dict(cls, payload: dict) -> Outcome:
        """An entry of remedy.json back as an Outcome (its judgement as written)."""
        return cls(payload["name"], payload.get("action", ""), TrainConfig.from_dict(payload["config"]),
                   {metric: [float(value) for value in payload["per_seed"][metric]] for metric in METRICS},
                   bool(payload.get("beats_baseline")), payload.get("p_value"), payload.get("judged_on"),
                   payload.get("command"), tuple(payload.get("seeds") or ()), payload.get("run_at"))


def judge(outcome: Outcome, baseline: Outcome, metric: str) -> Outcome:
    """``outcome`` judged against ``baseline`` seed by seed on ``metric``: it beats the baseline when a paired
    one-sided t-test gives p < ALPHA and its mean gain is at least :func:`least_gain` (the p-value is kept either
    way)."""
    candidate_values = np.asarray(outcome.per_seed[metric])
    baseline_values = np.asarray(baseline.per_seed[metric])
    differences = candidate_values - baseline_values
    lower = metric in LOWER_IS_BETTER
    if np.allclose(differences, differences[0]):
        # A constant difference has no spread: the t-test is undefined; call it a win only if it is one.
        p_value = 0.0 if (differences[0] < 0 if lower else differences[0] > 0) else 1.0
    else:
        alternative = "less" if lower else "greater"
        from scipy import stats  # on use: scipy costs ~0.5 s that importing lossgap should not
        p_value = float(stats.ttest_rel(candidate_values, baseline_values, alternative=alternative).pvalue)
    gain = -float(differences.mean()) if lower else float(differences.mean())
    return replace(outcome, beats_baseline=bool(p_value < ALPHA and gain >= least_gain(baseline, metric)),
                   p_value=p_value, judged_on=metric)


def least_gain(baseline: Outcome, metric: str) -> float:
    """The least mean gain on ``metric`` that counts as beating ``baseline``: MIN_LOSS_GAIN of its mean val loss
    (nats), or MIN_ACCURACY_GAIN (a fraction of samples)."""
    if metric in LOWER_IS_BETTER:
        return MIN_LOSS_GAIN * abs(float(np.mean(baseline.per_seed[metric])))
    return MIN_ACCURACY_GAIN
