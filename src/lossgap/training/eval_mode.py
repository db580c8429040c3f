"""Catch a val or test pass run with the model in training mode (dropout on, batch norm updating its statistics).

A loop that forgets ``model.eval()`` before its val pass records a weakened, noisy model: dropout 0.5 drops half
the units of every val prediction. Its val figures then sit below train for no fault of the labels and jump from
epoch to epoch, and the diagnosis would read them as underfitting or label noise (an own CNN loop with dropout 0.5
and its val pass in training mode read "underfitting 0.90: training stopped too early", where the same model in
eval mode scored 0.933 on val and 0.927 on train). The Recorder knows the model once ``describe`` or ``observe``
was called; then every val or test batch checks, for nothing more than a flag read per layer, whether a layer that
behaves differently in training mode is in it.
"""

from __future__ import annotations

import warnings
import weakref

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
        self._layers = [weakref.ref(module) for module in _mode_sensitive(model)] if model is not None else []
        #: {split: epochs recorded in training mode}, carried over from a stored recording when resumed.
        self.counts: dict[str, int] = dict(counts or {})
        self._this_epoch: set[str] = set()
        self._warned = False

    def check(self, split: str) -> None:
        """Note whether a batch of ``split`` is being recorded with a mode-sensitive layer in training mode."""
        if split in EVALUATED_SPLITS and split not in self._this_epoch and any(
                (layer := ref()) is not None and layer.training for ref in self._layers):
            self._this_epoch.add(split)

    def end_epoch(self) -> dict[str, int]:
        """Close the epoch; returns the counts so far ({} when it never happened)."""
        for split in sorted(self._this_epoch):
            self.counts[split] = self.counts.get(split, 0) + 1
        if self._this_epoch and not self._warned:
            self._warned = True
            names = " and ".join(repr(split) for split in sorted(self._this_epoch))
            warnings.warn(f"Recorder: {names} was recorded with the model in training mode (dropout or batch norm "
                          "active), so its figures are a weakened, noisy model's; call model.eval() before the "
                          "val pass and model.train() after it", RuntimeWarning, stacklevel=5)
        self._this_epoch.clear()
        return dict(self.counts)
