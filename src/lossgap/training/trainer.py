"""The training loop: epoch-mean losses, held-out validation, early stopping, recording every sample."""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from lossgap.class_weights import balanced_class_weights
from lossgap.data.sequence import DatasetSplits
from lossgap.errors import ConfigError
from lossgap.signals import STOP_SIGNALS, handled_by, stops_held
from lossgap.training.averaging import WeightAverage, evaluated_model, weight_average
from lossgap.training.batching import DeviceSplit, contiguous_slices, shuffled_batches
from lossgap.training.config import TrainConfig
from lossgap.training.distributed import Distributed, clear_stop, request_stop
from lossgap.training.early_stopping import BestTracker
from lossgap.training.optim import build_optimizer, build_scheduler
from lossgap.training.epoch_summary import EpochSummary
from lossgap.training.recorder import Recorder
from lossgap.training.state import restore, training_state

#: Called after every epoch with that epoch's metrics row (the row written to metrics.csv).
EpochCallback = Callable[[dict[str, float]], None]


@dataclass
class FitResult:
    """What training produced, beside the recorder's dynamics.

    ``history`` holds one metrics row per finished epoch; ``delivered_epoch`` is the epoch whose weights the
    model holds at the end (the best epoch when early stopping restored it or a non-finite loss ended training, else
    the last epoch).
    """

    history: list[dict[str, float]]
    best_epoch: int
    best_value: float
    delivered_epoch: int
    stop_reason: str  # "epochs", "early_stopping", "non_finite_loss" or "interrupted"
    last_state: dict[str, torch.Tensor]
    best_state: dict[str, torch.Tensor] | None
    test: EpochSummary | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def resolve_device(name: str) -> torch.device:
    """The torch device for ``name`` ('cpu', 'cuda', 'cuda:1'); ConfigError when CUDA is asked for but absent."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but this torch sees no CUDA device; "
                          "use --device cpu or install a CUDA build of torch on a GPU machine")
    try:
        return torch.device(name)
    except RuntimeError:
        raise ConfigError(f"unknown device {name!r}; use cpu or cuda") from None


def class_weight_tensor(labels: np.ndarray, num_classes: int, device: torch.device) -> torch.Tensor:
    """Balanced class weights (:func:`lossgap.class_weights.balanced_class_weights`) as a float32 tensor."""
    return torch.tensor(balanced_class_weights(labels, num_classes), dtype=torch.float32, device=device)


def record_split(model: nn.Module, split: DeviceSplit, batch_size: int, recorder: Recorder,
                 distributed: Distributed | None = None) -> None:
    """Feed ``recorder`` the eval-mode logits of every sample of ``split`` (under DDP: of this rank's contiguous
    share of it; the recorder gathers the shares), under ``torch.inference_mode()``."""
    start, stop = (0, split.num_samples) if distributed is None else distributed.shard_range(split.num_samples)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for part in contiguous_slices(stop - start, batch_size):
            index = slice(start + part.start, start + part.stop)
            logits = model(split.features[index], split.batch_lengths(index))
            recorder.update_trusted(split.name, split.ids[index], logits, split.labels[index])
    model.train(was_training)


def evaluate(model: nn.Module, split: DeviceSplit, batch_size: int,
             distributed: Distributed | None = None) -> EpochSummary:
    """Mean loss (nats), accuracy and balanced accuracy of ``model`` on ``split`` in eval mode (over every
    rank's share under DDP)."""
    recorder = Recorder(keep_logits=())
    record_split(model, split, batch_size, recorder, distributed)
    return recorder.end_epoch(gather=distributed is not None,
                              group=distributed.group if distributed is not None else None)[split.name]


def fit(model: nn.Module, data: DatasetSplits, config: TrainConfig, recorder: Recorder,
        generator: torch.Generator, on_epoch_end: EpochCallback | None = None, *,
        on_checkpoint: Callable[[int, Callable[[], dict]], None] | None = None,
        resume: dict | None = None, distributed: Distributed | None = None) -> FitResult:
    """Train ``model`` on ``data.train``, validating on ``data.val`` every epoch; returns a :class:`FitResult`.

    Every epoch records train (see ``config.record_train``), val and, when present and ``config.record_test`` is
    "epochs", test into ``recorder``,
    and the optimisation evidence of ``model`` (``recorder.observe``; the hooks are removed before returning).
    The test split is only reported, never used for a decision. When early stopping is on, the best
    epoch's weights are restored at the end, whatever ended training; so are they when a non-finite loss ended it
    (the last weights then predict nothing). Ctrl-C ends training after the
    current batch with ``stop_reason == "interrupted"``; finished epochs are kept. With ``config.optimizer.ema``
    the weight average (:mod:`lossgap.training.averaging`) is what the end-of-epoch passes record, early
    stopping and the schedule monitor, the checkpoints hold and ``model`` holds at the end; the optimisation
    evidence and ``--record-train pass`` stay the live model's.

    ``on_checkpoint(epoch, build_state)`` is called after every epoch, before ``on_epoch_end``; calling
    ``build_state()`` then returns the full training state (see :mod:`lossgap.training.state`); ``resume`` (such a state) continues from the epoch
    after it, with ``recorder`` holding the epochs before (:meth:`Recorder.resumed`) and ``model`` built
    (and seeded) as for the original run: the numbers are those of an uninterrupted run.

    ``distributed`` (from :func:`lossgap.training.distributed.setup`, one per torchrun process) trains
    data-parallel: every rank draws the same global batches (``config.batch_size`` samples) and trains on its
    share with DistributedDataParallel, each rank's loss weighted so the averaged gradient is the one of the
    whole batch; records are gathered, so every rank gets the same figures and takes the same decisions
    (early stopping, non-finite loss); SIGINT/SIGTERM on any rank stop every rank after the same batch.
    """
    device = resolve_device(config.device)
    if distributed is not None and device.type == "cuda":
        device = distributed.device  # this rank's own GPU (LOCAL_RANK), not whichever "cuda" means
    model.to(device)
    splits = {name: DeviceSplit.from_data(part, device) for name, part in data.splits().items()}
    train = splits["train"]
    # With --ema the average is what is recorded, monitored, checkpointed and delivered (built before any hook).
    average = weight_average(model, config.optimizer.ema, train.num_samples, config.batch_size)
    evaluated = evaluated_model(model, average)
    trained_model = model
    if distributed is not None:
        from torch.nn.parallel import DistributedDataParallel

        # Construction broadcasts rank 0's weights, so the ranks start equal even if their seeds differed.
        trained_model = DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, process_group=distributed.group)
        # Each rank's share of a batch needs its own dropout masks (one process draws independent masks for
        # every row); the shuffle has its own generator, shared by all ranks, so batches stay the same.
        torch.manual_seed(config.seed * 1_000_003 + distributed.rank)
        clear_stop()
    optimizer = build_optimizer(model, config.optimizer)
    scheduler = build_scheduler(optimizer, config.optimizer, config.early_stopping, config.epochs)
    weights = (class_weight_tensor(data.train.labels, data.num_classes, device)
               if config.class_weights == "balanced" else None)
    # Under DDP summed, not averaged: _batch_objective divides a rank's share by the whole global batch's
    # (weighted) size. One process keeps torch's mean, so its numbers stay those of earlier versions.
    loss_function = nn.CrossEntropyLoss(weight=weights, reduction="mean" if distributed is None else "sum")
    max_norm = config.optimizer.clip_grad if config.optimizer.clip_grad is not None else math.inf
    tracker = BestTracker(config.early_stopping)
    history: list[dict[str, float]] = []
    stop_reason = "epochs"
    started = time.perf_counter()
    recorder.observe(model)
    first_epoch = 1
    if resume is not None:
        history = restore(resume, model=model, optimizer=optimizer, scheduler=scheduler, tracker=tracker,
                          generator=generator, device=device, observer=recorder.observer, average=average)
        first_epoch = len(history) + 1
        # Killed between its last checkpoint and its end: what ended it then ends it now.
        if history and not math.isfinite(history[-1]["train_loss_running"]):
            stop_reason, first_epoch = "non_finite_loss", config.epochs + 1
        elif tracker.should_stop:
            stop_reason, first_epoch = "early_stopping", config.epochs + 1
    gather = {"gather": distributed is not None, "group": distributed.group if distributed is not None else None}
    # Under DDP a stop signal only sets a flag that all ranks check together (agree_stop): an exception in
    # the middle of a collective would leave the other ranks waiting for this one.
    stops = contextlib.ExitStack()
    if distributed is not None:
        stops.enter_context(handled_by(request_stop, tuple(STOP_SIGNALS)))
    try:
        for epoch in range(first_epoch, config.epochs + 1):
            epoch_started = time.perf_counter()
            learning_rate = optimizer.param_groups[0]["lr"]
            running_loss, grad_norm = train_one_epoch(trained_model, train, optimizer, loss_function, max_norm,
                                                       config, recorder, generator, device, weights, distributed,
                                                       average)
            if average is not None:
                average.refresh(train, config.eval_batch_size)
            for name, split in splits.items():
                if _recorded_each_epoch(name, config):
                    record_split(evaluated, split, config.eval_batch_size, recorder, distributed)
            summaries = recorder.end_epoch(**gather)
            row = _metrics_row(epoch, summaries, running_loss, grad_norm, learning_rate,
                               time.perf_counter() - epoch_started)
            history.append(row)
            monitored = row[monitored_column(config)]
            tracker.update(epoch, monitored, evaluated)
            if scheduler is not None:
                scheduler.step(monitored) if config.optimizer.scheduler == "plateau" else scheduler.step()
            if on_checkpoint is not None:
                with stops_held():   # a stop inside torch.save's zip writer could come out as another error
                    on_checkpoint(epoch, lambda epoch=epoch: training_state(
                        epoch=epoch, model=model, optimizer=optimizer, scheduler=scheduler, tracker=tracker,
                        generator=generator, device=device, history=history, observer=recorder.observer,
                        average=average))
            if on_epoch_end is not None:
                _call_epoch_end(on_epoch_end, row, distributed)
            if not math.isfinite(running_loss):
                stop_reason = "non_finite_loss"
                break
            if tracker.should_stop:
                stop_reason = "early_stopping"
                break
            if distributed is not None:
                distributed.agree_stop()
    except KeyboardInterrupt:
        stop_reason = "interrupted"
        recorder.discard_pending()
    finally:
        stops.close()
        # The model goes back to the caller: no hook of ours may keep running on it.
        recorder.stop_observing()
    last_state = {key: tensor.detach().clone() for key, tensor in evaluated.state_dict().items()}
    delivered_epoch = len(history)
    # A loss that went NaN or infinite leaves weights that predict nothing: the best epoch's (best.pt) are delivered
    # instead, early stopping or not (trial 13's ACSF1 run at lr 0.1 had delivered its NaN epoch 34, test 0.100, where
    # its epoch 31 held 0.36).
    if (config.early_stopping.enabled or stop_reason == "non_finite_loss") and tracker.best_state is not None:
        model.load_state_dict(tracker.best_state)
        delivered_epoch = tracker.best_epoch
    elif average is not None:
        model.load_state_dict(last_state)
    test = None
    if "test" in splits and history:
        test = evaluate(model, splits["test"], config.eval_batch_size, distributed)
    return FitResult(history=history, best_epoch=tracker.best_epoch, best_value=tracker.best_value,
                     delivered_epoch=delivered_epoch, stop_reason=stop_reason, last_state=last_state,
                     best_state=tracker.best_state, test=test, seconds=time.perf_counter() - started)


