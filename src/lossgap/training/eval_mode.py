"""Catch a val or test pass run with the model in training mode (dropout on, batch norm updating its statistics).

A loop that forgets ``model.eval()`` before its val pass records a weakened, noisy model: dropout 0.5 drops half
the units of every val prediction. Its val figures then sit below train for no fault of the labels and jump from
epoch to epoch, and the diagnosis would read them as underfitting or label noise (an own CNN loop with dropout 0.5
and its val pass in training mode read "underfitting 0.90: training stopped too early", where the same model in
eval mode scored 0.933 on val and 0.927 on train). The Recorder knows the model once ``describe`` or ``observe``
was called; then every val or test batch checks whether a layer that behaves differently in training mode computed
it in that mode.

A loop may evaluate another module than the one it trains and described: the weight average of EMA or SWA
(``torch.optim.swa_utils.AveragedModel`` holds a copy), whose own mode is what counts, while the described model
stays in training mode between its steps (a new-user trial's SWA loop, every val pass in eval mode, was told "val was
recorded with the model in training mode in 15 of 30 epochs"). So forward pre-hooks on the described model's
mode-sensitive layers (about 1.5 microseconds each per forward pass) note the mode of its latest forward pass, and
a val batch is judged by that pass: not at all when the described model ran no forward since the last recorded
batch (the logits came from another module), nor when its latest forward was a training step with gradients on
while the recorded logits carry none (they were computed elsewhere, under ``no_grad``). Lossgap's own trainer sets
the modes itself and records through ``Recorder.update_trusted``, whose first call removes the hooks.
"""

from __future__ import annotations

import warnings
import weakref

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd

#: Splits whose passes must run in eval mode.
EVALUATED_SPLITS = ("val", "test")


def _mode_sensitive(model: nn.Module) -> list[nn.Module]:
    """The layers of ``model`` whose output depends on training mode: dropout with p > 0, batch norm."""
    return [module for module in model.modules()
            if (isinstance(module, _DropoutNd) and module.p > 0) or isinstance(module, _BatchNorm)]


class EvaluationModeWatch:
    """Counts, per split, the epochs whose val or test batches were recorded while a mode-sensitive layer of the
    described model was in training mode; warns once (RuntimeWarning, one line) the first time it happens."""

    def __init__(self, model: nn.Module | None = None, counts: dict[str, int] | None = None) -> None:
        modules = _mode_sensitive(model) if model is not None else []
        self._layers = [weakref.ref(module) for module in modules]
        #: {split: epochs recorded in training mode}, carried over from a stored recording when resumed.
        self.counts: dict[str, int] = dict(counts or {})
        self._this_epoch: set[str] = set()
        self._warned = False
        self._ran = False               # a mode-sensitive layer ran a forward since the last recorded batch
        self._last_training = False     # ... the latest such forward in training mode
        self._last_grad = False         # ... with gradients enabled
        # A weak reference: the hooks live as long as the model, which must not keep this watch alive.
        watch = weakref.ref(self)

        def note(module: nn.Module, _inputs) -> None:
            if (owner := watch()) is not None:
                owner._ran, owner._last_training, owner._last_grad = True, module.training, torch.is_grad_enabled()

        self._handles = [module.register_forward_pre_hook(note) for module in modules]

    def check(self, split: str, logits: torch.Tensor | None = None) -> None:
        """Note whether a batch of ``split`` (its ``logits`` when at hand) is being recorded from the described model
        in training mode (see the module docstring); returns None."""
        if split in EVALUATED_SPLITS and split not in self._this_epoch and self._in_training_mode(logits):
            self._this_epoch.add(split)
        self._ran = False

    def _in_training_mode(self, logits: torch.Tensor | None) -> bool:
        if not self._handles:   # hooks removed: only the layers' mode now is known
            return any((layer := ref()) is not None and layer.training for ref in self._layers)
        if not self._ran or not self._last_training:
            return False
        computed_elsewhere = self._last_grad and logits is not None and not logits.requires_grad
        return not computed_elsewhere

    def close(self) -> None:
        """Remove the forward hooks (a trusted loop, or a model described again); returns None."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def end_epoch(self) -> dict[str, int]:
        """Close the epoch; returns the counts so far ({} when it never happened)."""
        for split in sorted(self._this_epoch):
            self.counts[split] = self.counts.get(split, 0) + 1
        if self._this_epoch and not self._warned:
            self._warned = True
            names = " and ".join(repr(split) for split in sorted(self._this_epoch))
            verb = "was" if len(self._this_epoch) == 1 else "were"
            warnings.warn(f"Recorder: {names} {verb} recorded with the model in training mode (dropout or batch norm "
                          "active), so its figures are a weakened, noisy model's; call model.eval() before the "
                          "val pass and model.train() after it", RuntimeWarning, stacklevel=5)
        self._this_epoch.clear()
        return dict(self.counts)
