"""An exponential moving average of the weights (``--ema DECAY``): the model evaluated, checkpointed and delivered.

The average is a :class:`torch.optim.swa_utils.AveragedModel` with ``get_ema_multi_avg_fn``, updated after every
optimiser step over the parameters and buffers (``use_buffers=True``). Its first update copies the live model
(AveragedModel's rule); each later one is ``average = decay_step * average + (1 - decay_step) * live``.

Batch normalisation (LSTM-FCN's convolution branch): the running statistics are *recomputed* for the averaged
weights at the end of every epoch, before anything is evaluated (:meth:`WeightAverage.refresh`: one no-grad
train-mode pass over the train split, as ``swa_utils.update_bn`` does; the averaged buffers are overwritten).
Averaged running statistics fit none of the averaged networks: on ArrowHead (seed 0, DECAY 0.9) the average with
averaged statistics had val loss 1.255 at epoch 35 where the same weights with recomputed statistics had 0.869
(the live model: 0.917), and early stopping ended that run at epoch 53 on its epoch-3 model. Models without
batch normalisation skip the pass; with it, the pass costs about one more forward pass over train per epoch.

``DECAY`` is the share of the average kept per *epoch*, turned into a per-step decay
``decay_step = DECAY ** (1 / steps_per_epoch)``: everything else that counts time here (patience, the plateau
schedule) counts epochs, and a per-step decay would average over 50 epochs of a 2-batch set and 5 of a 20-batch
one. DECAY 0.9 averages about the last 10 epochs, whatever the set's size; DECAY 0 has exactly the live weights
(and, without batch normalisation, is exactly the run without ``--ema``).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from lossgap.training.batching import DeviceSplit, contiguous_slices


def step_decay(decay: float, steps_per_epoch: int) -> float:
    """The per-step decay that keeps ``decay`` of the average after ``steps_per_epoch`` steps."""
    return float(decay) ** (1.0 / max(1, int(steps_per_epoch)))


class WeightAverage:
    """The moving average of ``model`` (parameters and buffers); :attr:`model` is the averaged network."""

    def __init__(self, model: nn.Module, decay: float, steps_per_epoch: int) -> None:
        self.source = model
        self.decay = decay
        self.step_decay = step_decay(decay, steps_per_epoch)
        # Built before any hook is attached to ``model``: AveragedModel deep-copies it.
        self._averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.step_decay), use_buffers=True)

    @property
    def model(self) -> nn.Module:
        """The averaged network (same class and state_dict keys as the live model)."""
        return self._averaged.module

    def update(self) -> None:
        """Fold the live model's current weights and buffers into the average (call after each optimiser step)."""
        self._averaged.update_parameters(self.source)

    def refresh(self, train: DeviceSplit, batch_size: int) -> None:
        """Recompute the average's batch-norm statistics from every sample of ``train`` (none: nothing to do)."""
        refresh_batch_norm(self.model, train, batch_size)

    def state_dict(self) -> dict:
        """The averaged weights and how many updates they hold (tensors and plain numbers, weights_only-loadable)."""
        return {"decay": float(self.decay), "updates": int(self._averaged.n_averaged),
                "weights": {key: value.detach().cpu().clone() for key, value in self.model.state_dict().items()}}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`'s output."""
        self.model.load_state_dict(state["weights"])
        self._averaged.n_averaged.fill_(int(state["updates"]))


def weight_average(model: nn.Module, decay: float | None, train_samples: int,
                   batch_size: int) -> WeightAverage | None:
    """The average ``--ema decay`` asks for (None when off); an epoch has ceil(train_samples / batch_size) steps."""
    if decay is None:
        return None
    return WeightAverage(model, decay, math.ceil(train_samples / batch_size))


def evaluated_model(model: nn.Module, average: WeightAverage | None) -> nn.Module:
    """The network whose figures are recorded and whose weights are delivered: the average when there is one."""
    return average.model if average is not None else model


def refresh_batch_norm(model: nn.Module, split: DeviceSplit, batch_size: int) -> None:
    """Set every batch-norm layer's running statistics of ``model`` to those of its own activations on ``split``.

    A no-grad pass in train mode, batches of ``batch_size`` in order, each batch weighing alike (momentum None,
    ``swa_utils.update_bn``'s rule); torch's random state is put back, so dropout in that pass draws nothing from
    the training's streams. Nothing runs when ``model`` has no batch normalisation.
    """
    norms = [module for module in model.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    was_training = model.training
    device = split.features.device
    model.train()
    gpus = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=gpus), torch.no_grad():
        for index in contiguous_slices(split.num_samples, batch_size):
            model(split.features[index], split.batch_lengths(index))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.train(was_training)
