"""Record a Lightning training run for lossgap's diagnosis: one callback, then ``lossgap diagnose RUN``.

    trainer = Trainer(max_epochs=30, callbacks=[LossgapCallback("runs/mine")])

Your ``training_step`` and ``validation_step`` return ``{"loss": loss, "logits": logits}`` and each batch
carries the sample ids (``(ids, x, y)`` tuples or ``{"ids": ..., "y": ...}`` dicts by default; pass
``ids_from_batch`` / ``targets_from_batch`` for other layouts). Train records come from the training pass
(the model in train mode while its weights change through the epoch); val records from the validation
pass, which Lightning runs before ``on_train_epoch_end``, where the epoch is closed. Sanity-check batches are
not recorded. At the end of fit the run directory is written and can be diagnosed and reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

try:
    import lightning.pytorch as pl
except ImportError as error:  # pragma: no cover - exercised only without the optional dependency
    raise ImportError("lossgap.integrations.lightning needs Lightning: pip install 'lossgap[lightning]'") from error

from lossgap.api import save_recorded_run
from lossgap.training.recorder import Recorder


def _default_ids(batch: Any) -> Any:
    return batch["ids"] if isinstance(batch, dict) else batch[0]


def _default_targets(batch: Any) -> Any:
    return batch["y"] if isinstance(batch, dict) else batch[-1]


class LossgapCallback(pl.Callback):
    """Feeds the Recorder from Lightning's hooks and writes a lossgap run directory when fit ends.

    Args:
        out: the run directory to write.
        logits_key: key of the logits in the dict your steps return.
        ids_from_batch, targets_from_batch: how to find sample ids and targets in a batch.
        class_names: names of the classes, in index order (optional).
        overwrite: replace a run already in ``out``.
    """

    def __init__(self, out: str | Path, *, logits_key: str = "logits",
                 ids_from_batch: Callable[[Any], Any] = _default_ids,
                 targets_from_batch: Callable[[Any], Any] = _default_targets,
                 class_names: Sequence[str] | None = None, overwrite: bool = False) -> None:
        super().__init__()
        self.out = Path(out)
        self.logits_key = logits_key
        self.ids_from_batch = ids_from_batch
        self.targets_from_batch = targets_from_batch
        self.class_names = list(class_names) if class_names is not None else None
        self.overwrite = overwrite
        self.recorder = Recorder()
        self.extra_metrics: list[dict[str, float]] = []

    def _record(self, split: str, outputs: Any, batch: Any) -> None:
        if not isinstance(outputs, dict) or self.logits_key not in outputs:
            raise ValueError(f"LossgapCallback: the {split} step must return a dict with '{self.logits_key}' "
                             "(e.g. return {'loss': loss, 'logits': logits})")
        logits = outputs[self.logits_key].detach()
        self.recorder.update(split, self.ids_from_batch(batch), logits, self.targets_from_batch(batch))

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        """Record the training pass's logits of this batch."""
        self._record("train", outputs, batch)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx, dataloader_idx=0) -> None:
        """Record the validation logits of this batch (not during the sanity check)."""
        if not trainer.sanity_checking:
            self._record("val", outputs, batch)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        """Close the epoch: Lightning has run this epoch's validation by now."""
        self.recorder.end_epoch()
        lrs = [group["lr"] for optimizer in trainer.optimizers for group in optimizer.param_groups]
        self.extra_metrics.append({"lr": float(lrs[0])} if lrs else {})

    def on_fit_end(self, trainer, pl_module) -> None:
        """Write the run directory (only from the main process)."""
        if trainer.is_global_zero and self.recorder.num_epochs:
            save_recorded_run(self.recorder, self.out, class_names=self.class_names,
                              extra_metrics=self.extra_metrics, description="Lightning training run",
                              overwrite=self.overwrite)
