"""Remedies as concrete changes to the run's own configuration ("dropout 0.0 -> 0.2", "stop at epoch 14").

Each remedy names a change of :class:`~lossgap.training.config.TrainConfig` fields by dotted path, so
``lossgap remedy`` can apply it and print it as a ``lossgap train`` command. Runs trained outside lossgap have
no config; their remedies carry the advice and the parameters but no config change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Remedies that change the configuration, by the name ``lossgap remedy --only`` accepts.
REMEDY_NAMES = ("early_stopping", "dropout", "weight_decay", "smaller_hidden", "larger_hidden", "fewer_layers",
                "lower_lr", "higher_lr", "more_epochs", "class_weights", "clip_grad", "monitor_accuracy")


@dataclass(frozen=True)
class Remedy:
    """One thing to try: a name, a sentence with the run's numbers, and the configuration change it means.

    ``changes`` maps dotted TrainConfig paths (``"model.dropout"``) to new values; empty for advice that is
    not a setting (inspecting suspect samples, checking the data).
    """

    name: str
    action: str
    changes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"name": self.name, "action": self.action, "changes": dict(self.changes)}


class RemedyBook:
    """Builds remedies from a run's configuration (the ``train`` section of config.json, or None)."""

    def __init__(self, train_config: dict | None) -> None:
        self.config = train_config

    def _get(self, path: str, default: Any) -> Any:
        node: Any = self.config
        for key in path.split("."):
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return default if node is None else node

    @property
    def has_config(self) -> bool:
        """True for runs trained by lossgap (their remedies can be rerun)."""
        return self.config is not None

    def early_stopping(self, best_epoch: int, epochs_run: int) -> Remedy:
        """Stop at the val-loss minimum: patience long enough to pass noise, short enough to stop near it."""
        patience = int(min(10, max(3, round(0.1 * epochs_run))))
        return Remedy("early_stopping",
                      f"stop at epoch {best_epoch}, the val loss minimum: train with --early-stopping {patience} "
                      "(it restores the best epoch's weights)",
                      {"early_stopping.patience": patience, "early_stopping.monitor": "val_loss"})

    def monitor_accuracy(self, patience: int = 10) -> Remedy:
        """Choose the epoch by val accuracy when the loss keeps falling only through confidence."""
        return Remedy("monitor_accuracy",
                      "choose the epoch by val accuracy, not val loss: --early-stopping "
                      f"{patience} --monitor val_accuracy",
                      {"early_stopping.patience": patience, "early_stopping.monitor": "val_accuracy"})

    def dropout(self) -> Remedy | None:
        """Dropout raised by 0.2 (at most 0.5); None when already at 0.5 or more."""
        current = float(self._get("model.dropout", 0.0))
        if current >= 0.5:
            return None
        new = round(min(0.5, current + 0.2), 2)
        return Remedy("dropout", f"raise dropout from {current:g} to {new:g}", {"model.dropout": new})

    def weight_decay(self) -> Remedy | None:
        """Weight decay 1e-4 from none, else ten times more (at most 0.1)."""
        current = float(self._get("optimizer.weight_decay", 0.0))
        if current >= 0.1:
            return None
        new = 1e-4 if current == 0 else min(0.1, current * 10)
        return Remedy("weight_decay", f"add weight decay: {current:g} -> {new:g}", {"optimizer.weight_decay": new})

    def smaller_hidden(self) -> Remedy | None:
        """Half the hidden size (at least 4)."""
        hidden = int(self._get("model.hidden_size", 16))
        if hidden <= 4:
            return None
        new = max(4, hidden // 2)
        return Remedy("smaller_hidden", f"shrink the hidden size from {hidden} to {new}", {"model.hidden_size": new})

    def larger_hidden(self) -> Remedy:
        """Twice the hidden size."""
        hidden = int(self._get("model.hidden_size", 16))
        return Remedy("larger_hidden", f"grow the hidden size from {hidden} to {hidden * 2}",
                      {"model.hidden_size": hidden * 2})

    def fewer_layers(self) -> Remedy | None:
        """One layer fewer; None for a single-layer model."""
        layers = int(self._get("model.num_layers", 1))
        if layers <= 1:
            return None
        return Remedy("fewer_layers", f"use {layers - 1} LSTM layer(s) instead of {layers}",
                      {"model.num_layers": layers - 1})

    def lower_lr(self, factor: float = 3.0) -> Remedy:
        """Learning rate divided by ``factor``."""
        lr = float(self._get("optimizer.lr", 0.01))
        new = float(f"{lr / factor:.3g}")
        return Remedy("lower_lr", f"lower the learning rate from {lr:g} to {new:g}", {"optimizer.lr": new})

    def higher_lr(self, factor: float = 3.0) -> Remedy | None:
        """Learning rate times ``factor`` (None when already 0.03 or more: faster would risk instability)."""
        lr = float(self._get("optimizer.lr", 0.01))
        if lr >= 0.03:
            return None
        new = float(f"{lr * factor:.3g}")
        return Remedy("higher_lr", f"raise the learning rate from {lr:g} to {new:g}", {"optimizer.lr": new})

    def more_epochs(self, epochs_run: int) -> Remedy:
        """Twice the epochs (with early stopping so the extra epochs cannot hurt)."""
        epochs = int(self._get("epochs", epochs_run))
        return Remedy("more_epochs", f"train longer: {epochs} -> {epochs * 2} epochs, with early stopping",
                      {"epochs": epochs * 2, "early_stopping.patience": 10})

    def class_weights(self) -> Remedy | None:
        """Balanced class weights in the loss (None when already on)."""
        if self._get("class_weights", "none") == "balanced":
            return None
        return Remedy("class_weights", "weight the loss by inverse class frequency: --class-weights balanced",
                      {"class_weights": "balanced"})

    def clip_grad(self) -> Remedy | None:
        """Clip the total gradient norm at 1 (None when clipping is already on)."""
        if self._get("optimizer.clip_grad", None) is not None:
            return None
        return Remedy("clip_grad", "clip the gradient norm at 1.0: --clip-grad 1", {"optimizer.clip_grad": 1.0})

    @staticmethod
    def advice(name: str, action: str) -> Remedy:
        """A remedy that is not a setting (e.g. inspect suspect samples, check the data)."""
        return Remedy(name, action)


def present(*remedies: Remedy | None) -> tuple[Remedy, ...]:
    """The remedies that apply (drops the None of remedies with nothing left to change)."""
    return tuple(remedy for remedy in remedies if remedy is not None)
