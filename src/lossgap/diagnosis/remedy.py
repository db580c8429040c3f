"""A remedy: one thing to try, as a change to the run's configuration or as advice in words.

The value type the diagnosis hands out; :mod:`lossgap.diagnosis.remedies` builds them from a run's settings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Remedies that change the configuration, by the name ``lossgap remedy --only`` accepts.
REMEDY_NAMES = ("early_stopping", "dropout", "weight_decay", "smaller_hidden", "larger_hidden", "fewer_layers",
                "lower_lr", "higher_lr", "more_epochs", "class_weights", "clip_grad", "monitor_accuracy",
                "less_regularisation", "switch_model", "switch_optimizer", "recompute_batch_norm", "loosen_clip",
                "standardize", "more_data", "bidirectional", "shorter_average", "drop_suspects")
#: What each remedy is meant to improve, and so what ``lossgap remedy`` judges it on; the others: val loss.
#: Choosing the epoch by accuracy gives up val loss on purpose, and class weights trade overall figures for
#: the rare classes' recall: judged on val loss they could never win.
REMEDY_TARGETS = {"monitor_accuracy": "val_accuracy", "class_weights": "val_balanced_accuracy"}
#: The remedy that trains a learning curve instead of one changed configuration (``lossgap remedy`` runs it).
MORE_DATA = "more_data"
#: The experiment that trains the same configuration on shuffled labels: no remedy, what a setup gets from nothing.
PERMUTED_CONTROL = "permuted_control"
#: A training set of fewer samples than this is "little data": the diagnosis offers the learning curve
#: (more_data) when such a run overfits or its val accuracy plateaus. Most UCR/UEA sets are below it.
LITTLE_DATA = 2000

@dataclass(frozen=True)
class Remedy:
    """One thing to try: a name, a sentence with the run's numbers, the configuration change, the command.

    ``changes`` maps dotted TrainConfig paths (``"model.dropout"``) to new values; empty for advice that is
    not a setting (inspecting suspect samples, checking the data). ``command`` is the ``lossgap train``
    command line that tries it, or None (advice, or a run with no lossgap config).
    """

    name: str
    action: str
    changes: dict[str, Any] = field(default_factory=dict)
    command: str | None = None

    @property
    def target(self) -> str:
        """The val figure this remedy is meant to improve: ``val_loss``, ``val_accuracy`` or
        ``val_balanced_accuracy`` (see REMEDY_TARGETS)."""
        return REMEDY_TARGETS.get(self.name, "val_loss")

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"name": self.name, "action": self.action, "changes": dict(self.changes), "command": self.command,
                "target": self.target}


def little_data(train_class_counts) -> bool:
    """True when the training set (its per-class counts) holds fewer than LITTLE_DATA samples."""
    return 0 < float(sum(train_class_counts)) < LITTLE_DATA


def present(*remedies: Remedy | None) -> tuple[Remedy, ...]:
    """The remedies that apply (drops the None of remedies with nothing left to change)."""
    return tuple(remedy for remedy in remedies if remedy is not None)
