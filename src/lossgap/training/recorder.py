"""The Recorder: the one seam between any training loop and lossgap's analysis.

Feed it what the loop already has, per batch, then close each epoch::

    recorder = Recorder()
    for epoch in range(epochs):
        for ids, x, y in train_batches:
            logits = model(x); ...
            recorder.update("train", ids, logits, y)
        for ids, x, y in val_batches:
            recorder.update("val", ids, model(x), y)
        recorder.end_epoch()
    lossgap.save_recorded_run(recorder, "runs/mine")

Optionally, ``recorder.observe(model, optimizer)`` (before training) also records, per epoch and per parameter
tensor, the gradient norm and the update ratio, and for LSTM/GRU layers the share of saturated gates and dead
units (see :mod:`lossgap.training.observer`); they are written beside the dynamics as ``optimization.csv``. It
also records the settings the diagnosis reads (hidden size, dropout, optimizer, learning rate, weight decay:
:meth:`Recorder.describe`, which records them alone, without hooks).

Per sample and epoch it keeps the true-class log-probability (float32), the predicted class (int16), the
confidence (float16) and the logit margin (float32); for val and test also the full logits (float16), which
calibration needs. Memory is proportional to samples x epochs, or to samples only with a ``store`` (each
closed epoch goes to disk); no Python loop runs per sample.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from lossgap.dynamics import DYNAMICS_FILE, SplitDynamics, save_dynamics
from lossgap.epoch_store import (STORED, assemble_split, dynamics_from_store, empty_record, gather_store,
                                 read_epoch, store_owner, stored_epochs, stored_settings, write_epoch)
from lossgap.errors import ConfigError
from lossgap.observations import OptimizationObservations
from lossgap.signals import stops_held
from lossgap.training.observer import EpochObservation, OptimizationObserver
from lossgap.training.recorder_checks import (REPEATED_IDS, SPLITS, LabelBook, check_labels, check_new_store,
                                              checked_batch, host_ids, sorted_records)
from lossgap.training.epoch_summary import EpochSummary, per_sample_values, summarise_epoch
from lossgap.training.settings import DescribedSettings

__all__ = ["EpochSummary", "Recorder"]


class Recorder:
    """Collects per-sample dynamics from any training loop; see the module docstring.

    Args:
        keep_logits: splits whose full logits are stored (default val and test: calibration needs them;
            train is left out because it is usually the largest split).
        store: a directory where every closed epoch is also written at once (lossgap's trainer uses
            ``RUN/epochs``); :meth:`resumed` rebuilds a recorder from it and goes on recording there.
        overwrite: with ``store``, delete the epoch files an earlier recording left there and start afresh;
            without it such a store is refused (RunDirError, one line), since the two recordings would mix.
        repeated_ids: "error" (default) refuses a sample recorded twice in one epoch; "keep_last" keeps its last
            record, for a sampler that draws with replacement (WeightedRandomSampler).
    """

    def __init__(self, keep_logits: tuple[str, ...] = ("val", "test"), store: str | Path | None = None, *,
                 keep_records: bool = True, overwrite: bool = False, repeated_ids: str = "error") -> None:
        if repeated_ids not in REPEATED_IDS:
            raise ConfigError(f"Recorder: repeated_ids={repeated_ids!r}; use 'error' or 'keep_last'")
        self.repeated_ids = repeated_ids
        self.keep_logits = tuple(keep_logits)
        #: False: a closed epoch keeps only its summaries (a data-parallel rank that writes nothing: rank 0's
        #: recorder holds every sample).
        self.keep_records = keep_records
        #: Directory of the per-epoch store (see :mod:`lossgap.epoch_store`): each closed epoch is written
        #: there at once, so a killed run keeps it. None: nothing is written before :meth:`save`.
        self.store = Path(store) if store is not None else None
        if self.store is not None:
            held = check_new_store(self.store, overwrite, who="Recorder", earlier="recording",
                                   out=_recovery_out(self.store), resumable=True)
            for path in held:  # overwrite=True: the earlier recording goes before the first epoch comes
                path.unlink()
        # Per split: one (ids, logits, targets) tuple per batch since the last end_epoch, each on its device.
        self._pending: dict[str, list[tuple[torch.Tensor | np.ndarray, torch.Tensor, torch.Tensor]]] = {}
        # Per split: one (sorted ids, labels, values (n, 4), logits or None) tuple per closed epoch.
        self._epochs: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]]] = {}
        self._num_classes: dict[str, int] = {}
        # Every sample's label so far: a label that changes is refused when its epoch closes.
        self._labels = LabelBook()
        self._num_epochs = 0
        self._observer: OptimizationObserver | None = None
        # One per closed epoch once observe() was called (None for epochs closed before it).
        self._observations: list[EpochObservation | None] = []
        self._described = DescribedSettings()

    @property
    def num_epochs(self) -> int:
        """Epochs closed with :meth:`end_epoch` so far."""
        return self._num_epochs

    @property
    def splits(self) -> tuple[str, ...]:
        """Names of the splits recorded so far."""
        return tuple(self._epochs) + tuple(name for name in self._pending if name not in self._epochs)

    def observe(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None,
                **options: int) -> OptimizationObserver:
        """Also record ``model``'s optimisation evidence every epoch, and its settings (:meth:`describe`, with
        ``optimizer`` when given); returns the attached observer.

        Call it once before training. :meth:`end_epoch` closes the observer's epoch too, and :meth:`save`
        writes ``optimization.csv``. The hooks stay until :meth:`stop_observing`; a second call replaces the
        first observer. ``options`` (``steps_per_epoch``, ``min_stride``, ``gate_every_steps``,
        ``gate_samples``) go to :class:`~lossgap.training.observer.OptimizationObserver`, which says what is
        measured and how.
        """
        self.stop_observing()
        self._observer = OptimizationObserver(model, **options)
        self.describe(model, optimizer)
        return self._observer

    def describe(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None = None, *,
                 clip_grad: float | None = None, early_stopping: int | None = None,
                 early_stopping_monitor: str = "val_loss", class_weights=None,
                 resampled_classes: bool | None = None, framework_zeroes_gradients: bool | None = None) -> dict:
        """Record the settings of ``model`` and ``optimizer`` that the diagnosis checks (the widest recurrent
        layer's hidden size, dropout, the optimizer's name, learning rate and weight decay; see
        :func:`lossgap.training.settings.describe_training`); returns them. Per step it costs only a forward
        pre-hook on each dropout and batch-norm layer (about 1.5 microseconds per forward pass each), which tells
        whether the val pass ran in training mode (:mod:`lossgap.training.eval_mode`).

        What the model and optimizer cannot show, say: ``clip_grad`` (the max gradient norm your loop clips
        at: gradient bursts then never reached the weights, and clipping is not advised again) and
        ``early_stopping`` (the patience in epochs of your loop's early stopping, watching
        ``early_stopping_monitor``, "val_loss" or "val_accuracy": stopping early is not advised again). Each
        stays said until said again; leaving them out means "not done, or not said". ``class_weights`` (one
        per class: a list, array or tensor, e.g. ``loss_fn.weight``) says the loss weighs the classes, which
        moves the outputs toward the up-weighted ones: the diagnosis then judges signal, stability and label
        noise on what the weighted loss aims at. A class-weighted ``nn.CrossEntropyLoss`` or ``nn.NLLLoss``
        held inside ``model`` (as a LightningModule holds its loss) is found without it. ``resampled_classes=True``
        says the loop draws its batches with a sampler that balances the classes (``WeightedRandomSampler``): the
        diagnosis then does not advise oversampling again. ``framework_zeroes_gradients=True`` says a framework runs
        the training step and zeroes the gradients itself (``LossgapCallback`` says it of Lightning's automatic
        optimisation): gradients that grow every epoch are then not put down to a missing ``zero_grad()``.

        The run's ``config.json`` holds them as ``"settings"`` (and the store's epoch files, so a recovered
        run keeps them). Without them the diagnosis cannot tell a model its settings hold back (1 unit, weight
        decay 10) from one that met the limit of its data. A later call replaces the model's and optimizer's
        settings. TypeError (one line) when ``model`` is not an ``nn.Module`` or ``optimizer`` not a torch
        optimizer; ConfigError (one line) for a bad ``clip_grad``, ``early_stopping``, monitor, ``class_weights`` or
        ``resampled_classes`` or ``framework_zeroes_gradients``.
        """
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"Recorder.describe: model is of type {type(model).__name__}, not a torch.nn.Module; "
                            "pass the model your loop trains")
        return self._described.describe(model, optimizer, clip_grad=clip_grad, early_stopping=early_stopping,
                                        early_stopping_monitor=early_stopping_monitor, class_weights=class_weights,
                                        resampled_classes=resampled_classes,
                                        framework_zeroes_gradients=framework_zeroes_gradients)

    @property
    def settings(self) -> dict | None:
        """The settings recorded by :meth:`describe` or :meth:`observe` (or read back from a store), or None."""
        return self._described.settings

    @property
    def observer(self) -> OptimizationObserver | None:
        """The attached observer (see :meth:`observe`), or None."""
        return self._observer

    def stop_observing(self) -> None:
        """Remove the observer's hooks (the epochs it recorded are kept); nothing happens without one."""
        if self._observer is not None:
            self._observer.close()
            self._observer = None

    def observations(self, epochs: int | None = None) -> OptimizationObservations | None:
        """The optimisation evidence of the first ``epochs`` closed epochs (default: all), or None when
        :meth:`observe` was never called. Epochs closed before ``observe`` hold NaN (and 0 steps).
        """
        count = self._num_epochs if epochs is None else epochs
        if not any(row is not None for row in self._observations[:count]):
            return None
        rows = [{} if row is None else row.to_row() for row in self._observations[:count]]
        rows += [{}] * (count - len(rows))
        return OptimizationObservations.from_rows(rows)

    @torch.no_grad()
    def update(self, split: str, sample_ids, logits: torch.Tensor, targets, *, mode_checked: bool = False) -> None:
        """Record one batch of ``split`` ("train", "val" or "test"): sample ids (B,), logits (B, C) and integer
        class targets (B,); returns None. ValueError (one line, naming the fix) for anything else, e.g. another
        split name, one-hot targets, a single-logit head, or a tuple of model outputs in place of the logits.

        Ids may be a tensor (on any device) or a numpy array (ints or strings); they must identify the same
        sample, with the same label, in every epoch. Logits may carry gradients and live on any device.
        ``mode_checked``: the model's mode was noted with :meth:`check_evaluation_mode` when the batch was
        computed (a callback that records its batches later, when the model may be back in training mode).
        """
        # The logits as passed: whether they carry gradients tells the eval-mode check where they were computed.
        given = logits if isinstance(logits, torch.Tensor) else None
        ids, logits, targets = checked_batch(split, sample_ids, logits, targets)
        if not mode_checked:
            self._described.eval_mode.check(split, given)
        self._keep(split, ids, logits, targets)

    def check_evaluation_mode(self, split: str) -> None:
        """Note whether the described model is in training mode now, for a batch of ``split`` computed now and
        recorded later with ``update(..., mode_checked=True)``; returns None."""
        self._described.eval_mode.check(split)

    def update_trusted(self, split: str, sample_ids, logits: torch.Tensor, targets: torch.Tensor) -> None:
        """:meth:`update` without its per-batch checks, for loops that build their batches valid (lossgap's
        trainer): ids (B,) a numpy array or tensor, logits (B, C), targets int64 (B,) on the logits' device;
        returns None. The labels are still checked once per epoch in :meth:`end_epoch`. The checks cost about
        as much as the rest of recording a training batch (a few per cent of a small epoch). Only what costs
        nothing is checked here: the split's name and the targets' dtype (their metadata, no device sync)."""
        if split not in SPLITS or targets.dtype != torch.int64:
            raise ValueError(f"Recorder.update_trusted({split!r}): needs a split of {SPLITS} and int64 targets, got "
                             f"{targets.dtype}; use Recorder.update, which checks and converts")
        self._described.eval_mode.close()   # a trusted loop sets the modes itself: no forward hooks per step
        self._keep(split, sample_ids, logits.detach(), targets)

    def _keep(self, split: str, ids, logits: torch.Tensor, targets: torch.Tensor) -> None:
        num_classes = logits.shape[1]
        known = self._num_classes.setdefault(split, num_classes)
        if known != num_classes:
            raise ValueError(f"Recorder.update({split!r}): {num_classes} logits per sample, earlier {known}")
        # Only references are kept here (detach() copies nothing), ids included: the per-sample figures are
        # computed once per epoch over all batches in end_epoch, which costs a few large tensor operations and
        # one copy to the host instead of a dozen small ones and a host sync per batch.
        self._pending.setdefault(split, []).append((ids, logits, targets))

    def end_epoch(self, gather: bool = False, group=None) -> dict[str, EpochSummary]:
        """Close the epoch; returns each split's loss, accuracy and balanced accuracy over its recorded samples.

        Under data parallelism (DDP: several processes, each feeding its own recorder with its share of the
        batches) every rank calls ``end_epoch(gather=True)`` at the same point: the ranks' records are
        gathered over ``group`` (default: torch.distributed's default group), so every rank's recorder holds
        every sample of the epoch once (a sample several ranks recorded, e.g. DistributedSampler's padding,
        is kept once) and returns the same summaries. Save the run from rank 0. Without an initialised
        process group of more than one rank, ``gather=True`` changes nothing.

        ValueError (one line) when a label is not a class of the logits, a sample was recorded twice, or a
        sample's label differs from an earlier epoch's; the recorder is then left as it was (the epoch's
        batches stay pending: :meth:`discard_pending` drops them).
        """
        # Labels are checked once per epoch, on every device: per batch, even a min/max on the CPU cost a few
        # per cent of small epochs (and a host sync per batch on an accelerator). Checked before anything is
        # popped: an error leaves the recorder as it was.
        for split, chunks in self._pending.items():
            if chunks:
                check_labels(f"Recorder.end_epoch ({split!r})", torch.cat([chunk[2] for chunk in chunks]),
                             self._num_classes[split])
        local: dict[str, tuple] = {}
        for split in list(self._epochs) + [name for name in self._pending if name not in self._epochs]:
            chunks = self._pending.get(split, [])
            if chunks:
                local[split] = (host_ids([chunk[0] for chunk in chunks]), *self._per_sample(split, chunks),
                                self._num_classes[split])
        distributed = None
        if gather:
            from lossgap.training.distributed import current, gather_records

            distributed = current(group)
            if distributed is not None:
                local = gather_records(local, distributed)
        closed: dict[str, tuple] = {}
        for split, (ids, labels, values, logits, num_classes) in local.items():
            if distributed is None:  # gathered records come sorted and checked
                ids, labels, values, logits = sorted_records(split, self._num_epochs + 1, ids, labels, values, logits,
                                                             self.repeated_ids)
            # Gathered records are the same on every rank, so every rank refuses alike (none waits for the others).
            known = self._labels.merged(f"Recorder.end_epoch ({split!r})", self._num_epochs + 1, split, ids, labels)
            closed[split] = (ids, labels, values, logits, num_classes, known)
            self._described.check_classes(num_classes)
        if not closed:
            # A second end_epoch() with nothing recorded in between would add an empty epoch and shift every later
            # epoch number (a 12-epoch loop read "at epoch 13"): warn and add nothing, training goes on.
            warnings.warn(f"Recorder.end_epoch: nothing was recorded since epoch {self._num_epochs} ended, so no "
                          "epoch was added; call end_epoch() once per epoch, after its update() calls",
                          RuntimeWarning, stacklevel=2)
            return {}
        # Every check passed: from here on the epoch is recorded, whole; a stop signal waits until it is.
        with stops_held():
            return self._commit_epoch(closed)

    def _commit_epoch(self, closed: dict[str, tuple]) -> dict[str, EpochSummary]:
        """Append the checked records of ``closed`` as the next epoch and write it to the store; returns the
        per-split summaries."""
        self._pending.clear()
        summaries: dict[str, EpochSummary] = {}
        for split in list(self._epochs) + [name for name in closed if name not in self._epochs]:
            history = self._epochs.setdefault(split, [])
            if len(history) < self._num_epochs:  # a split first seen late: earlier epochs are empty
                history.extend([empty_record()] * (self._num_epochs - len(history)))
            if split not in closed:
                history.append(empty_record())
                continue
            ids, labels, values, logits, num_classes, known = closed[split]
            self._num_classes.setdefault(split, num_classes)
            self._labels.commit(split, *known)
            history.append((ids, labels, values, logits) if self.keep_records else empty_record())
            summaries[split] = summarise_epoch(split, labels, values)
        if self._observer is not None:
            self._observations.extend([None] * (self._num_epochs - len(self._observations)))
            self._observations.append(self._observer.end_epoch())
        self._described.end_epoch()
        self._num_epochs += 1
        if self.store is not None:
            observation = (self._observations[-1] if len(self._observations) == self._num_epochs else None)
            write_epoch(self.store, self._num_epochs,
                        {split: (history[-1], self._num_classes[split]) for split, history in self._epochs.items()
                         if split in self._num_classes},
                        observation.to_row() if observation is not None else None, settings=self.settings)
            # The epoch is on disk: memory holds at most the current epoch, however long the run.
            for history in self._epochs.values():
                history[-1] = STORED
        return summaries

    @classmethod
    def resumed(cls, store: str | Path, epochs: int, keep_logits: tuple[str, ...] = ("val", "test")) -> Recorder:
        """A recorder holding epochs 1..``epochs`` of ``store`` that goes on writing there (``--resume``).
        ValueError when the store holds fewer epochs, a corrupt one, or a sample whose label changes."""
        available = stored_epochs(store)
        if len(available) < epochs:
            raise ValueError(f"the epoch store {store} holds {len(available)} epochs, the checkpoint {epochs}")
        recorder = cls(keep_logits=keep_logits)
        recorder.store = Path(store)  # not store=: its epochs are this recording's, not an earlier one's
        for epoch in range(1, epochs + 1):
            records, observation = read_epoch(store, epoch)
            for split, ((ids, labels, _, _), num_classes) in records.items():
                history = recorder._epochs.setdefault(split, [])
                history.extend([STORED] * (epoch - len(history)))
                recorder._num_classes[split] = num_classes
                if ids.shape[0]:
                    where = f"Recorder.resumed ({split!r})"
                    recorder._labels.commit(split, *recorder._labels.merged(where, epoch, split, ids, labels))
            recorder._observations.append(_StoredObservation(observation) if observation is not None else None)
        recorder._num_epochs = epochs
        recorder._described = DescribedSettings(stored_settings(store, epochs) if epochs else None)
        return recorder

    def _per_sample(self, split: str, chunks: list) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Labels (N,), the (N, 4) per-sample figures and, for splits in ``keep_logits``, float16 logits (N, C)
        of one epoch's batches (:func:`~lossgap.training.epoch_summary.per_sample_values`)."""
        return per_sample_values(split, chunks, keep_logits=split in self.keep_logits)

    def discard_pending(self) -> None:
        """Drop batches (and observations) recorded since the last :meth:`end_epoch` (an interrupted epoch)."""
        self._pending.clear()
        if self._observer is not None:
            self._observer.discard_epoch()

    def dynamics(self) -> dict[str, SplitDynamics]:
        """The recorded arrays of every split, aligned on the union of ids seen in any epoch (read back from
        the store when the recorder has one)."""
        if self.store is not None:
            return dynamics_from_store(self.store, limit=self._num_epochs) if self._num_epochs else {}
        return {split: self._split_dynamics(split, history) for split, history in self._epochs.items()}

    def write_dynamics(self, path: str | Path, epochs: int | None = None) -> int:
        """Write the dynamics of the first ``epochs`` closed epochs (default: all) to the npz file ``path``
        atomically; returns how many epochs it holds. A trainer stopped in the middle of closing an epoch
        passes the epochs it finished. :func:`lossgap.run.rundir.write_recording` puts it in a run directory.
        """
        if self._pending:
            raise ValueError(f"Recorder: batches of {sorted(self._pending)} were recorded after the last "
                             "end_epoch(); call end_epoch() first")
        count = self._num_epochs if epochs is None else max(0, min(int(epochs), self._num_epochs))
        if self.store is not None:
            count = min(count, len(stored_epochs(self.store)))
        # From a store, the epochs are gathered one epoch row at a time, so saving needs no more memory than
        # training did; only splits whose samples changed between epochs are assembled in memory.
        if self.store is None:
            save_dynamics(path, {split: self._split_dynamics(split, history[:count])
                                 for split, history in self._epochs.items()})
        elif not gather_store(self.store, count, path):
            save_dynamics(path, dynamics_from_store(self.store, limit=count))
        return count

    def _split_dynamics(self, split: str, history: list) -> SplitDynamics:
        return assemble_split(split, history, self._num_classes[split])


def _recovery_out(store: Path) -> Path | None:
    """Where ``lossgap.recover_recorded_run`` would best save the epochs an earlier recording left in ``store``
    (:func:`~lossgap.epoch_store.store_owner`); None when a run was already saved there from them (it holds
    dynamics, which every saved run does; a directory with other files gets the offer, and recovering into it
    says itself if it holds a run)."""
    out = store_owner(store)
    return None if (out / DYNAMICS_FILE).exists() else out


class _StoredObservation:
    """An epoch's optimisation figures read back from the epoch store (the row :class:`EpochObservation` wrote)."""

    def __init__(self, row: dict) -> None:
        self.row = row

    def to_row(self) -> dict:
        return dict(self.row)
