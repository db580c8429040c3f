"""One training of one configuration: seeded, the model built from the config, fitted. What the API, the
sweep's trials and the remedies' runs all call."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lossgap.data.sequence import DatasetSplits
from lossgap.model.registry import build_model
from lossgap.training.config import TrainConfig

if TYPE_CHECKING:
    from torch import nn

    from lossgap.training.distributed import Distributed
    from lossgap.training.recorder import Recorder
    from lossgap.training.trainer import EpochCallback, FitResult


@dataclass(frozen=True, eq=False)
class Trained:
    """A finished (or stopped) training: the model and the fit's history, best epoch and states."""

    model: nn.Module
    fit: FitResult


def model_for(config: TrainConfig, splits: DatasetSplits) -> nn.Module:
    """The classifier ``config.model`` describes for the features and classes of ``splits``; "auto" choices
    come from the train split only."""
    return build_model(config.model, num_features=splits.num_features, num_classes=splits.num_classes,
                       train_max_length=int(splits.train.lengths.max()))


def train_once(config: TrainConfig, splits: DatasetSplits, recorder: Recorder, *, seed: int | None = None,
               on_epoch_end: EpochCallback | None = None, on_model: Callable[[nn.Module], None] | None = None,
               on_checkpoint: Callable[[int, Callable[[], dict]], None] | None = None,
               resume: dict | None = None, distributed: Distributed | None = None) -> Trained:
    """Seed (``seed``, default ``config.seed``), build the model, call ``on_model(model)`` (e.g. to write the
    network's description), and fit it on ``splits``; returns the :class:`Trained` model and fit.

    Weight initialisation, shuffling and dropout all start from the seed, and the caller's global random
    state is restored afterwards. See :func:`lossgap.training.trainer.fit` for the callbacks, ``resume`` and
    ``distributed`` (data-parallel: every rank seeds alike, so all draw the same batches).
    """
    from lossgap.training.seeding import seeded
    from lossgap.training.trainer import fit, resolve_device

    device = resolve_device(config.device)
    with seeded(config.seed if seed is None else seed, device) as generator:
        model = model_for(config, splits)
        if on_model is not None:
            on_model(model)
        result = fit(model, splits, config, recorder, generator, on_epoch_end, on_checkpoint=on_checkpoint,
                     resume=resume, distributed=distributed)
    return Trained(model=model, fit=result)
