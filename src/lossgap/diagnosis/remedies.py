"""Remedies as concrete changes to the run's own configuration ("dropout 0.0 -> 0.2", "stop at epoch 14").

Each remedy names a change of :class:`~lossgap.training.config.TrainConfig` fields by dotted path, so
``lossgap remedy`` can apply it, and carries the ready ``lossgap train`` command that tries it. A remedy the
run already applies (early stopping on a run that stops early, clipping on a clipped run) is never offered.
Runs trained outside lossgap have no config: their remedies carry the advice in general words and no
command, since lossgap cannot know the settings of a user's own loop.
"""

from __future__ import annotations

import math
import shlex
from typing import Any

from lossgap.analysis.generalization import patience_to_minimum
from lossgap.class_weights import weighs_classes
from lossgap.diagnosis.constraints import ADAM_LR_RANGE, SGD_LR_RANGE, has_batch_norm, light_decay_limit
from lossgap.diagnosis.described import described_changes, known_settings, merged_settings
from lossgap.diagnosis.remedy import MORE_DATA, Remedy
from lossgap.errors import ConfigError
from lossgap.options import value_at
from lossgap.training.config import TrainConfig, apply_changes, change_flags

#: Largest and smallest hidden size a remedy proposes.
MAX_HIDDEN, MIN_HIDDEN = 1024, 4
#: Convolution width of the LSTM-FCN a remedy switches to: the README's recommended configuration's.
RECOMMENDED_FCN_WIDTH = 32
#: Most dropout a remedy raises to.
MAX_DROPOUT = 0.5
#: Learning rate from which no remedy raises it: faster risks unstable weights.
FAST_LR = 0.03
#: Learning rate of SGD with momentum against Adam's: SGD's step is the raw gradient, Adam's is normalised to
#: about lr per weight, so SGD needs a larger rate; 10x (Adam 0.001 -> SGD 0.01, 0.01 -> 0.1) is the usual
#: ratio, and the rate is kept within SGD_LR_RANGE (beyond 0.3 an LSTM's gradients make SGD unstable).
SGD_LR_FACTOR = 10.0
#: Dropout a remedy proposes to a model without any (``dropout``), and so the most that holds nothing back.
LIGHT_DROPOUT = 0.2
#: Shortest early-stopping patience a remedy proposes: a fresh run's epoch-to-epoch noise must not stop it at once.
MIN_PATIENCE = 3


