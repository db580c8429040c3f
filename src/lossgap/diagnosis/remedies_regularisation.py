"""Remedies that regularise more or less: early stopping, the epoch chosen by val accuracy, dropout, weight
decay, and less of both."""

from __future__ import annotations

from typing import Any

from lossgap.analysis.generalization import patience_to_minimum
from lossgap.diagnosis.constraints import light_decay_limit
from lossgap.diagnosis.remedy import Remedy
from lossgap.diagnosis.remedy_core import RemedyBookCore

#: Most dropout a remedy raises to.
MAX_DROPOUT = 0.5
#: Dropout a remedy proposes to a model without any (``dropout``), and so the most that holds nothing back.
LIGHT_DROPOUT = 0.2
#: Shortest early-stopping patience a remedy proposes: a fresh run's epoch-to-epoch noise must not stop it at once.
MIN_PATIENCE = 3


class RegularisationRemedies(RemedyBookCore):
    """Remedies that hold a model back more (or less)."""

    def early_stopping(self, val_loss) -> Remedy | None:
        """Stop at the val-loss minimum of ``val_loss`` (this run's raw per-epoch val loss): the patience is
        the smallest that, replayed on this curve, restores that epoch (at least MIN_PATIENCE, so a fresh
        run's noise does not stop it at once). None when the run already stops early on val loss and restores
        the best epoch, has no finite val loss, or has its lowest val loss at its last epoch (the epoch it
        delivers anyway)."""
        if self._get("early_stopping.patience") is not None and self._get("early_stopping.monitor") == "val_loss":
            return None
        target, needed = patience_to_minimum(val_loss, min_delta=float(self._get("early_stopping.min_delta") or 0))
        if target is None or target >= len(val_loss):
            return None  # the minimum is the last epoch: the run already delivers it
        patience = max(MIN_PATIENCE, needed)
        wait = (f"; its val loss went {needed - 1} epochs without a new low before that, hence the patience"
                if needed > MIN_PATIENCE else "")
        return self._remedy("early_stopping",
                            f"stop at the val-loss minimum (epoch {target} here): train with --early-stopping "
                            f"{patience}, which restores the best epoch's weights{wait}",
                            f"stop at the val-loss minimum (epoch {target} here) and keep that epoch's weights",
                            {"early_stopping.patience": patience, "early_stopping.monitor": "val_loss"})

    def monitor_accuracy(self, patience: int = 10) -> Remedy | None:
        """Choose the epoch by val accuracy when the loss keeps falling only through confidence."""
        if self._get("early_stopping.monitor") == "val_accuracy":
            return None
        patience = int(self._get("early_stopping.patience") or patience)
        return self._remedy("monitor_accuracy",
                            f"choose the epoch by val accuracy, not val loss: --early-stopping {patience} "
                            "--monitor val_accuracy",
                            "choose the epoch to keep by val accuracy, not val loss",
                            {"early_stopping.patience": patience, "early_stopping.monitor": "val_accuracy"})

    def dropout(self) -> Remedy | None:
        """Dropout raised by LIGHT_DROPOUT (at most MAX_DROPOUT); None when already at MAX_DROPOUT or more."""
        current = float(self._get("model.dropout"))
        if current >= MAX_DROPOUT:
            return None
        new = round(min(MAX_DROPOUT, current + LIGHT_DROPOUT), 2)
        return self._remedy("dropout", f"raise dropout from {current:g} to {new:g}: --dropout {new:g}",
                            f"add dropout (e.g. {LIGHT_DROPOUT:g})", {"model.dropout": new})

    def weight_decay(self) -> Remedy | None:
        """Weight decay 1e-4 from none, else ten times more, at most 0.1 and at most what the diagnosis would not
        call holding the model back (:func:`~lossgap.diagnosis.constraints.light_decay_limit`: AdamW at lr 0.01
        stops at 0.01, where 0.1 would shrink every weight by 0.1% per step); None when that is no more."""
        current = float(self._get("optimizer.weight_decay"))
        limit = min(0.1, light_decay_limit(self._optimizer()))
        new = float(f"{min(limit, 1e-4 if current == 0 else current * 10):.3g}")
        if new <= current:
            return None
        return self._remedy("weight_decay", f"add weight decay: {current:g} -> {new:g} (--weight-decay {new:g})",
                            "add weight decay (e.g. 1e-4)", {"optimizer.weight_decay": new})

    def less_regularisation(self) -> Remedy | None:
        """Weight decay divided by 100 (0 below 1e-5) and dropout off; None when the run has neither. Decay or
        dropout no stronger than a remedy would itself propose (``light_decay_limit``, LIGHT_DROPOUT) holds
        nothing back and is left alone: "weight decay 0.0001 -> 0" beside AdamW at lr 0.003, or "dropout 0.1 -> 0"
        for a model one unit wide, changes nothing a user could see."""
        decay = float(self._get("optimizer.weight_decay"))
        dropout = float(self._get("model.dropout"))
        limit = light_decay_limit(self._optimizer())
        heavy_decay = decay > limit
        if not heavy_decay and dropout <= LIGHT_DROPOUT:
            return None
        changes: dict[str, Any] = {}
        parts = []
        if heavy_decay:
            # A hundredth, and light enough not to hold the model back (Adam at 10 -> 0.01, not 0.1).
            lighter = min(decay / 100, limit)
            new_decay = float(f"{lighter:.3g}") if lighter >= 1e-5 else 0.0
            changes["optimizer.weight_decay"] = new_decay
            parts.append(f"weight decay {decay:g} -> {new_decay:g}")
        if dropout > LIGHT_DROPOUT:
            changes["model.dropout"] = 0.0
            parts.append(f"dropout {dropout:g} -> 0")
        return self._remedy("less_regularisation", "regularise less: " + ", ".join(parts),
                            "regularise less (smaller weight decay, less dropout)", changes)

    def _optimizer(self) -> dict:
        """The run's optimizer section (name, lr, weight decay), with lossgap's defaults where unset."""
        return self._values.get("optimizer") or {}