def train_one_epoch(model, train: DeviceSplit, optimizer, loss_function, max_norm: float, config: TrainConfig,
                     recorder: Recorder, generator: torch.Generator, device: torch.device,
                     weights: torch.Tensor | None, distributed: Distributed | None,
                     average: WeightAverage | None = None) -> tuple[float, float]:
    """One shuffled pass of optimisation; returns (mean training objective over samples, mean gradient norm).

    ``average`` (``--ema``), when given, is updated after every optimiser step. ``recorder`` is only read with
    ``config.record_train == "pass"``. Under DDP every rank draws the same global batches and trains on its share
    (``distributed.shard``).
    """
    model.train()
    loss_sum = torch.zeros((), device=device)
    norms = []
    record_pass = config.record_train == "pass"
    world = distributed.world_size if distributed is not None else 1
    for batch in shuffled_batches(train.num_samples, config.batch_size, generator, device):
        index = batch if distributed is None else distributed.shard(batch)
        # A rank whose share of a short last batch is empty still takes part in the gradient all-reduce:
        # it runs one sample of the batch with weight 0.
        share = 1.0 if index.numel() else 0.0
        if not index.numel():
            index = batch[:1]
        features, labels = train.features[index], train.labels[index]
        logits = model(features, train.batch_lengths(index))
        if distributed is None:
            objective = loss_function(logits, labels)
        else:
            objective = _batch_objective(loss_function(logits, labels), train.labels[batch], weights) * share
        optimizer.zero_grad(set_to_none=True)
        # DDP averages the ranks' gradients: world x (this rank's part of the batch objective) averages to the
        # gradient of the whole batch's objective, however unevenly the batch was split.
        (objective * world if distributed is not None else objective).backward()
        norms.append(_gradient_norm(model, max_norm))
        optimizer.step()
        if average is not None:
            average.update()
        # Times the global batch size so the epoch figure is a mean over samples, not over batches.
        loss_sum += objective.detach() * batch.shape[0]
        if record_pass and share:
            recorder.update_trusted("train", train.ids[index.cpu().numpy()], logits, labels)
        if distributed is not None:
            distributed.agree_stop()
    if distributed is not None:
        loss_sum = distributed.sum(loss_sum)
    mean_loss = float(loss_sum) / train.num_samples
    mean_norm = float(torch.stack(norms).mean()) if norms else float("nan")
    return mean_loss, mean_norm