class RemedyBook:
    """Builds remedies from a run's configuration (the ``train`` section of config.json, or None).

    ``run_dir`` names the run in the commands (each remedy trains into ``<run_dir>-<remedy name>``).
    """

    def __init__(self, train_config: dict | None, run_dir: str | None = None, settings: dict | None = None, *,
                 val_is_fixed: bool = False, threads: int | None = None) -> None:
        self.config = train_config
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

    def smaller_hidden(self) -> Remedy | None:
        """Half the hidden size (at least MIN_HIDDEN)."""
        hidden = int(self._get("model.hidden_size"))
        if hidden <= MIN_HIDDEN:
            return None
        new = max(MIN_HIDDEN, hidden // 2)
        return self._remedy("smaller_hidden", f"shrink the hidden size from {hidden} to {new}: --hidden {new}",
                            f"use a smaller model (half the {self._width_words()})", {"model.hidden_size": new})

    def larger_hidden(self, factor: int = 2) -> Remedy | None:
        """``factor`` times the hidden size (at least 32 for tiny models); None at MAX_HIDDEN."""
        hidden = int(self._get("model.hidden_size"))
        if hidden >= MAX_HIDDEN:
            return None
        new = min(MAX_HIDDEN, max(hidden * factor, 32 if hidden < 8 else 0))
        return self._remedy("larger_hidden", f"grow the hidden size from {hidden} to {new}: --hidden {new}",
                            f"use a larger model (twice the {self._width_words()})", {"model.hidden_size": new})

    def _width_words(self) -> str:
        """What an own loop's model widens by: its recurrent layer's hidden size, or, for a described model
        without one (a CNN, an MLP, a transformer), the units or channels of its layers."""
        return "units or channels of its layers" if self._own_kind == "other" else "hidden size"

    def fewer_layers(self) -> Remedy | None:
        """One layer fewer; None for a single-layer model."""
        layers = int(self._get("model.num_layers"))
        if layers <= 1:
            return None
        return self._remedy("fewer_layers", f"use {layers - 1} LSTM layer(s) instead of {layers}: --layers {layers - 1}",
                            "use one recurrent layer fewer", {"model.num_layers": layers - 1})

    def _lr_family(self) -> tuple[str, tuple[float, float]]:
        """The run's optimizer family as sentences name it and its usual learning-rate range (low, high)."""
        return ("SGD", SGD_LR_RANGE) if self._get("optimizer.name") == "sgd" else ("Adam", ADAM_LR_RANGE)

    def lower_lr(self, factor: float = 3.0) -> Remedy:
        """Learning rate divided by ``factor``, and at most the top of the optimizer family's usual range
        (ADAM_LR_RANGE, SGD_LR_RANGE): Adam at lr 0.5 goes to 0.01, not to 0.167, which would still diverge."""
        lr = float(self._get("optimizer.lr"))
        family, (_, top) = self._lr_family()
        new = float(f"{min(lr / factor, top):.3g}")
        reason = f" (the top of {family}'s usual range)" if lr / factor > top else ""
        return self._remedy("lower_lr", f"lower the learning rate from {lr:g} to {new:g}{reason}: --lr {new:g}",
                            f"lower the learning rate ({factor:g}x smaller)", {"optimizer.lr": new})

    def higher_lr(self, factor: float = 3.0, usual: bool = False) -> Remedy | None:
        """Learning rate times ``factor``, at most the top of the optimizer family's usual range (None when already
        at that top or at FAST_LR or more: faster would risk instability; an LSTM-FCN at Adam 0.01 stopped after 8
        epochs had been told to raise it to 0.1, where Adam 0.5 on the same data wrecked training); with ``usual``,
        at least the middle of that range (geometric: Adam 1e-3), for a run whose learning has barely begun: Adam
        at lr 1e-5 had been sent to 1e-4, still a hundredth of its default."""
        lr = float(self._get("optimizer.lr"))
        family, (bottom, top) = self._lr_family()
        # An own loop that did not describe its rate has lossgap's default here, not its own: no top to judge by.
        known = self.has_config or "lr" in (self._described.get("optimizer") or {})
        if lr >= FAST_LR or (known and lr >= top):
            return None
        middle = float(f"{(bottom * top) ** 0.5:.3g}")
        new = float(f"{lr * factor:.3g}")
        reason = ""
        if known and new > top:
            new, reason = top, f" (the top of {family}'s usual range)"
        if usual and new < middle:
            new, reason = middle, f" (the middle of {family}'s usual range)"
        return self._remedy("higher_lr", f"raise the learning rate from {lr:g} to {new:g}{reason}: --lr {new:g}",
                            f"raise the learning rate ({factor:g}x larger)", {"optimizer.lr": new})

    def more_epochs(self, epochs_run: int) -> Remedy:
        """Twice the epochs (with early stopping so the extra epochs cannot hurt); when early stopping ended
        the run before its planned epochs, twice its patience instead (more epochs would change nothing)."""
        epochs = int(self._get("epochs")) if self.has_config else epochs_run
        patience = self._get("early_stopping.patience")
        if patience is not None and epochs_run < epochs:
            longer = int(patience) * 2
            # Early stopping fires after `patience` epochs without a new best: the val loss was not falling then,
            # and the sentence must not say it was; waiting longer lets a slow or jittery descent resume.
            return self._remedy("more_epochs", f"let early stopping wait longer: --early-stopping {longer} (it "
                                f"ended the run at epoch {epochs_run} of {epochs}, after {int(patience)} epochs "
                                "without a new best)",
                                "let early stopping wait longer before it stops",
                                {"early_stopping.patience": longer})
        changes: dict[str, Any] = {"epochs": epochs * 2}
        if patience is None:
            changes["early_stopping.patience"] = 10
        return self._remedy("more_epochs", f"train longer: --epochs {epochs * 2}"
                            + (" with --early-stopping 10 so the extra epochs cannot hurt" if patience is None else ""),
                            "train for more epochs (with early stopping)", changes)

    def switch_model(self, kind: str = "lstm-fcn") -> Remedy | None:
        """Another model family (default LSTM-FCN: a convolution branch beside the LSTM, which reads shapes
        over hundreds of steps that a recurrent layer alone struggles to carry); None when already that one."""
        current = self._get("model.kind")
        if current == kind:
            return None
        changes: dict[str, Any] = {"model.kind": kind}
        if kind == "lstm-fcn":
            # The README's recommended LSTM-FCN, not the published width: 128 filters took 209 s per ACSF1 run.
            changes["model.fcn_width"] = RECOMMENDED_FCN_WIDTH
            if self._get("model.patch_length") == 1:
                changes.update({"model.patch_length": "auto", "model.readout": "auto"})
        return self._remedy("switch_model", f"switch the model from {current} to {kind}: {change_flags(changes)}",
                            f"try a {kind} model (a convolution branch beside the recurrent layer)"
                            if kind == "lstm-fcn" else f"try a {kind} model", changes)

    def switch_optimizer(self) -> Remedy:
        """The other optimizer family with a learning rate suited to it: Adam -> SGD with momentum (lr x10,
        within SGD_LR_RANGE); SGD -> Adam (lr /10, within ADAM_LR_RANGE), AdamW where weight decay is used
        (decoupled decay, what Adam's coupled L2 decay is meant to be); AdamW -> SGD. Adam with weight decay
        -> AdamW at the same rate (Adam's L2 decay is scaled away by its normalisation)."""
        name = self._get("optimizer.name")
        lr = float(self._get("optimizer.lr"))
        decay = float(self._get("optimizer.weight_decay"))
        changes: dict[str, Any]
        if name == "adam" and decay > 0:
            new_name, new_lr = "adamw", lr
        elif name in ("adam", "adamw"):
            new_name = "sgd"
            new_lr = float(f"{min(max(lr * SGD_LR_FACTOR, SGD_LR_RANGE[0]), SGD_LR_RANGE[1]):.3g}")
        else:
            new_name = "adamw" if decay > 0 else "adam"
            new_lr = float(f"{min(max(lr / SGD_LR_FACTOR, ADAM_LR_RANGE[0]), ADAM_LR_RANGE[1]):.3g}")
        changes = {"optimizer.name": new_name, "optimizer.lr": new_lr}
        flags = f"--optimizer {new_name} --lr {new_lr:g}"
        if new_name == "sgd" and float(self._get("optimizer.momentum")) == 0:
            changes["optimizer.momentum"] = 0.9
            flags += " --momentum 0.9"
        return self._remedy("switch_optimizer", f"switch the optimizer from {name} (lr {lr:g}) to {new_name} "
                            f"(lr {new_lr:g}): {flags}",
                            "try another optimizer (Adam <-> SGD with momentum, with a learning rate suited to it)",
                            changes)

    def more_data(self) -> Remedy:
        """Whether more data would help, from a learning curve over nested shares of the training split (no
        configuration change: ``lossgap remedy RUN --only more_data`` trains the curve)."""
        if not self.has_config:
            return Remedy(MORE_DATA, "collect more labelled data; a learning curve (the same model trained on "
                                     "shares of the training set) tells whether it would pay")
        return Remedy(MORE_DATA, "check whether more data would help: a learning curve over 40-100% of the "
                                 "training set predicts val loss and accuracy at 2x and 4x the data",
                      command=shlex.join(["lossgap", "remedy", str(self.run_dir), "--only", MORE_DATA]))

    def class_weights(self) -> Remedy | None:
        """Balanced class weights in the loss (None when already on, or when an own loop described class weights of
        its own: a class-weighted JapaneseVowels loop had been told to "weight the loss by inverse class frequency")."""
        if self._own_loss_weighted:
            return None
        return self._remedy("class_weights", "weight the loss by inverse class frequency: --class-weights balanced",
                            "weight the loss by inverse class frequency", {"class_weights": "balanced"})

    def standardize(self) -> Remedy | None:
        """Per-feature standardisation of the inputs, for a lossgap run trained with it off (None otherwise: an own
        loop's scaling is not known)."""
        if not self.has_config or self._get("data.standardize") is not False:
            return None
        return self._remedy("standardize", "standardise the inputs (zero mean, unit variance per feature, fitted on "
                            "train): --standardize", "standardise the inputs", {"data.standardize": True})

    def clip_grad(self) -> Remedy | None:
        """Clip the total gradient norm at 1 (None when clipping is already on)."""
        if self._get("optimizer.clip_grad") is not None:
            return None
        return self._remedy("clip_grad", "clip the gradient norm at 1.0: --clip-grad 1",
                            "clip the total gradient norm (e.g. at 1.0)", {"optimizer.clip_grad": 1.0})

    def recompute_batch_norm(self) -> Remedy | None:
        """Recompute batch norm's running statistics for the weights at each epoch's end (``--ema 0``: the average of
        decay 0 is the live weights, with its statistics recomputed); None when the run already averages, or has no
        batch norm (lossgap's LSTM-FCN has it; an own loop's described model says so)."""
        if not self._batch_norm or (self.has_config and self._get("optimizer.ema") is not None):
            return None
        return self._remedy("recompute_batch_norm", "recompute the batch-norm statistics for the weights at every "
                            "epoch's end: --ema 0", "recompute batch norm's running statistics for the current "
                            "weights before each evaluation (torch.optim.swa_utils.update_bn over the training "
                            "data), or train with larger batches", {"optimizer.ema": 0.0})

    def loosen_clip(self, gradient_norm: float | None = None) -> Remedy | None:
        """Clip at the gradients' typical norm (``gradient_norm``, rounded up to 2 significant digits) instead
        of far below it; None without clipping or without a norm to clip at."""
        clip_at = self._get("optimizer.clip_grad")
        if clip_at is None or gradient_norm is None or not gradient_norm > float(clip_at):
            return None
        new = float(f"{gradient_norm:.2g}")
        return self._remedy("loosen_clip", f"clip the gradient norm at {new:g} instead of {float(clip_at):g}: "
                            f"--clip-grad {new:g}", f"clip the gradient norm at its typical size ({new:g}) instead "
                            f"of {float(clip_at):g}", {"optimizer.clip_grad": new})

    def permuted_control(self, purpose: str, when: str = "") -> Remedy:
        """Advice to train a permuted-label control ``purpose`` (e.g. "to see whether the labels carry signal"),
        prefixed by ``when`` (e.g. "once it fits, "): with the ``lossgap train ... --control permuted-labels``
        command for lossgap runs; for own loops (no config) the same experiment in words, since they have no
        such flag. A control, not a fix: it changes no setting to adopt, so ``changes`` is empty."""
        if self.has_config:
            action = f"{when}train a permuted-label control (--control permuted-labels) {purpose}"
            return Remedy("permuted_control", action, {},
                          self.command_for("permuted_control", {"control": "permuted-labels"}))
        action = (f"{when}train the same model again in your loop with the train and val labels shuffled by one "
                  f"fixed permutation (a permuted-label control), record it as this run was, and compare val "
                  f"accuracy {purpose}")
        return Remedy("permuted_control", action, {})

    def unchanged_reason(self, name: str, val_loss) -> str:
        """Why remedy ``name`` changes nothing for this run (its method returned None), in words for an error."""
        if name == "early_stopping":
            if self._get("early_stopping.patience") is not None and self._get("early_stopping.monitor") == "val_loss":
                return "it already stops early on val loss and restores its best epoch"
            if not any(math.isfinite(loss) for loss in val_loss):
                return "it has no finite val loss to stop at"
            return (f"its val loss was lowest at its last epoch ({len(val_loss)}), the model it delivers anyway, so "
                    "there is no later rise to stop before")
        reasons = {
            "dropout": f"its dropout is already {MAX_DROPOUT:g} or more",
            "weight_decay": "its weight decay is already the most a remedy proposes (a tenth of what holds a model "
                            "back)",
            "less_regularisation": f"it has no dropout above {LIGHT_DROPOUT:g} and no weight decay strong enough to "
                                   "hold the model back",
            "smaller_hidden": f"its hidden size is already {MIN_HIDDEN} or less",
            "larger_hidden": f"its hidden size is already {MAX_HIDDEN}, the largest a remedy proposes",
            "fewer_layers": "it has a single layer",
            "higher_lr": f"its learning rate is already at the top of its optimizer's usual range, or {FAST_LR:g} or "
                         "more, where faster risks unstable weights",
            "class_weights": "it already weights its loss by inverse class frequency",
            "clip_grad": "it already clips the gradient norm",
            "standardize": "its inputs are already standardised (or it is an own loop, whose scaling lossgap cannot "
                           "change)",
            "monitor_accuracy": "it already chooses its epoch by val accuracy",
            "switch_model": f"it already uses an {self._get('model.kind')}",
            "recompute_batch_norm": ("its model has no batch norm" if not self._batch_norm
                                     else "the run already averages its weights (--ema)"),
            "loosen_clip": "it is offered only by a verdict that measured the gradients' typical norm above the clip",
        }
        return reasons.get(name, "the run already has that setting")

    @staticmethod
    def advice(name: str, action: str) -> Remedy:
        """A remedy that is not a setting (e.g. inspect suspect samples, check the data)."""
        return Remedy(name, action)
