"""Refit (``--refit``): once a run has chosen its epoch count on val, train a second model on train + val.

The run holds out a stratified share of its training split for validation (``--val-fraction``, 20% by
default) to choose the epoch it delivers. A refit then trains a fresh model of the same architecture on the
whole training split, val included, for exactly that many epochs, replaying the learning rate the run used in
each of them (what the plateau or cosine schedule set), with the run's seed, optimiser, batch size, clipping,
class weights and weight average (``--ema``: the refit delivers its own average). Nothing is chosen by the refit
itself: no figure of it is monitored, and the test split is only reported. It is the usual "choose on val, then retrain on everything" protocol; on small data sets the
val share is a large part of what there is to learn from (6 of ArrowHead's 36 series).

The refit model has no val split left to be judged on, so the run's diagnosis and report stay those of the
val-split run; the refit is a delivered model beside ``best.pt``, not a run of its own.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from torch import nn

from lossgap.data.sequence import DatasetSplits, SequenceData
from lossgap.training.config import TrainConfig


@dataclass(frozen=True, eq=False)
class Refit:
    """A model retrained on train + val: its epochs, the learning rate of each, its samples and test figures.

    ``test`` is None when the data have no test split; ``seconds`` is the refit's training time in seconds.
    """

    model: nn.Module
    epochs: int
    learning_rates: list[float]
    train_samples: int
    test: object | None
    seconds: float

    def summary(self) -> dict:
        """summary.json's ``refit`` entry: epochs, samples, the learning rates' range, test figures (plain types;
        the run directory adds where the checkpoint is)."""
        test = None
        if self.test is not None:
            test = {"epoch": self.epochs, "loss": self.test.loss, "accuracy": self.test.accuracy,
                    "balanced_accuracy": self.test.balanced_accuracy, "num_samples": self.test.num_samples}
        return {"epochs": self.epochs, "train_samples": self.train_samples,
                "trained_on": "train+val", "first_lr": self.learning_rates[0], "last_lr": self.learning_rates[-1],
                "test": test, "train_seconds": self.seconds}


def merged_train(splits: DatasetSplits) -> SequenceData:
    """The run's train and val splits as one training split (same padded length, ids kept)."""
    train, val = splits.train, splits.val
    steps = max(train.max_length, val.max_length)

    def padded(part: SequenceData) -> np.ndarray:
        # Both splits are carved from one source, so they share a padded length; a fixed val file may not.
        missing = steps - part.max_length
        return np.pad(part.features, ((0, 0), (0, missing), (0, 0))) if missing else part.features

    return SequenceData(features=np.concatenate([padded(train), padded(val)]),
                        lengths=np.concatenate([train.lengths, val.lengths]),
                        labels=np.concatenate([train.labels, val.labels]),
                        ids=np.concatenate([train.ids, val.ids]),
                        class_names=train.class_names, name=train.name, split="train")


def refit_schedule(history: list[dict[str, float]], epochs: int) -> list[float]:
    """The learning rate of each of the run's first ``epochs`` epochs (its metrics rows' ``lr``), in order."""
    if not 1 <= epochs <= len(history):
        raise ValueError(f"a refit needs 1..{len(history)} epochs of the run's history, got {epochs}")
    return [float(row["lr"]) for row in history[:epochs]]


def refit(config: TrainConfig, splits: DatasetSplits, model: nn.Module, history: list[dict[str, float]],
          epochs: int, *, seed: int | None = None) -> Refit:
    """Train a fresh copy of ``model``'s architecture on train + val for ``epochs`` epochs; returns a :class:`Refit`.

    ``history`` is the run's metrics rows (their ``lr`` is replayed); ``epochs`` is normally the run's delivered
    epoch. Initialisation, shuffling and dropout start from ``seed`` (default ``config.seed``); the caller's
    random state is restored afterwards. The test split, when present, is evaluated once at the end.
    """
    from lossgap.errors import ConfigError
    from lossgap.model.registry import model_from_hyperparameters
    from lossgap.training.averaging import weight_average
    from lossgap.training.batching import DeviceSplit
    from lossgap.training.optim import build_optimizer
    from lossgap.training.seeding import seeded
    from lossgap.training.trainer import class_weight_tensor, evaluate, resolve_device, train_one_epoch

    learning_rates = refit_schedule(history, epochs)
    device = resolve_device(config.device)
    train_data = merged_train(splits)
    # The run's own training pass, without its records: nothing of the refit is recorded or monitored.
    unrecorded = config.model_copy(update={"record_train": "eval"})
    started = time.perf_counter()
    with seeded(config.seed if seed is None else seed, device) as generator:
        # Rebuilt from the run's own model, so "auto" choices (patch length, readout) are the run's.
        fresh = model_from_hyperparameters(model.hyperparameters()).to(device)
        optimizer = build_optimizer(fresh, config.optimizer)
        weights = (class_weight_tensor(train_data.labels, splits.num_classes, device)
                   if config.class_weights == "balanced" else None)
        loss_function = nn.CrossEntropyLoss(weight=weights)
        max_norm = config.optimizer.clip_grad if config.optimizer.clip_grad is not None else math.inf
        train = DeviceSplit.from_data(train_data, device)
        # With --ema the refit delivers its weight average too, as the run does.
        average = weight_average(fresh, config.optimizer.ema, train.num_samples, config.batch_size)
        for learning_rate in learning_rates:
            for group in optimizer.param_groups:
                group["lr"] = learning_rate
            mean_loss, _ = train_one_epoch(fresh, train, optimizer, loss_function, max_norm, unrecorded, None,
                                           generator, device, None, None, average)
            if not math.isfinite(mean_loss):
                raise ConfigError(f"the refit's loss became {mean_loss}; the run's own epochs stayed finite, "
                                  "so try a lower --lr (the run itself is written)")
        if average is not None:
            average.refresh(train, config.eval_batch_size)
            fresh.load_state_dict(average.model.state_dict())
        fresh.eval()
    seconds = time.perf_counter() - started
    test = None
    if splits.test is not None:
        test = evaluate(fresh, DeviceSplit.from_data(splits.test, device), config.eval_batch_size)
    return Refit(model=fresh, epochs=epochs, learning_rates=learning_rates, train_samples=train_data.num_samples,
                 test=test, seconds=seconds)