def _call_epoch_end(on_epoch_end: EpochCallback, row: dict[str, float], distributed: Distributed | None) -> None:
    """Call ``on_epoch_end(row)``. Under DDP a stop it raises (KeyboardInterrupt: rank 0's progress display whose
    reader went away) becomes a stop request that every rank acts on at the next agreement point: raised here,
    it would end this rank alone and leave the others waiting in their next collective."""
    if distributed is None:
        on_epoch_end(row)
        return
    try:
        on_epoch_end(row)
    except KeyboardInterrupt:
        request_stop()


def _recorded_each_epoch(split: str, config: TrainConfig) -> bool:
    """Whether the end-of-epoch passes evaluate and record ``split`` (train: ``--record-train eval``; test:
    ``--record-test epochs``; val always)."""
    if split == "train":
        return config.record_train == "eval"
    if split == "test":
        return config.record_test == "epochs"
    return True


def _batch_objective(summed_loss: torch.Tensor, batch_labels: torch.Tensor,
                     weights: torch.Tensor | None) -> torch.Tensor:
    """A (share of a) batch's summed cross-entropy divided by the whole batch's size (or, with class weights,
    its total weight): the shares' objectives add up to CrossEntropyLoss's mean over the whole batch (nats)."""
    total = batch_labels.shape[0] if weights is None else weights[batch_labels].sum()
    return summed_loss / total


