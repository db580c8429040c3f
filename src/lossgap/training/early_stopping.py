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

    @property
    def should_stop(self) -> bool:
        """True when early stopping is on and patience ran out."""
        return self.config.enabled and self.epochs_without_improvement >= self.config.patience
