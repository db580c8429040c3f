"""Tracking the best epoch of a monitored validation figure, and deciding when to stop."""

from __future__ import annotations

import math

import torch
from torch import nn

from lossgap.training.config import EarlyStoppingConfig


class BestTracker:
    """Remembers the best epoch of ``monitor`` and a copy of the weights at that epoch.

    The best epoch is tracked whether or not early stopping is on, so every run has a ``best.pt``.
    """

    def __init__(self, config: EarlyStoppingConfig) -> None:
        self.config = config
        self.maximize = config.monitor == "val_accuracy"
        self.best_value = -math.inf if self.maximize else math.inf
        self.best_epoch = 0
        self.best_state: dict[str, torch.Tensor] | None = None
        self.epochs_without_improvement = 0

    def update(self, epoch: int, value: float, model: nn.Module) -> bool:
        """Register ``value`` of the 1-based ``epoch``; returns True when it improved on the best by > min_delta."""
        if math.isnan(value):
            improved = False
        elif self.maximize:
            improved = value > self.best_value + self.config.min_delta
        else:
            improved = value < self.best_value - self.config.min_delta
        if improved or self.best_state is None and not math.isnan(value):
            self.best_value, self.best_epoch = value, epoch
            self.best_state = {key: tensor.detach().clone() for key, tensor in model.state_dict().items()}
            self.epochs_without_improvement = 0
            return True
        self.epochs_without_improvement += 1
        return False

    def state_dict(self) -> dict:
        """What :meth:`load_state_dict` needs to continue tracking (the best weights included)."""
        return {"best_value": self.best_value, "best_epoch": self.best_epoch, "best_state": self.best_state,
                "epochs_without_improvement": self.epochs_without_improvement}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`'s output."""
        self.best_value, self.best_epoch = float(state["best_value"]), int(state["best_epoch"])
        self.best_state = state["best_state"]
        self.epochs_without_improvement = int(state["epochs_without_improvement"])

    @property
    def should_stop(self) -> bool:
        """True when early stopping is on and patience ran out."""
        return self.config.enabled and self.epochs_without_improvement >= self.config.patience