def _gradient_norm(model: nn.Module, max_norm: float) -> torch.Tensor:
    """Total L2 norm of the gradients before clipping (a 0-d tensor, no host sync); clips when max_norm is finite."""
    if math.isfinite(max_norm):
        return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm, foreach=True)
    # Without clipping, clip_grad_norm_ would still multiply every gradient by 1.0.
    grads = [param.grad for param in model.parameters() if param.grad is not None]
    return torch.nn.utils.get_total_norm(grads, foreach=True)


def val_loss_column(config: TrainConfig) -> str:
    """The metrics.csv column of the val loss a run is judged by: ``val_loss``, or for a run weighted by
    ``--class-weights balanced`` the val loss weighted the same way (``val_balanced_loss``): the plain val loss
    favours the frequent classes the weights are there to offset, and chose epochs that leaned on them."""
    return "val_balanced_loss" if config.class_weights == "balanced" else "val_loss"


def monitored_column(config: TrainConfig) -> str:
    """The metrics.csv column early stopping and the plateau schedule watch: ``--monitor``'s, the val loss being
    :func:`val_loss_column`'s."""
    return val_loss_column(config) if config.early_stopping.monitor == "val_loss" else config.early_stopping.monitor


def _metrics_row(epoch: int, summaries: dict[str, EpochSummary], running_loss: float, grad_norm: float,
                 learning_rate: float, seconds: float) -> dict[str, float]:
    row: dict[str, float] = {"epoch": epoch}
    for name in ("train", "val", "test"):
        if name in summaries:
            summary = summaries[name]
            row[f"{name}_loss"] = summary.loss
            row[f"{name}_accuracy"] = summary.accuracy
            row[f"{name}_balanced_accuracy"] = summary.balanced_accuracy
            row[f"{name}_balanced_loss"] = summary.balanced_loss
    row["train_loss_running"] = running_loss
    row["lr"] = learning_rate
    row["grad_norm"] = grad_norm
    row["seconds"] = seconds
    return row
