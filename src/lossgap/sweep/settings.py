"""How a sweep runs (:class:`SweepSettings`, checked on construction), the pruners it may use, and what is
checked before a sweep writes anything (:func:`preflight`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna

from lossgap.data.sequence import DatasetSplits
from lossgap.errors import ConfigError
from lossgap.sweep.objective import validation_splits
from lossgap.sweep.storage import default_storage_url
from lossgap.training.config import TrainConfig

PRUNERS = ("median", "hyperband", "none")


@dataclass(frozen=True)
class SweepSettings:
    """How a sweep runs.

    ``trials`` finished trials are added to the study on every call (a rerun adds N more). ``pruner_startup``
    finished trials must exist before the median pruner prunes; ``pruner_warmup`` epochs every trial runs
    before it can be pruned (Hyperband's minimum resource). ``timeout`` (seconds) stops starting new trials;
    running ones finish. ``threads`` is torch's thread count per worker: None means 1 with several workers
    and torch's default with one.
    """

    out: Path = Path("runs/sweep")
    trials: int = 20
    workers: int = 1
    storage: str | None = None
    study: str = "lossgap"
    pruner: str = "median"
    pruner_startup: int = 5
    pruner_warmup: int = 3
    timeout: float | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "out", Path(self.out))
        if self.trials < 1:
            raise ConfigError(f"--trials must be at least 1, got {self.trials}")
        if self.workers < 1:
            raise ConfigError(f"--workers must be at least 1, got {self.workers}")
        if self.pruner not in PRUNERS:
            raise ConfigError(f"unknown --pruner {self.pruner!r}; choose median, hyperband or none")
        if self.pruner_startup < 0 or self.pruner_warmup < 0:
            raise ConfigError("--pruner-startup and --pruner-warmup must be 0 or more, "
                              f"got {self.pruner_startup} and {self.pruner_warmup}")
        if self.timeout is not None and not self.timeout > 0:
            raise ConfigError(f"--timeout must be a positive number of seconds, got {self.timeout}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {self.threads}")
        if not self.study.strip():
            raise ConfigError("--study must be a non-empty name")

    @property
    def storage_url(self) -> str:
        """The given storage URL, or the SQLite file ``OUT/sweep.db``."""
        return self.storage or default_storage_url(self.out)


def make_pruner(name: str, *, epochs: int, startup: int = 5, warmup: int = 3) -> optuna.pruners.BasePruner:
    """The pruner ``name``: median (after ``startup`` finished trials and ``warmup`` epochs), Hyperband from
    ``warmup`` epochs up to ``epochs``, or none."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=startup, n_warmup_steps=warmup)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, min(warmup, epochs)), max_resource=max(1, epochs))
    return optuna.pruners.NopPruner()


def pruner_for(settings: SweepSettings, base: TrainConfig) -> optuna.pruners.BasePruner:
    """The pruner ``settings`` name, for trials of ``base.epochs`` epochs."""
    return make_pruner(settings.pruner, epochs=base.epochs, startup=settings.pruner_startup,
                       warmup=settings.pruner_warmup)


def preflight(base: TrainConfig) -> DatasetSplits:
    """Check what would otherwise fail every trial, before a sweep opens its storage or writes anything;
    returns the train and val splits every trial uses. ConfigError or DataError (one line) when the device
    is unusable (``--device cuda`` without CUDA) or the data cannot be loaded: refused then, no study is
    created, so the corrected command is not refused as "another study's settings"."""
    from lossgap.training.trainer import resolve_device

    resolve_device(base.device)
    return validation_splits(base)
