"""Run the baseline and each remedy over K seeds and judge them by the model each configuration delivers."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from lossgap.errors import ConfigError, RunDirError
from lossgap.io import write_json
from lossgap.parallel import EpochHook, JobHook, JobOutcome, TrainingPool, TrainJob
from lossgap.analysis.per_class import minority_classes
from lossgap.diagnosis.engine import diagnose_run
from lossgap.diagnosis.remedy import MORE_DATA, Remedy
from lossgap.remedies.candidates import CONTROL, check_remedy_names, remedy_candidates
from lossgap.remedies.earlier import earlier_results, finished_outcome
from lossgap.remedies.learning import CURVE_SEEDS, MoreDataOutcome, curve_jobs, more_data_outcome
from lossgap.remedies.outcome import ALPHA, LOWER_IS_BETTER, METRICS, Interval, Outcome, judge, mean_interval
from lossgap.report import write_report
from lossgap.run import rundir
from lossgap.run.data_source import run_train_config
from lossgap.training.config import TrainConfig, apply_changes

__all__ = ["ALPHA", "METRICS", "Interval", "Outcome", "RemediesInterrupted", "RemedyResult", "mean_interval",
           "run_remedies"]


#: Noise units (binomial, over val and the seeds) above chance within which a winner counts as still at chance.
CHANCE_NOISE = 2.0
#: A candidate that did not beat the baseline is pointed out when its mean gain is this many times the winner's
#: (see RemedyResult.overlooked), and at least OVERLOOKED_MIN_GAIN (nats or accuracy).
OVERLOOKED_FACTOR, OVERLOOKED_MIN_GAIN = 5.0, 0.02


@dataclass(frozen=True)
class RemedyResult:
    """The baseline, the candidates (those that beat it first, by p-value) and the winner, if any.

    ``metric`` is the one figure every candidate was judged on when ``--metric`` asked for one; None when each
    was judged on its own target (see :data:`lossgap.diagnosis.remedy.REMEDY_TARGETS`).
    """

    run: Path
    metric: str | None
    replicates: int
    baseline: Outcome
    candidates: tuple[Outcome, ...]
    #: The learning curve, when ``more_data`` was tried (it is not a configuration, so not a candidate).
    more_data: MoreDataOutcome | None = None
    #: remedy.json's learning curve from an earlier command with the same seeds, when this one ran none.
    earlier_more_data: dict | None = None
    #: Replicate runs taken as they were (finished earlier with the same configuration, seed and threads).
    reused: int = 0
    #: Why earlier results were dropped from remedy.json (other seeds or baseline), or None.
    note: str | None = None
    #: The val figure the winner is ranked by without --metric: val accuracy, or on a training set with minority
    #: classes balanced accuracy (trial 20: on 90/5/5 data weight decay won on plain accuracy at balanced accuracy
    #: 0.389, under the baseline's 0.439, while class weights reached 0.567, p=0.002).
    rank_on: str = "val_accuracy"
    #: Val samples per class (config.json's data.class_counts.val), when known: the chance level the winner is held to.
    val_counts: tuple[int, ...] | None = None

    @property
    def winner(self) -> Outcome | None:
        """Of the candidates that beat the baseline on their own figure, the best one, or None: the highest mean
        ``rank_on`` (val accuracy, or balanced accuracy on imbalanced data), then the lowest mean val loss (with
        ``--metric M``, the best mean M); means equal to 9 decimals tie (245 of 360 right is the same share whatever
        the order of the seeds' sum: a rounding error had broken a three-way tie against the val loss).

        Not the smallest p-value: with few seeds a tiny but steady gain gets a smaller p than a huge one (early
        stopping at val loss 0.694 and accuracy 0.75 had won over less regularisation at 0.071 and 1.000)."""
        beating = [c for c in self.candidates if c.beats_baseline and c.name != CONTROL]
        if not beating:
            return None

        def merit(outcome: Outcome) -> tuple[float, ...]:
            loss = round(outcome.interval("val_loss").mean, 9)
            if self.metric is not None:
                value = round(outcome.interval(self.metric).mean, 9)
                return (-value if self.metric in LOWER_IS_BETTER else value,)
            return (round(outcome.interval(self.rank_on).mean, 9), -loss)

        return max(beating, key=merit)

    @property
    def overlooked(self) -> tuple[Outcome, ...]:
        """Candidates that did not beat the baseline beyond noise but whose mean gain on their own figure is at
        least OVERLOOKED_FACTOR times the winner's (or any clear mean gain when nothing won): with few seeds a
        large but uneven gain misses the test while a tiny steady one passes (larger_hidden won at val loss
        1.382 -> 1.380, p=0.005, while higher_lr reached 0.560, p=0.061 with 2 seeds). More seeds decide."""
        winner = self.winner

        def gain(outcome: Outcome) -> float:
            metric = outcome.judged_on or "val_loss"
            change = outcome.interval(metric).mean - self.baseline.interval(metric).mean
            return -change if metric in LOWER_IS_BETTER else change

        floor = OVERLOOKED_FACTOR * gain(winner) if winner is not None else 0.0
        return tuple(c for c in self.candidates if not c.beats_baseline and c.name != CONTROL and c.judged_on
                     and gain(c) > max(floor, 0.0) and gain(c) >= OVERLOOKED_MIN_GAIN)

    @property
    def cautions(self) -> tuple[str, ...]:
        """What to keep in mind about the winner (trial 20): a winner that adds early stopping to a baseline without
        it chose the epoch it delivers on the val split it is scored on (on ItalyPowerDemand its val loss fell 74%
        and its test loss 15%); a winner still within CHANCE_NOISE noise units of chance (the majority share, or
        1/C for balanced accuracy) beat the baseline without learning the task (lr 0.5: early stopping won at val
        0.275 on 4 classes while a lower rate reached 0.733 and missed the test with 3 seeds)."""
        winner, notes = self.winner, []
        if winner is None:
            return ()
        if winner.config.early_stopping.enabled and not self.baseline.config.early_stopping.enabled:
            notes.append(f"{winner.name} chooses the epoch it delivers on this val split and is scored on the same "
                         "split, so its val figures lean in its favour; its runs' test figures (summary.json under "
                         f"remedy/{winner.name}/) are the check no choice has seen")
        counts = np.asarray(self.val_counts or (), dtype=float)
        if counts.size >= 2 and counts.sum() > 0:
            figure = self.metric if self.metric in ("val_accuracy", "val_balanced_accuracy") else self.rank_on
            chance = 1.0 / counts.size if figure == "val_balanced_accuracy" else float(counts.max() / counts.sum())
            noise = math.sqrt(chance * (1.0 - chance) / (counts.sum() * self.replicates))
            value = winner.interval(figure).mean
            if value <= chance + CHANCE_NOISE * noise:
                notes.append(f"the winner's mean {figure.replace('_', ' ')}, {value:.3f}, is still at chance ("
                             f"{chance:.3f}): it beat the baseline without learning the task; read the diagnosis and "
                             "the notes on the other remedies before adopting it")
        return tuple(notes)

    @property
    def control_reading(self) -> str | None:
        """What the permuted-label control shows, when it was tried: whether the true labels' val accuracy beats the
        shuffled labels' beyond noise (the baseline judged against the control, seed by seed), or None. The control
        is no remedy: it had been listed as one that "wins" on random labels with nothing saying what it showed."""
        control = next((outcome for outcome in self.candidates if outcome.name == CONTROL), None)
        if control is None:
            return None
        true, shuffled = self.baseline.interval("val_accuracy").mean, control.interval("val_accuracy").mean
        signal = judge(self.baseline, control, "val_accuracy")
        figures = (f"val accuracy {true:.3f} with the true labels against {shuffled:.3f} with shuffled ones "
                   f"(p={signal.p_value:.3f})")
        if signal.beats_baseline:
            return f"permuted-label control: {figures}: the true labels carry signal the shuffled ones do not"
        return (f"permuted-label control: {figures}: the true labels do no better than shuffled ones, so this model "
                "finds no signal in them")

    @property
    def seeds(self) -> tuple[int, ...]:
        """The seeds every configuration ran with (the baseline's)."""
        return self.baseline.seeds

    def to_dict(self) -> dict:
        """The content of remedy.json."""
        winner = self.winner
        curve = self.more_data.to_dict() if self.more_data is not None else self.earlier_more_data
        return {"run": str(self.run), "metric": self.metric, "rank_on": self.rank_on, "replicates": self.replicates,
                "alpha": ALPHA, "control_reading": self.control_reading, "cautions": list(self.cautions),
                "seeds": list(self.seeds), "baseline": self.baseline.to_dict(),
                "candidates": [c.to_dict() for c in self.candidates],
                "winner": winner.name if winner else None,
                "winner_command": winner.command if winner else None,
                **({"more_data": curve} if curve is not None else {})}


def delivered_figures(outcome: JobOutcome) -> dict[str, float]:
    """Val figures of the model a run delivers: its final epoch, or the restored best epoch with early stopping."""
    row = outcome.delivered_row
    return {metric: float(row[metric]) for metric in METRICS}


class RemediesInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped the remedy runs; the finished ones stay under RUN/remedy/."""


def run_remedies(run: str | Path, *, replicates: int = 3, only: list[str] | None = None, metric: str | None = None,
                 workers: int | None = None, curve_seeds: int = CURVE_SEEDS, on_epoch_end: EpochHook | None = None,
                 on_job_end: JobHook | None = None, on_plan: Callable[[list[TrainJob]], None] | None = None
                 ) -> RemedyResult:
    """Rerun ``run``'s configuration and each candidate remedy with ``replicates`` seeds; write remedy.json.

    Seeds are the run's seed + 0..K-1 for every configuration, so baseline and candidate share data splits
    and are compared seed by seed (paired one-sided t-test at ALPHA). Each candidate is judged on what it is
    meant to improve (its :attr:`~lossgap.diagnosis.Remedy.target`: val accuracy for ``monitor_accuracy``,
    balanced accuracy for ``class_weights``, val loss for the rest), or every one on ``metric`` when given.
    The runs are independent
    and trained by ``workers`` processes (default: one per core; see :func:`lossgap.parallel.train_jobs`),
    with the same results as one after another. ``more_data`` is no configuration: it adds the learning
    curve's runs (:func:`lossgap.remedies.learning.curve_jobs`; the baseline's runs are its full share) to
    the same pool (max(K, ``curve_seeds``) seeds per share), and its fit goes to :attr:`RemedyResult.more_data`
    and remedy.json's ``more_data``.
    ``on_plan(jobs)`` is called once with every run before any starts, ``on_epoch_end``/``on_job_end`` as
    they go. Raises :class:`RemediesInterrupted` on Ctrl-C.
    """
    if replicates < 2:
        raise ConfigError(f"--replicates must be at least 2 to tell an effect from noise, got {replicates}")
    if curve_seeds < 2:
        raise ConfigError(f"--curve-seeds must be at least 2 to tell a trend from noise, got {curve_seeds}")
    check_remedy_names(only)
    if metric is not None and metric not in METRICS:
        raise ConfigError(f"unknown --metric '{metric}'; choose one of {', '.join(METRICS)}")
    record = rundir.read_run(run)
    if not record.config.get("train"):
        raise RunDirError(f"{record.path} was not trained by 'lossgap train' (no configuration to rerun); "
                          "remedies need a lossgap run")
    # Candidates are judged on val: a refit per seed and candidate would double the cost and judge nothing.
    # The seed runs load the data again: an older run's relative data path is located first (or refused).
    config = run_train_config(record.config, record.path).model_copy(update={"control": "none", "refit": False})
    # The workers start (and import torch) while this process diagnoses the run and picks the candidates.
    with TrainingPool(workers) as pool:
        diagnosis = diagnose_run(record)
        data = record.config.get("data", {})
        counts = np.asarray(data.get("class_counts", {}).get("train", [1]), dtype=float)
        imbalanced = bool(minority_classes(counts))
        candidates = remedy_candidates(config, diagnosis, epochs_run=record.num_epochs,
                                       val_loss=record.metrics["val_loss"],
                                       imbalanced=imbalanced, only=only,
                                       run_dir=str(record.path),
                                       val_is_fixed=bool(data.get("val_is_fixed")))
        out_dir = record.path / rundir.REMEDY_DIR
        # more_data is a learning curve: its full share is the baseline's runs, the smaller shares run after.
        curve = any(candidate.name == MORE_DATA for candidate in candidates)
        candidates = [candidate for candidate in candidates if candidate.name != MORE_DATA]
        everything = [Remedy("baseline", "the run's own configuration"), *candidates]
        jobs = [job for candidate in everything for job in _seed_jobs(candidate, config, replicates, out_dir)]
        shares = curve_jobs(config, replicates, out_dir, minimum_seeds=curve_seeds) if curve else []
        jobs += shares
        # Runs that an earlier (perhaps interrupted) command finished with the same configuration are kept.
        reused = [finished_outcome(job, pool.threads) for job in jobs]
        to_train = [job for job, outcome in zip(jobs, reused) if outcome is None]
        if on_plan is not None:
            on_plan(to_train)
        finished = pool.run(to_train, on_epoch_end=on_epoch_end, on_job_end=on_job_end)
    if finished.interrupted:
        raise RemediesInterrupted
    trained = iter(finished.outcomes)
    outcomes = iter([outcome if outcome is not None else next(trained) for outcome in reused])
    runs = [[next(outcomes) for _ in range(replicates)] for _ in everything]
    seeds = tuple(config.seed + offset for offset in range(replicates))
    run_at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    baseline, *tried = [_outcome(candidate, config, seed_runs, seeds, run_at)
                        for candidate, seed_runs in zip(everything, runs)]
    learning = more_data_outcome(runs[0], list(outcomes), shares, replicates) if curve else None
    earlier = earlier_results(record.path / rundir.REMEDY_FILE, seeds=seeds, baseline=baseline.config.to_dict(),
                              replaced={candidate.name for candidate in candidates}, curve=curve)
    # A remedy's target follows from its name alone, so earlier candidates are judged on theirs too.
    judged = sorted((judge(outcome, baseline, metric or Remedy(outcome.name, "").target)
                     for outcome in (*tried, *earlier.candidates)),
                    key=lambda outcome: (not outcome.beats_baseline, outcome.p_value, outcome.name))
    result = RemedyResult(run=record.path, metric=metric, replicates=replicates, baseline=baseline,
                          candidates=tuple(judged), more_data=learning, earlier_more_data=earlier.more_data,
                          reused=len(jobs) - len(to_train), note=earlier.note,
                          rank_on="val_balanced_accuracy" if imbalanced else "val_accuracy",
                          val_counts=tuple(int(count) for count in data.get("class_counts", {}).get("val", ())))
    write_json(record.path / rundir.REMEDY_FILE, result.to_dict())
    write_report(record, diagnosis)
    return result


def _seed_jobs(candidate: Remedy, base: TrainConfig, replicates: int, out_dir: Path) -> list[TrainJob]:
    config = apply_changes(base, candidate.changes)
    return [TrainJob(label=f"{candidate.name} seed {base.seed + offset}",
                     config=config.model_copy(update={"seed": base.seed + offset}),
                     out=out_dir / candidate.name / f"seed_{base.seed + offset}",
                     permute_labels=candidate.name == CONTROL, diagnose_run=False)
            for offset in range(replicates)]


def _outcome(candidate: Remedy, base: TrainConfig, runs: list[JobOutcome], seeds: tuple[int, ...],
             run_at: str) -> Outcome:
    per_seed: dict[str, list[float]] = {metric: [] for metric in METRICS}
    for run in runs:
        for metric, value in delivered_figures(run).items():
            per_seed[metric].append(value)
    return Outcome(candidate.name, candidate.action, apply_changes(base, candidate.changes), per_seed,
                   command=candidate.command, seeds=seeds, run_at=run_at)
