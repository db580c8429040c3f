"""A run's per-epoch curves (losses, accuracies, learning rate), read from metrics.csv or computed from its dynamics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossgap.dynamics import SplitDynamics


@dataclass(frozen=True, eq=False)
class Curves:
    """Per-epoch figures (float64 (E,)): losses in nats, accuracies as fractions; lr and grad_norm may be None."""

    train_loss: np.ndarray
    val_loss: np.ndarray
    train_accuracy: np.ndarray
    val_accuracy: np.ndarray
    lr: np.ndarray | None
    grad_norm: np.ndarray | None
    #: The mean loss over the epoch's training batches, as the optimiser saw it (training mode, weights moving;
    #: metrics.csv's train_loss_running), when recorded; None for an own loop's run.
    train_loss_running: np.ndarray | None = None

    @property
    def num_epochs(self) -> int:
        """Epochs E."""
        return int(self.val_loss.shape[0])



def curves_from(metrics: dict[str, np.ndarray], dynamics: dict[str, SplitDynamics]) -> Curves:
    """Per-epoch curves: metrics.csv columns where present and finite, else computed from the dynamics."""

    def column(name: str, split: str, compute) -> np.ndarray:
        values = metrics.get(name)
        if values is not None and len(values) and np.isfinite(values).any():
            return np.asarray(values, dtype=np.float64)
        if split in dynamics:
            return compute(dynamics[split])
        return np.full(len(next(iter(dynamics.values())).true_log_prob), np.nan)

    return Curves(
        train_loss=column("train_loss", "train", SplitDynamics.epoch_loss),
        val_loss=column("val_loss", "val", SplitDynamics.epoch_loss),
        train_accuracy=column("train_accuracy", "train", SplitDynamics.epoch_accuracy),
        val_accuracy=column("val_accuracy", "val", SplitDynamics.epoch_accuracy),
        lr=metrics.get("lr"),
        grad_norm=metrics.get("grad_norm"),
        train_loss_running=metrics.get("train_loss_running"),
    )
