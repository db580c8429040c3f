"""Record a Lightning training run for lossgap's diagnosis: add one callback, then diagnose the run directory.

    trainer = Trainer(max_epochs=30, callbacks=[LossgapCallback("runs/mine")])
    trainer.fit(model, train_loader, val_loader)
    print(lossgap.diagnose("runs/mine").to_text())

What the callback needs from your code:

- ``training_step`` and ``validation_step`` return ``{"loss": loss, "logits": logits}`` (``logits_key``
  names another key). A step that returns ``None`` (a skipped batch) is not recorded.
- Each batch carries the sample ids: ``(ids, x, y)`` tuples or ``{"ids": ..., "y": ...}`` dicts by default;
  pass ``ids_from_batch`` / ``targets_from_batch`` for other layouts. Ids must name the same sample in every
  epoch (e.g. a TensorDataset holding ``torch.arange(n)`` beside x and y).

When things are recorded: train records come from the training pass itself (no extra forward pass; the
weights change during the epoch, as in lossgap's own trainer). Lightning runs the epoch's validation after
the last training batch and before ``on_train_epoch_end``, where this callback closes the epoch, so every
epoch holds both splits. When validation runs more than once per epoch (``val_check_interval`` < 1), the
last run of the epoch is kept (a warning says so when that run came before the epoch's last training batches, as
0.5 on an odd batch count gives: its val records are then of an earlier model); epochs without validation
(``check_val_every_n_epoch`` > 1) have no val records. Sanity-check batches, ``trainer.validate()`` calls and val
dataloaders after the first are not recorded. Per epoch, ``lr`` (first param group at the start of the epoch) and
``grad_norm`` (mean total gradient norm before clipping over the optimizer steps) go into ``metrics.csv``.

The callback also observes the LightningModule (``recorder.observe(pl_module)`` at the start of fit; pass
``observe=False`` to skip it): per epoch and parameter tensor the gradient norm and the update ratio, and for
every ``nn.LSTM`` / ``nn.GRU`` inside it the share of saturated gates and dead units, written as
``optimization.csv`` (see :mod:`lossgap.training.observer`). Its hooks are removed when fit ends. Under
mixed precision with a gradient scaler the per-tensor gradient norms are of the scaled gradients. When
training starts it records the module's and first optimizer's settings (``recorder.describe``, with or
without ``observe``): the diagnosis then knows a recurrent layer of 1 unit or a heavy weight decay.

The run directory is written at the end of fit, and also when fit stops on an exception or Ctrl-C (finished
epochs only; ``summary.json`` then says ``"status": "interrupted"``, with ``epochs_planned`` and
``stopped_by``, the exception's type). Until then the records are held in memory, so a fit killed outright
(``kill -9``, out of memory) leaves nothing, unless ``store=`` names a directory where every finished epoch
is written at once (as ``Recorder(store=...)`` does; rank 0 writes it). The store lies outside ``out`` (and
``out`` outside it) and holds one fit; after the run directory is written it may be deleted. A fit killed
outright is saved from it with ``lossgap.recover_recorded_run(store, out)``.

With several processes (``strategy="ddp"``) each rank records its own batches and the ranks' records are
gathered at every epoch's end (``Recorder.end_epoch(gather=True)``), so rank 0 writes every train and val
sample once per epoch: a sample that DistributedSampler repeated to even out the ranks' shares is kept once.
Ids must then name the same sample on every rank (dataset indices do).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

try:
    import lightning.pytorch as pl
    from lightning.pytorch.trainer.states import TrainerFn
    from lightning.pytorch.utilities import rank_zero_warn
except ImportError as error:  # only without the optional dependency; tested by hiding lightning
    raise ImportError("lossgap.integrations.lightning needs Lightning, which is not installed: "
                      "pip install 'lossgap[lightning]'") from error

import torch

from lossgap.api import recorded_input_shift, write_recorded
from lossgap.errors import ConfigError
from lossgap.run import rundir
from lossgap.training.recorder import Recorder
from lossgap.training.recorder_checks import check_new_store

__all__ = ["LossgapCallback", "default_ids", "default_targets"]


def default_ids(batch: Any) -> Any:
    """Sample ids of a batch: ``batch["ids"]`` for a dict, ``batch[0]`` for an ``(ids, x, y)`` tuple or list."""
    if isinstance(batch, Mapping):
        return _dict_field(batch, "ids", "the sample ids", "ids_from_batch")
    if isinstance(batch, Sequence) and len(batch) >= 3:
        ids = batch[0]
        if isinstance(ids, torch.Tensor) and (ids.is_floating_point() or ids.ndim != 1):
            raise ConfigError(f"LossgapCallback: batch[0] is a {ids.ndim}-d {ids.dtype} tensor, not sample ids; "
                              "make batches (ids, x, y) or pass ids_from_batch=")
        return ids
    raise ConfigError("LossgapCallback: batches carry no sample ids; make the dataset yield (ids, x, y) "
                      "(e.g. TensorDataset(torch.arange(n), x, y)) or pass ids_from_batch=")


def default_targets(batch: Any) -> Any:
    """Targets of a batch: ``batch["y"]`` for a dict, ``batch[2]`` for an ``(ids, x, y)`` tuple or list; a
    ConfigError for a tuple or list of another length, whose targets could be any field (a trial's ``(ids, x, y,
    lengths)`` batches had their lengths read as labels)."""
    if isinstance(batch, Mapping):
        return _dict_field(batch, "y", "the targets", "targets_from_batch")
    if isinstance(batch, Sequence) and len(batch) != 3:
        raise ConfigError(f"LossgapCallback: a batch of {len(batch)} fields is not (ids, x, y), so which one holds the "
                          "targets is unknown; pass targets_from_batch= (e.g. lambda batch: batch[2])")
    return batch[2]


def _inside(path: Path, directory: Path) -> bool:
    """True when ``path`` is ``directory`` or lies inside it (both resolved, so relative paths compare too)."""
    path, directory = path.resolve(), directory.resolve()
    return path == directory or directory in path.parents


def _dict_field(batch: Mapping, key: str, what: str, option: str) -> Any:
    """``batch[key]``, or a ConfigError naming the keys the batch has and the callback option that fixes it."""
    if key not in batch:
        raise ConfigError(f"LossgapCallback: the batch dict has no '{key}' (keys {sorted(batch)}); "
                          f"add {what} or pass {option}=")
    return batch[key]


class LossgapCallback(pl.Callback):
    """Feeds a :class:`~lossgap.training.recorder.Recorder` from Lightning's hooks; writes a run directory.

    Args:
        out: the run directory written at the end of fit (``lossgap diagnose OUT`` reads it).
        logits_key: key of the logits (batch, classes) in the dict your steps return.
        ids_from_batch: batch -> sample ids (batch,); default :func:`default_ids`.
        targets_from_batch: batch -> integer targets (batch,); default :func:`default_targets`.
        class_names: names of the classes in index order (default "0", "1", ...).
        overwrite: replace a run already in ``out``; without it fit stops at its start rather than at its end.
        observe: also record the optimisation evidence of the LightningModule (``optimization.csv``).
        store: a directory beside ``out`` where every finished epoch is written at once (the per-epoch store
            of :mod:`lossgap.epoch_store`), so a fit killed outright keeps its finished epochs there; a store
            holding an earlier fit's epochs stops fit at its start (``overwrite=True`` clears them).
        repeated_ids: "keep_last" keeps a sample's last record when a sampler that draws with replacement
            (WeightedRandomSampler) repeats it within an epoch; "error" (default) refuses the repeat.
        inputs, lengths: the inputs the model sees, per split, and their valid steps (as
            :func:`lossgap.save_recorded_run` takes them), whose statistics are computed here, so that a val
            prepared otherwise than train is named; malformed ones are a DataError before fit starts.

    After fit, ``recorder`` holds the dynamics, ``extra_metrics`` the per-epoch lr and gradient norm, and
    ``run_dir`` the directory written (None until then).
    """

    def __init__(self, out: str | Path, *, logits_key: str = "logits",
                 ids_from_batch: Callable[[Any], Any] | None = None,
                 targets_from_batch: Callable[[Any], Any] | None = None,
                 class_names: Sequence[str] | None = None, overwrite: bool = False, observe: bool = True,
                 store: str | Path | None = None, repeated_ids: str = "error", inputs: dict | None = None,
                 lengths: dict | None = None) -> None:
        super().__init__()
        # Computed now: malformed inputs are refused before a whole fit, and only their statistics are kept.
        self.input_shift = None if inputs is None else recorded_input_shift(inputs, lengths)
        self.out = Path(out)
        self.store = Path(store) if store is not None else None
        if self.store is not None and _inside(self.store, self.out):
            raise ConfigError(f"LossgapCallback: store={str(self.store)!r} lies inside out={str(self.out)!r}, "
                              "whose run files are replaced when the run is written; choose a directory beside "
                              f"it, e.g. store={str(self.out.with_name(self.out.name + '-epochs'))!r}")
        if self.store is not None and _inside(self.out, self.store):
            raise ConfigError(f"LossgapCallback: out={str(self.out)!r} lies inside store={str(self.store)!r}, so "
                              "deleting the store would delete the run; choose an out beside it, e.g. "
                              f"out={str(self.store.with_name(self.store.name + '-run'))!r}")
        self.logits_key = logits_key
        self.ids_from_batch = ids_from_batch or default_ids
        self.targets_from_batch = targets_from_batch or default_targets
        self.class_names = list(class_names) if class_names is not None else None
        self.overwrite = overwrite
        self.observe = observe
        self.recorder = Recorder(repeated_ids=repeated_ids)
        self.extra_metrics: list[dict[str, float]] = []
        self.run_dir: Path | None = None
        # The current validation run's batches: held until the epoch closes so that only the last
        # validation run of an epoch is recorded.
        self._val_batches: list[tuple[Any, torch.Tensor, Any]] = []
        self._epoch_lr: float | None = None
        self._grad_norms: list[torch.Tensor] = []
        # Training batches of this epoch so far, and how many had run when the kept validation run started: a
        # validation run before the epoch's last batch is not of the model the epoch ends with.
        self._train_batches = 0
        self._batches_before_val: int | None = None
        self._early_val_warned = False

    # -- fit boundaries -------------------------------------------------------------------------------------

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Refuse an ``out`` that already holds someone else's run now, not after hours of training (and a store
        holding an earlier fit's epochs); rank 0's recorder writes to the store from here on."""
        if self.run_dir is None:
            rundir.check_out_dir(self.out, self.overwrite)
            # An own loop's epoch store alone in out: saving there at the end of fit would be refused (it would
            # delete those epochs), so fit is refused now, naming how to save them.
            rundir.store_to_keep(self.out, self.store)
        if self.store is not None and self.recorder.num_epochs == 0:
            self._start_store(trainer.is_global_zero)
        if self.observe:
            self.recorder.observe(pl_module)

    def on_fit_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Write the run directory (from rank 0 only); the observer's hooks leave the module."""
        self.recorder.stop_observing()
        if not trainer.is_global_zero:
            return
        if self.recorder.num_epochs == 0:
            rank_zero_warn(f"LossgapCallback: no training epoch finished; nothing written to {self.out}")
            return
        self.save()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        """Keep the finished epochs when fit stops on an error or Ctrl-C (the error itself still propagates)."""
        self.recorder.discard_pending()
        self.recorder.stop_observing()
        self._val_batches.clear()
        if not trainer.is_global_zero or self.recorder.num_epochs == 0:
            return
        try:
            self.save()
            self._mark_interrupted(trainer, exception)
        except Exception as error:  # never hide the exception that stopped training behind this one
            rank_zero_warn(f"LossgapCallback could not write {self.out} after the error: {error}")

    def _mark_interrupted(self, trainer: pl.Trainer, exception: BaseException) -> None:
        """Mark the run just written as stopped before its planned epochs, as ``lossgap train`` marks a run
        stopped by Ctrl-C (``"status": "interrupted"``), whatever stopped it: Lightning's interrupt handling
        takes the same path for Ctrl-C, SIGTERM and errors."""
        summary = {key: value for key, value in rundir.read_summary(self.run_dir).items() if key != "format_version"}
        planned = trainer.max_epochs if trainer.max_epochs is not None and trainer.max_epochs >= 0 else None
        summary.update(status="interrupted", epochs_planned=planned, stopped_by=type(exception).__name__)
        rundir.write_summary(self.run_dir, summary)

    def _start_store(self, writer: bool) -> None:
        """Refuse a store holding an earlier fit's epochs (``overwrite=True``: rank 0 removes them); on rank 0
        the recorder writes every finished epoch there from now on."""
        # The check a plain Recorder(store=...) makes. It refuses only without overwrite, when on_fit_start found
        # no run in out: the earlier fit's epochs, if it was killed before writing its run, can be saved there.
        held = check_new_store(self.store, self.overwrite, who="LossgapCallback", earlier="fit", out=self.out,
                               resumable=False)
        if writer:
            for path in held:
                path.unlink()
            self.recorder.store = self.store

    def save(self, out: str | Path | None = None) -> Path:
        """Write the finished epochs as a run directory (default ``self.out``); returns the directory."""
        target = Path(out) if out is not None else self.out
        # A run this callback wrote itself (an earlier fit with the same trainer) may be replaced.
        overwrite = self.overwrite or target == self.run_dir
        self.run_dir = write_recorded(self.recorder, target, class_names=self.class_names,
                                      extra_metrics=self.extra_metrics, description="Lightning training run",
                                      overwrite=overwrite, input_shift=self.input_shift)
        return self.run_dir

    # -- training ---------------------------------------------------------------------------------------------

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Record the module's settings and its first optimizer's (hidden size, dropout, learning rate, weight
        decay: config.json's ``"settings"``), which the diagnosis's checks of a held-back model read, and the
        trainer's gradient clipping (``gradient_clip_val``, by norm or by value) and its first ``EarlyStopping``
        callback (see :func:`_early_stopping_of`), and whether Lightning zeroes the gradients itself (automatic
        optimisation)."""
        clip = trainer.gradient_clip_val
        monitor, patience = _early_stopping_of(trainer)
        self.recorder.describe(pl_module, trainer.optimizers[0] if trainer.optimizers else None,
                               clip_grad=float(clip) if clip else None, early_stopping=patience,
                               early_stopping_monitor=monitor,
                               framework_zeroes_gradients=bool(getattr(pl_module, "automatic_optimization", False)))

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Note the learning rate this epoch starts with (epoch schedulers step before the epoch closes)."""
        groups = [group for optimizer in trainer.optimizers for group in optimizer.param_groups]
        self._epoch_lr = float(groups[0]["lr"]) if groups else None
        self._grad_norms = []
        self._train_batches = 0
        self._batches_before_val = None

    def on_before_optimizer_step(self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer) -> None:
        """Total gradient norm of this step, before any clipping (kept on the device: no sync per step)."""
        if not trainer.training:
            return
        grads = [parameter.grad for parameter in pl_module.parameters() if parameter.grad is not None]
        if grads:
            self._grad_norms.append(torch.nn.utils.get_total_norm(grads).detach().float())

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        """Record this batch's training-pass logits."""
        self._train_batches += 1
        if outputs is None:  # Lightning skips the batch when training_step returns None
            return
        logits = self._logits("training_step", outputs)
        self.recorder.update("train", self.ids_from_batch(batch), logits, self.targets_from_batch(batch))

    # -- validation -------------------------------------------------------------------------------------------

    def _records_validation(self, trainer: pl.Trainer) -> bool:
        return trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking

    def on_validation_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """A new validation run replaces an earlier one of the same training epoch."""
        if self._records_validation(trainer):
            self._val_batches = []
            self._batches_before_val = self._train_batches

    def on_validation_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                                batch_idx: int, dataloader_idx: int = 0) -> None:
        """Hold this batch's validation logits until the epoch closes (not during the sanity check)."""
        if not self._records_validation(trainer) or dataloader_idx != 0 or outputs is None:
            return
        logits = self._logits("validation_step", outputs).detach()
        # The batches are recorded at the epoch's end, when Lightning has put the model back in training mode:
        # its mode is noted now, while the validation step's is in force.
        self.recorder.check_evaluation_mode("val")
        self._val_batches.append((self.ids_from_batch(batch), logits, self.targets_from_batch(batch)))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Close the epoch with both splits: this epoch's validation has run by now."""
        self._warn_of_early_validation(trainer)
        for ids, logits, targets in self._val_batches:
            self.recorder.update("val", ids, logits, targets, mode_checked=True)
        self._val_batches = []
        # Every rank reaches this hook at the same epoch end: the collective gather cannot leave one waiting.
        self.recorder.end_epoch(gather=trainer.world_size > 1)
        row: dict[str, float] = {}
        if self._epoch_lr is not None:
            row["lr"] = self._epoch_lr
        if self._grad_norms:
            norms = torch.stack(self._grad_norms).cpu()
            finite = norms[torch.isfinite(norms)]  # mixed precision skips steps with inf gradients
            row["grad_norm"] = float(finite.mean()) if finite.numel() else math.inf
        self.extra_metrics.append(row)

    def _warn_of_early_validation(self, trainer: pl.Trainer) -> None:
        """Warn once when the epoch's kept validation ran before its last training batches (``val_check_interval``
        that does not divide the batch count): its val records are then of an earlier model than the train
        records' last one, and the two splits' figures of that epoch are not of the same weights."""
        if self._early_val_warned or not self._val_batches or self._batches_before_val is None:
            return
        after = self._train_batches - self._batches_before_val
        if after <= 0:
            return
        self._early_val_warned = True
        rank_zero_warn(f"LossgapCallback: epoch {trainer.current_epoch + 1}'s last validation ran after training "
                       f"batch {self._batches_before_val} of {self._train_batches}, so its val records are of the model "
                       f"before the epoch's last {after} batch(es), not the one the epoch ends with; set "
                       "val_check_interval to 1.0 (or to a number of batches that divides the epoch's) for val records "
                       "of the end-of-epoch model")

    def _logits(self, step: str, outputs: Any) -> torch.Tensor:
        if not isinstance(outputs, Mapping) or self.logits_key not in outputs:
            raise ConfigError(f"LossgapCallback: {step} must return a dict with '{self.logits_key}', e.g. "
                              f"return {{'loss': loss, '{self.logits_key}': logits}}")
        return outputs[self.logits_key]


def _early_stopping_of(trainer) -> tuple[str, int | None]:
    """(monitor, patience in epochs) of the trainer's first ``EarlyStopping`` callback, as
    :meth:`lossgap.Recorder.describe` takes them; patience None when there is none, or when it watches
    something other than a val loss or val accuracy (an F1, a train loss: the advice to stop early on the val
    loss still applies). Lightning counts patience in validation checks; with ``check_val_every_n_epoch=N``
    that is N epochs each (a patience of 0 stops at the first check without a new best: 1 here)."""
    stopping = trainer.early_stopping_callback
    if stopping is None:
        return "val_loss", None
    name = str(stopping.monitor).lower()
    if not name.startswith("val"):
        return "val_loss", None
    monitor = "val_accuracy" if "acc" in name else "val_loss" if "loss" in name else None
    if monitor is None:
        return "val_loss", None
    every = int(getattr(trainer, "check_val_every_n_epoch", None) or 1)
    return monitor, max(1, int(stopping.patience)) * every
