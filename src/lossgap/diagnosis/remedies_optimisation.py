"""Remedies that change how the weights move: the learning rate, the optimizer, gradient clipping, batch-norm
statistics, the inputs' scale and the loss's class weights."""

from __future__ import annotations

from typing import Any

from lossgap.diagnosis.constraints import ADAM_LR_RANGE, SGD_LR_RANGE, lr_family
from lossgap.diagnosis.remedy import Remedy
from lossgap.diagnosis.remedy_core import RemedyBookCore

#: Learning rate from which no remedy raises it: faster risks unstable weights.
FAST_LR = 0.03
#: Learning rate of SGD with momentum against Adam's: SGD's step is the raw gradient, Adam's is normalised to
#: about lr per weight, so SGD needs a larger rate; 10x (Adam 0.001 -> SGD 0.01, 0.01 -> 0.1) is the usual
#: ratio, and the rate is kept within SGD_LR_RANGE (beyond 0.3 an LSTM's gradients make SGD unstable).
SGD_LR_FACTOR = 10.0


class OptimisationRemedies(RemedyBookCore):
    """Remedies that change the optimisation: rate, optimizer, clipping, input scale, loss weights."""

    def _lr_family(self) -> tuple[str, tuple[float, float]]:
        """The run's optimizer family as sentences name it and its usual learning-rate range (low, high); Adam's
        for an optimizer of neither family (lossgap's default optimizer)."""
        return lr_family(self._get("optimizer.name")) or lr_family("adam")

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

    def clip_grad(self) -> Remedy | None:
        """Clip the total gradient norm at 1 (None when clipping is already on)."""
        if self._get("optimizer.clip_grad") is not None:
            return None
        return self._remedy("clip_grad", "clip the gradient norm at 1.0: --clip-grad 1",
                            "clip the total gradient norm (e.g. at 1.0)", {"optimizer.clip_grad": 1.0})

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

    def shorter_average(self) -> Remedy | None:
        """Average the weights over fewer epochs: ``--ema 0.9`` (about 10) where the run averages over more, else
        ``--ema 0`` (the live weights); None when the run does not average (or is an own loop, whose averaging
        lossgap cannot change)."""
        decay = self._get("optimizer.ema") if self.has_config else None
        if decay is None or float(decay) <= 0:
            return None
        new = 0.9 if float(decay) > 0.9 else 0.0
        what = "about the last 10 epochs" if new else "none: the live weights"
        return self._remedy("shorter_average", f"average the weights over {what}: --ema {new:g}",
                            "average the weights over fewer steps", {"optimizer.ema": new})

    def standardize(self) -> Remedy | None:
        """Per-feature standardisation of the inputs, for a lossgap run trained with it off (None otherwise: an own
        loop's scaling is not known)."""
        if not self.has_config or self._get("data.standardize") is not False:
            return None
        return self._remedy("standardize", "standardise the inputs (zero mean, unit variance per feature, fitted on "
                            "train): --standardize", "standardise the inputs", {"data.standardize": True})

    def check_input_scale(self) -> Remedy:
        """For an own loop (whose scaling is not known) with saturated gates: standardise the inputs if they are not."""
        return self.advice("check_input_scale", "check the inputs' scale: standardise them (zero mean, unit variance "
                           "per feature, fitted on train) if they are not, and record again")

    def class_weights(self) -> Remedy | None:
        """Balanced class weights in the loss (None when already on, or when an own loop described class weights of
        its own: a class-weighted JapaneseVowels loop had been told to "weight the loss by inverse class frequency")."""
        if self._own_loss_weighted:
            return None
        return self._remedy("class_weights", "weight the loss by inverse class frequency: --class-weights balanced",
                            "weight the loss by inverse class frequency", {"class_weights": "balanced"})
