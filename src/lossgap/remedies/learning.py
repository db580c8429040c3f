"""The ``more_data`` remedy: the run's configuration trained on nested shares of its training split, and the
learning curve fitted to what those runs deliver (would more data help?).

The full share is the baseline's own runs (same configuration, same seeds) and, when the curve takes more seeds
than the baseline (:data:`CURVE_SEEDS`), the full share's runs of the extra seeds; the curve costs
FRACTIONS x M + (M - K) runs for M = max(K, CURVE_SEEDS), trained by the same worker pool as the other remedies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lossgap.analysis.learning_curve import LearningCurve, learning_curve
from lossgap.analysis.learning_curve_verdict import CANNOT_TELL, MoreDataVerdict, more_data_verdict
from lossgap.analysis.learning_region import chance_runs, learning_region
from lossgap.diagnosis.remedy import MORE_DATA
from lossgap.errors import RunDirError
from lossgap.run import rundir
from lossgap.training.config import TrainConfig
from lossgap.workers import JobOutcome, TrainJob

#: Shares of the run's training split trained besides the whole of it (the baseline's runs). Where the curve is
#: learned: a 25% share of a small training set often sits in the small-data region and is left out of the fit
#: (two of three draws of benchmarks/bench_more_data.py), leaving three points for three parameters; 40% spans
#: as much of the power-law region with four points (measured there: the verdict right in every draw).
FRACTIONS = (0.4, 0.6, 0.8)
#: Fewest seeds per share the curve trains, whatever the remedies' K. Its verdict reads a slope from runs on
#: small shares, whose delivered figures scatter far more than a remedy's effect does: each seed's log-log slope
#: of val loss had a standard deviation of 0.15 over the 41 seeds of draws 0-3 of benchmarks/bench_more_data.py
#: (a 95% t interval over K seeds is t(0.975, K-1) x 0.15 / sqrt(K) wide on each side: 0.19 at 5 seeds, 0.11
#: at 10). Resampling those seeds, a curve whose seeds' mean slope is 0.25 (draw 3's: 16% lower loss at 2x)
#: had the interval's low end clear the 2.5% fall the verdict asks in 67% of choices of 5 seeds, 93% of 8 and
#: 98% of 10; draw 3 was called "cannot tell" at 5.
CURVE_SEEDS = 10


def curve_seeds(replicates: int, minimum: int = CURVE_SEEDS) -> int:
    """Seeds per share the curve trains for remedies run with ``replicates`` seeds: max(K, ``minimum``)."""
    return max(int(replicates), int(minimum))


def curve_jobs(base: TrainConfig, replicates: int, out_dir: Path, fractions: tuple[float, ...] = FRACTIONS,
               minimum_seeds: int = CURVE_SEEDS) -> list[TrainJob]:
    """The runs of the curve: each share of the run's training set x seeds ``base.seed + 0..M-1`` (M =
    :func:`curve_seeds`), into ``out_dir/more_data/fraction_PP/seed_S``, then the whole training set for the
    seeds the baseline's K runs lack (``base.seed + K..M-1``, into ``fraction_100``). A run that already trains
    on a share (``--train-fraction``) has the curve's shares taken of that share, so its 2x is twice what it
    trained on."""
    seeds = curve_seeds(replicates, minimum_seeds)
    plan = [(fraction, range(seeds)) for fraction in fractions] + [(1.0, range(replicates, seeds))]
    jobs = []
    for fraction, offsets in plan:
        share = base.data.train_fraction * fraction
        config = base.model_copy(update={"data": base.data.model_copy(update={"train_fraction": share})})
        for offset in offsets:
            seed = base.seed + offset
            jobs.append(TrainJob(label=f"{MORE_DATA} {fraction:.0%} seed {seed}",
                                 config=config.model_copy(update={"seed": seed}),
                                 out=out_dir / MORE_DATA / f"fraction_{round(fraction * 100):02d}" / f"seed_{seed}",
                                 diagnose_run=False))
    return jobs


@dataclass(frozen=True)
class MoreDataOutcome:
    """The learning curve of val loss and val accuracy, and the verdict read from the accuracy curve.

    The curves are fitted to the power-law region (the shares where most seeds learned, from the smallest where
    every seed did); smaller shares are measured and listed in ``left_out_sizes`` but left out of the fit, and
    runs at chance inside the region (failed to train) are NaN in the curves' ``values``.

    ``fractions`` (ascending, ending at 1.0) are shares of the run's training set, ``sizes`` the training-set
    sizes they gave (samples), ``seeds`` the seeds per share (:func:`curve_seeds`; the first K of the full share
    are the baseline's runs). A curve is None when fewer than three shares finished.
    """

    fractions: tuple[float, ...]
    sizes: tuple[int, ...]
    loss: LearningCurve | None
    accuracy: LearningCurve | None
    verdict: MoreDataVerdict
    commands: tuple[str, ...]
    #: Training-set sizes (samples) left out of the fit: shares where not every seed learned.
    left_out_sizes: tuple[int, ...] = ()
    #: Their delivered figures: {"sizes", "val_loss", "val_accuracy"} (one row of seeds per size), for the figure.
    left_out_values: dict = field(default_factory=dict)
    #: Seeds per share (the baseline's K, or more: :data:`CURVE_SEEDS`).
    seeds: int = 0

    def to_dict(self) -> dict:
        """The ``more_data`` entry of remedy.json."""
        return {"name": MORE_DATA, "fractions": list(self.fractions), "sizes": list(self.sizes), "seeds": self.seeds,
                "val_loss": self.loss.to_dict() if self.loss is not None else None,
                "val_accuracy": self.accuracy.to_dict() if self.accuracy is not None else None,
                "verdict": self.verdict.code, "sentence": self.verdict.sentence, "commands": list(self.commands),
                "left_out_sizes": list(self.left_out_sizes), "left_out": self.left_out_values or None}


def more_data_outcome(baseline_runs: list[JobOutcome | None], curve_runs: list[JobOutcome | None],
                      jobs: list[TrainJob], replicates: int, fractions: tuple[float, ...] = FRACTIONS
                      ) -> MoreDataOutcome:
    """Fit the curve to the delivered val figures of ``curve_runs`` (the runs of ``jobs``, from :func:`curve_jobs`
    for ``replicates`` = K) and the baseline's K runs (the full share, with the curve's full-share runs of the
    seeds beyond K); returns the :class:`MoreDataOutcome`."""
    shares = (*fractions, 1.0)
    # The plan holds F x M runs and M - K more for the full share: M seeds per share, read off the plan itself.
    seeds = (len(jobs) + replicates) // len(shares)
    groups = [curve_runs[index * seeds:(index + 1) * seeds] for index in range(len(fractions))]
    groups.append([*baseline_runs, *curve_runs[len(fractions) * seeds:]])
    sizes = np.array([_train_size(group) for group in groups], dtype=np.float64)
    loss = np.array([[_delivered(run, "val_loss") for run in group] for group in groups])
    accuracy = np.array([[_delivered(run, "val_accuracy") for run in group] for group in groups])
    keep, failed = _power_law_region(groups, accuracy)
    loss, accuracy = np.where(failed, np.nan, loss), np.where(failed, np.nan, accuracy)
    too_few_learned = keep is None
    if too_few_learned:
        # The full share learned but fewer than three did: a power law through shares at chance bends where the
        # data does not, and three points are too few to fit one without them.
        keep = np.zeros(len(groups), dtype=bool)
    loss_curve = _curve("val_loss", sizes[keep], loss[keep], falling=True, bounds=(0.0, math.inf))
    accuracy_curve = _curve("val_accuracy", sizes[keep], accuracy[keep], falling=False, bounds=(0.0, 1.0))
    left_out = tuple(int(size) for size in sizes[~keep] if math.isfinite(size))
    dropped = ~keep & np.isfinite(sizes)
    left_out_values = {"sizes": list(left_out), "val_loss": loss[dropped].tolist(),
                       "val_accuracy": accuracy[dropped].tolist()}
    verdict = more_data_verdict(accuracy_curve, loss_curve)
    if too_few_learned:
        verdict = MoreDataVerdict(CANNOT_TELL, "cannot tell (the whole training set learned, but fewer than three "
                                  "of the shares did: too few points in the region where a learning curve holds; "
                                  "more seeds or a larger training set would tell)")
    elif left_out:
        verdict = MoreDataVerdict(verdict.code, verdict.sentence + f"; the {_listed(left_out)}-sample shares are left "
                                  "out of the fit: not every run learned there (the small-data region before a "
                                  "learning curve bends)")
    if failed.any() and not too_few_learned:
        verdict = MoreDataVerdict(verdict.code, verdict.sentence + f"; {int(failed.sum())} run(s) that stayed at "
                                  "chance above the smallest share fitted are left out (runs that failed to train)")
    commands = tuple(job.config.command() for job in jobs[:len(fractions) * seeds:seeds])
    return MoreDataOutcome(fractions=shares, sizes=tuple(int(size) if math.isfinite(size) else -1 for size in sizes),
                           loss=loss_curve, accuracy=accuracy_curve, verdict=verdict, commands=commands,
                           left_out_sizes=left_out, left_out_values=left_out_values, seeds=seeds)


def _power_law_region(groups: list[list[JobOutcome | None]],
                      accuracy: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    """The shares the curve is fitted to, bool (F,), and the runs left out inside them, bool (F, K).

    The shares: the power-law region (see :func:`~lossgap.analysis.learning_region.learning_region`: most runs
    learned, every run at its smallest share); every share when even the whole training set did not learn
    (random labels learn at no size: their flat curve is the answer) or the val split is unknown; None when the
    whole set learned but fewer than three shares did (no curve can be fitted). The runs: those at chance
    inside the region (above its smallest share, where every run learned), which failed to train and would pull
    their share's mean to chance; none when the curve is not fitted to that region.
    """
    everything = np.ones(len(groups), dtype=bool)
    no_runs = np.zeros(accuracy.shape, dtype=bool)
    counts = _val_class_counts(groups[-1])
    if counts is None or counts.sum() == 0:
        return everything, no_runs
    chance, val_samples = float(counts.max() / counts.sum()), int(counts.sum())
    region = learning_region(accuracy, chance=chance, val_samples=val_samples)
    if region.sum() >= 3:
        return region, chance_runs(accuracy, chance=chance, val_samples=val_samples) & region[:, None]
    return (None if region[-1] else everything), no_runs


def _val_class_counts(group: list[JobOutcome | None]) -> np.ndarray | None:
    """The val split's class counts from a run's config.json (the same for every share and seed), or None."""
    for run in group:
        if run is None:
            continue
        try:
            return np.asarray(rundir.read_config(run.run_dir)["data"]["class_counts"]["val"], dtype=np.float64)
        except (RunDirError, KeyError, TypeError, ValueError):
            continue
    return None


def _listed(sizes: tuple[int, ...]) -> str:
    """"61", "61 and 122", "61, 122 and 183"."""
    words = [str(size) for size in sizes]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _curve(metric: str, sizes: np.ndarray, values: np.ndarray, *, falling: bool,
           bounds: tuple[float, float]) -> LearningCurve | None:
    usable = np.isfinite(sizes) & np.isfinite(values).any(axis=1)
    if np.unique(sizes[usable]).size < 3:
        return None
    return learning_curve(metric, sizes[usable], values[usable], falling=falling, asymptote_bounds=bounds)


def _delivered(run: JobOutcome | None, metric: str) -> float:
    """The val figure of the model ``run`` delivers (NaN for a run that never finished an epoch)."""
    if run is None or not run.history:
        return math.nan
    return float(run.delivered_row[metric])


def _train_size(group: list[JobOutcome | None]) -> float:
    """Training-set size (samples) the runs of one share trained on, from their config.json (the same for
    every seed: each class keeps a fixed count); NaN when none finished."""
    for run in group:
        if run is None:
            continue
        try:
            return float(rundir.read_config(run.run_dir)["data"]["sizes"]["train"])
        except (RunDirError, KeyError, TypeError, ValueError):
            continue
    return math.nan

