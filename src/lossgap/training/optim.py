"""Optimizer and learning-rate scheduler construction from :class:`OptimizerConfig`."""

from __future__ import annotations

import torch
from torch import nn

from lossgap.training.config import EarlyStoppingConfig, OptimizerConfig


def build_optimizer(model: nn.Module, config: OptimizerConfig) -> torch.optim.Optimizer:
    """The configured optimizer over all of ``model``'s parameters."""
    params = list(model.parameters())
    # The fused kernels update all parameters in one call; for small recurrent models the per-tensor
    # default loop costs about as much as the LSTM's own backward pass.
    if config.name == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    if config.name == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=True)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay,
                           fused=True)


def build_scheduler(optimizer: torch.optim.Optimizer, config: OptimizerConfig, stopping: EarlyStoppingConfig,
                    epochs: int):
    """The configured scheduler, or None; stepped once per epoch by the trainer.

    reduce-on-plateau watches the same validation figure as early stopping, with half its patience, so the
    learning rate gets a chance to drop before training stops.
    """
    if config.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if config.scheduler == "plateau":
        mode = "min" if stopping.monitor == "val_loss" else "max"
        patience = max(1, (stopping.patience or 10) // 2)
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode=mode, factor=0.5, patience=patience)
    return None
