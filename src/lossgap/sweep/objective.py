"""One sweep trial: train a sampled configuration, report val loss every epoch, let the pruner stop it."""

from __future__ import annotations

import math

import numpy as np
import optuna

from lossgap.api import build_model, load_data
from lossgap.data.sequence import DatasetSplits
from lossgap.remedies.candidates import apply_changes
from lossgap.sweep.space import SearchSpace
from lossgap.training.config import TrainConfig
from lossgap.training.recorder import Recorder
from lossgap.training.seeding import seeded
from lossgap.training.trainer import fit, resolve_device


class _Pruned(Exception):
    """Raised from the epoch callback to leave fit() when the pruner says so."""


def make_objective(base: TrainConfig, space: SearchSpace):
    """The objective of a study: the best val loss (nats) of the sampled configuration, lower is better.

    The data are loaded once per process; each trial's seed is the base seed plus the trial number, so a
    trial is reproducible. The test split is never looked at.
    """
    splits: DatasetSplits | None = None

    def objective(trial: optuna.Trial) -> float:
        nonlocal splits
        config = apply_changes(base, space.suggest(trial)).model_copy(update={"seed": base.seed + trial.number})
        if splits is None:
            splits = load_data(config)[0]
        trial.set_user_attr("config", config.to_dict())
        losses: list[float] = []

        def report(row: dict[str, float]) -> None:
            value = row["val_loss"]
            losses.append(value)
            trial.report(value if math.isfinite(value) else 1e9, int(row["epoch"]))
            if trial.should_prune():
                raise _Pruned

        device = resolve_device(config.device)
        try:
            with seeded(config.seed, device) as generator:
                model = build_model(config, splits.num_features, splits.num_classes)
                # Only the validation split matters for the search: the test split is dropped here.
                result = fit(model, DatasetSplits(train=splits.train, val=splits.val, source=splits.source), config,
                    Recorder(), generator, report)
        except _Pruned:
            raise optuna.TrialPruned(f"pruned at epoch {len(losses)}") from None
        if result.stop_reason == "interrupted":
            # fit() keeps what finished on Ctrl-C; a sweep must stop instead of starting the next trial.
            raise KeyboardInterrupt
        finite = [loss for loss in losses if math.isfinite(loss)]
        return float(np.min(finite)) if finite else float("inf")

    return objective
