"""The source article's three experiments, done the right way.

The article trains on random labels, scores accuracy on the training set, prints the last batch's loss and,
in its second experiment, keeps the old 1-feature data loader for a 5-feature model. Here each experiment
gets its own data of the right shape, a held-out stratified validation split, and epoch-mean losses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lossgap.parallel import EpochHook, JobHook, JobOutcome, TrainJob, train_jobs
from lossgap.run import rundir
from lossgap.training.config import DataConfig, ModelConfig, TrainConfig


@dataclass(frozen=True)
class DemoExperiment:
    """One of the article's experiments: a name, what it shows, and its configuration."""

    name: str
    description: str
    config: TrainConfig


def demo_experiments(epochs: int = 50, seed: int = 0, device: str = "cpu") -> list[DemoExperiment]:
    """The article's three set-ups: 1 layer/hidden 16/input 1; input 5/hidden 32; 2 layers."""
    one_feature = DataConfig(source="synthetic:random-labels")
    five_features = DataConfig(source="synthetic:random-labels,features=5")
    common = dict(epochs=epochs, seed=seed, device=device)
    return [
        DemoExperiment("1-simple", "SimpleLSTM: 1 layer, hidden 16, 1 input feature",
                       TrainConfig(data=one_feature, model=ModelConfig(hidden_size=16), **common)),
        DemoExperiment("2-wider-input", "5 input features, hidden 32 (with its own 5-feature data)",
                       TrainConfig(data=five_features, model=ModelConfig(hidden_size=32), **common)),
        DemoExperiment("3-two-layers", "MultiLayerLSTM: 2 layers, hidden 32, 5 input features",
                       TrainConfig(data=five_features, model=ModelConfig(hidden_size=32, num_layers=2), **common)),
    ]


def run_demo(out: str | Path, *, epochs: int = 50, seed: int = 0, device: str = "cpu", overwrite: bool = False,
             workers: int | None = None, on_plan: Callable[[list[TrainJob]], None] | None = None,
             on_epoch_end: EpochHook | None = None, on_job_end: JobHook | None = None
             ) -> list[tuple[DemoExperiment, JobOutcome]]:
    """Train the three experiments into ``out/<name>`` (each diagnosed and reported), side by side in
    ``workers`` processes (default: one per core; the numbers do not depend on it); returns each experiment
    with its :class:`~lossgap.parallel.JobOutcome`. Raises KeyboardInterrupt when Ctrl-C or SIGTERM stopped
    them (what finished is on disk)."""
    experiments = demo_experiments(epochs, seed, device)
    jobs = [TrainJob(experiment.name, experiment.config, Path(out) / experiment.name, overwrite=overwrite)
            for experiment in experiments]
    if not overwrite:
        # Refuse before anything trains: a worker finding its directory taken would stop the others midway.
        for job in jobs:
            rundir.check_out_dir(job.out, overwrite)
    if on_plan is not None:
        on_plan(jobs)
    finished = train_jobs(jobs, workers=workers, on_epoch_end=on_epoch_end, on_job_end=on_job_end)
    if finished.interrupted:
        raise KeyboardInterrupt
    return list(zip(experiments, finished.outcomes))


def comparison_rows(results: list[tuple[DemoExperiment, JobOutcome]]) -> list[dict]:
    """One row per experiment and moment (first, best, last epoch) with train/val loss and accuracy."""
    rows = []
    for experiment, outcome in results:
        history = outcome.history
        moments = (("first", history[0]), ("best", history[outcome.best_epoch - 1]), ("last", history[-1]))
        for moment, row in moments:
            rows.append({"experiment": experiment.name, "moment": moment, "epoch": int(row["epoch"]),
                         "train_loss": row["train_loss"], "train_accuracy": row["train_accuracy"],
                         "val_loss": row["val_loss"], "val_accuracy": row["val_accuracy"]})
    return rows
