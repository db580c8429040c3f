"""The core of the remedy book: a run's settings (its config, or an own loop's described settings, over
lossgap's defaults) and the one way a remedy is built from changes of them (with its ready command, or in words
for an own loop). The remedies themselves live by concern beside it (regularisation, capacity, optimisation)
and are gathered in :class:`~lossgap.diagnosis.remedies.RemedyBook`.
"""

from __future__ import annotations

from typing import Any

from lossgap.class_weights import weighs_classes
from lossgap.diagnosis.constraints import has_batch_norm
from lossgap.diagnosis.described import described_changes, known_settings, merged_settings
from lossgap.diagnosis.remedy import Remedy
from lossgap.errors import ConfigError
from lossgap.options import value_at
from lossgap.training.config import TrainConfig, apply_changes


class RemedyBookCore:
    """A run's settings and the building of remedies from changes of them (the ``train`` section of config.json,
    or None for an own loop).

    ``run_dir`` names the run in the commands (each remedy trains into ``<run_dir>-<remedy name>``); ``val_loss``
    is the run's per-epoch val loss when known.
    """

    def __init__(self, train_config: dict | None, run_dir: str | None = None, settings: dict | None = None, *,
                 val_is_fixed: bool = False, threads: int | None = None, val_loss=None) -> None:
        self.config = train_config
        #: The run's per-epoch val loss (nats), when known: the patience early stopping needs to get past the run's
        #: own longest stall (RemedyBook.more_epochs).
        self._val_loss = val_loss
        self.run_dir = run_dir or "runs/run"
        # The commands train as the run did: the torch thread count it used (part of its numbers), and no
        # --val-fraction where the data bring their own val split (the option would do nothing).
        self._val_is_fixed = val_is_fixed
        self._threads = threads
        # The run's settings over lossgap's defaults (declared once, on TrainConfig): an option a run's
        # config.json lacks (written before the option existed) has its default. An own loop's described
        # ``settings`` stand in for a config, so that no remedy repeats what the run already does (dropout
        # raised to 0.5 or a 3x learning rate where it is already used); its remedies stay in words.
        self._described = {} if train_config is not None else known_settings(settings)
        #: An own loop's model family as described ("lstm", "gru", "rnn"; "other" without a recurrent layer).
        self._own_kind = None if train_config is not None else ((settings or {}).get("model") or {}).get("kind")
        self._batch_norm = has_batch_norm(train_config or settings)
        # An own loop that described weights in its loss (Recorder.describe(class_weights=...)) already weights it.
        weights = ((settings or {}).get("loss") or {}).get("class_weights") if train_config is None else None
        self._own_loss_weighted = weights is not None and weighs_classes(weights)
        self._values = merged_settings(TrainConfig().to_dict(), train_config or self._described)

    def _get(self, path: str) -> Any:
        """The run's value at dotted config ``path``, or lossgap's default for it (None when neither exists)."""
        try:
            return value_at(self._values, path)
        except (KeyError, TypeError):
            return None

    def setting(self, path: str) -> Any:
        """The run's own value at dotted config ``path`` (None when unset or when the run has no config)."""
        try:
            return value_at(self.config or {}, path)
        except (KeyError, TypeError):
            return None

    @property
    def has_config(self) -> bool:
        """True for runs trained by lossgap (their remedies can be rerun)."""
        return self.config is not None

    def _remedy(self, name: str, action: str, generic: str, changes: dict[str, Any]) -> Remedy | None:
        """The remedy, or None when the run already has every change. Own-loop runs get ``generic`` words."""
        if changes and (self.has_config or self._described) and all(
                self._get(path) == value for path, value in changes.items()):
            return None
        if not self.has_config:
            # lossgap cannot rerun a user's own loop: the advice stays in words, with no change to apply, and
            # names the values when the loop described them ("weight decay 10 -> 0.02").
            described = described_changes(self._described, changes)
            # The values replace the generic parenthesis ("(twice the hidden size)" would misstate 1 -> 32).
            return Remedy(name, f"{generic.split(' (')[0]}: {described}" if described else generic)
        return Remedy(name, action, dict(changes), self.command_for(name, changes))

    def command_for(self, name: str, changes: dict[str, Any]) -> str | None:
        """The `lossgap train` command that trains the run's configuration with ``changes`` into
        ``<run_dir>-<name>``; None when the changes do not make a valid configuration."""
        try:
            config = apply_changes(TrainConfig.from_dict(self.config), changes)
        except (ConfigError, KeyError, TypeError):
            return None
        from lossgap.run.data_source import command_as_stored

        command = config.command(f"{self.run_dir}-{name}", val_is_fixed=self._val_is_fixed, threads=self._threads)
        return command_as_stored(command, config, self.config)
