"""The source article's three experiments, done the right way.

The article trains on random labels, scores accuracy on the training set, prints the last batch's loss and,
in its second experiment, keeps the old 1-feature data loader for a 5-feature model. Here each experiment
gets its own data of the right shape, a held-out stratified validation split, and epoch-mean losses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lossgap import api
from lossgap.training.config import DataConfig, ModelConfig, TrainConfig

if TYPE_CHECKING:
    from lossgap.training.trainer import EpochCallback


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
             progress: Callable[[DemoExperiment], EpochCallback | None] | None = None
             ) -> list[tuple[DemoExperiment, api.TrainResult]]:
    """Train the three experiments into ``out/<name>``; returns each experiment with its result.

    ``progress`` is called with each experiment before it starts and may return an epoch callback.
    """
    results = []
    for experiment in demo_experiments(epochs, seed, device):
        callback = progress(experiment) if progress is not None else None
        result = api.train(experiment.config, Path(out) / experiment.name, overwrite=overwrite,
                           on_epoch_end=callback)
        results.append((experiment, result))
    return results


def comparison_rows(results: list[tuple[DemoExperiment, api.TrainResult]]) -> list[dict]:
    """One row per experiment and moment (first, best, last epoch) with train/val loss and accuracy."""
    rows = []
    for experiment, result in results:
        history = result.fit.history
        moments = (("first", history[0]), ("best", history[result.fit.best_epoch - 1]), ("last", history[-1]))
        for moment, row in moments:
            rows.append({"experiment": experiment.name, "moment": moment, "epoch": int(row["epoch"]),
                         "train_loss": row["train_loss"], "train_accuracy": row["train_accuracy"],
                         "val_loss": row["val_loss"], "val_accuracy": row["val_accuracy"]})
    return rows
