"""The settings of a model trained outside lossgap's trainer, read from the model and its optimizer.

lossgap's own runs carry their settings in ``config.json`` (``"train"``); an own loop's or Lightning's do not,
and without them the diagnosis cannot tell a model its settings hold back (a recurrent layer of 1 unit, weight
decay 10) from one that met the limit of its data. :func:`describe_training` reads what those checks need, in
the shape of lossgap's own configuration (``{"model": {...}, "optimizer": {...}}``), so the diagnosis reads
both alike; :meth:`lossgap.Recorder.describe` records it into the run's ``config.json`` as ``"settings"``.
"""

from __future__ import annotations

import math
import numbers
import statistics

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.dropout import _DropoutNd

from lossgap.errors import ConfigError
from lossgap.training.eval_mode import EvaluationModeWatch

#: torch's recurrent layer classes and the model kind each stands for.
_RECURRENT_KINDS = ((nn.LSTM, "lstm"), (nn.LSTMCell, "lstm"), (nn.GRU, "gru"), (nn.GRUCell, "gru"),
                    (nn.RNN, "rnn"), (nn.RNNCell, "rnn"))
#: Layers that may form a branch beside the recurrent one (as in an LSTM-FCN), which dropout may not touch.
_CONVOLUTIONS = (nn.Conv1d, nn.Conv2d)


def describe_training(model: nn.Module, optimizer=None) -> dict:
    """What the diagnosis's checks read from ``model`` (any ``nn.Module``) and ``optimizer`` (a
    ``torch.optim.Optimizer`` or None), as a JSON-ready dict:

    - ``model``: ``kind`` ("lstm", "gru", "rnn" after its first recurrent layer; "other" without one),
      ``convolutions`` (True when the model also has convolutions: they may form a branch beside the
      recurrent one, as in an LSTM-FCN, that its dropout does not touch, so that dropout is not read as
      holding the whole model back; a convolution in series before the recurrent layer is read the same way),
      ``batch_norm`` (True with a batch-norm layer: its running statistics can lag the weights, so the model
      evaluated at an epoch's end differs from the one being trained),
      ``hidden_size`` (the widest recurrent layer's units: a narrow one may be a side branch, and calling the
      model held back when it is not discounts real findings; so a narrow layer in series after a wide one is
      not seen; None without a recurrent layer), ``num_layers`` (the most layers one recurrent module
      stacks), ``dropout`` (the largest rate of any dropout module, or of a stacked recurrent layer's own
      dropout), ``parameters`` (trainable parameter count), ``frozen`` (the frozen parameters: see :func:`_frozen`),
      ``class``, and ``narrowest_linear`` (``{"name",
      "width", "side"}`` of the ``nn.Linear`` with the fewest outputs, or inputs, None without one: a layer
      narrower than the number of classes between the recurrent layer and the output caps what the model can
      tell apart, while one in a side path, such as an attention score, does not; which it is cannot be read
      from the modules, so the diagnosis names it as a possibility rather than counting it as a constraint).
    - ``optimizer`` (None without one): ``name`` (the class name lower-cased: "adam", "adamw", "sgd",
      "rmsprop", ...), ``decoupled_weight_decay`` (True for AdamW and SGD-style decay, or an adaptive optimizer
      built with ``decoupled_weight_decay=True``), and ``lr`` and ``weight_decay`` of the parameter group that
      decays most (groups that exempt biases from decay are common; the decayed weights are what a heavy decay
      holds back). The learning rate is the one set when this is called; :class:`lossgap.Recorder` replaces
      it by the median of the rates its epochs ended with, so a warm-up or a schedule is read as it ran.

    TypeError (one line) when ``optimizer`` is not a torch optimizer.
    """
    recurrent = [(module, kind) for module in model.modules() for cls, kind in _RECURRENT_KINDS
                 if isinstance(module, cls)]
    dropouts = [float(module.p) for module in model.modules() if isinstance(module, _DropoutNd)]
    # A stacked recurrent layer's own dropout acts between its layers only (torch ignores it with one layer).
    dropouts += [float(module.dropout) for module, _ in recurrent
                 if getattr(module, "num_layers", 1) > 1 and getattr(module, "dropout", 0.0)]
    settings = {
        "model": {
            "kind": recurrent[0][1] if recurrent else "other", "class": type(model).__name__,
            "convolutions": any(isinstance(module, _CONVOLUTIONS) for module in model.modules()),
            "batch_norm": any(isinstance(module, _BatchNorm) for module in model.modules()),
            "hidden_size": max(int(module.hidden_size) for module, _ in recurrent) if recurrent else None,
            "num_layers": max(int(getattr(module, "num_layers", 1)) for module, _ in recurrent) if recurrent else None,
            "dropout": max(dropouts, default=0.0),
            "parameters": sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad),
            "narrowest_linear": _narrowest_linear(model),
            "frozen": _frozen(model),
        },
        "optimizer": None,
    }
    if optimizer is not None:
        settings["optimizer"] = describe_optimizer(optimizer)
    return settings


def _frozen(model: nn.Module) -> dict | None:
    """``{"parameters", "share", "modules"}`` of the model's frozen parameters (``requires_grad=False``): their count,
    their share of all parameters, and the top-level modules holding them (at most 5 named); None when every
    parameter trains."""
    named = list(model.named_parameters())
    frozen = [(name, parameter) for name, parameter in named if not parameter.requires_grad]
    if not frozen:
        return None
    count = sum(parameter.numel() for _, parameter in frozen)
    total = sum(parameter.numel() for _, parameter in named)
    modules = list(dict.fromkeys(name.split(".")[0] for name, _ in frozen))
    return {"parameters": count, "share": count / total, "modules": modules[:5]}


#: Modules that can read a model's inputs (see _narrowest_linear).
_INPUT_LAYERS = (nn.Linear, nn.modules.conv._ConvNd, nn.RNNBase, nn.Embedding, nn.EmbeddingBag)


def _narrowest_linear(model: nn.Module) -> dict | None:
    """``{"name", "width", "side"}`` of the model's narrowest nn.Linear end, or None without one: the fewest
    outputs (``side`` "output"), or the fewest inputs (``side`` "input": whatever feeds it is that narrow, such as
    a convolution of 1 channel before a Linear(1, C) head); the first such on ties, outputs before inputs."""
    ends = [(int(module.out_features), 0, name, "output") for name, module in model.named_modules()
            if isinstance(module, nn.Linear)]
    # The first layer reads the data itself: a Linear(1, 64) projecting a univariate series is no bottleneck (own
    # Transformers had been told to "widen the layer that feeds 'inp'" first). A layer, not any module with weights
    # of its own: a positional embedding held as a bare nn.Parameter by the model itself, or a LayerNorm on the inputs,
    # had made the model or the norm "first" and 'inp' a bottleneck again (trial 19).
    first = next((module for module in model.modules() if isinstance(module, _INPUT_LAYERS)), None)
    ends += [(int(module.in_features), 1, name, "input") for name, module in model.named_modules()
             if isinstance(module, nn.Linear) and module is not first]
    if not ends:
        return None
    width, _, name, side = min(ends, key=lambda end: end[:2])
    # A Linear as wide as an attention layer's embed_dim (its out_proj, the feed-forward's output, the input projection)
    # is the width a Transformer carries through its layers (d_model): that width, not one projection, is what to raise
    # (trial 22: "widen the Linear layer 'enc.layers.0.self_attn.out_proj'" had been said of a Transformer of d_model 2).
    attention = next((outer for outer, module in model.named_modules() if isinstance(module, nn.MultiheadAttention)
                      and module.embed_dim == width and side == "output"), None)
    if attention is not None:
        return {"name": attention, "width": width, "side": "output", "attention": True}
    return {"name": name or type(model).__name__, "width": width, "side": side}


def describe_optimizer(optimizer) -> dict:
    """``name``, ``decoupled_weight_decay``, ``lr`` and ``weight_decay`` of ``optimizer``, and ``initial_lr`` where a
    torch learning-rate scheduler set one (see :func:`describe_training`); TypeError (one line) for an object that is not a torch optimizer."""
    groups = getattr(optimizer, "param_groups", None)
    if not isinstance(groups, list) or not all(isinstance(group, dict) for group in groups):
        raise TypeError(f"optimizer is of type {type(optimizer).__name__}, not a torch.optim.Optimizer; pass the "
                        "optimizer your loop steps (e.g. torch.optim.Adam(model.parameters())), or leave it out")
    weighted = [group for group in groups if group.get("params")] or groups
    decay = {id(group): _number(group.get("weight_decay") or 0.0, "weight_decay") for group in weighted}
    decaying = max(weighted, key=lambda group: decay[id(group)], default={})
    name = type(optimizer).__name__.lower()
    lr = decaying.get("lr")
    described = {"name": name, "decoupled_weight_decay": name in ("adamw", "sgd") or bool(
                     decaying.get("decoupled_weight_decay")),
                 "lr": _number(lr, "lr") if lr is not None else None, "weight_decay": decay.get(id(decaying), 0.0)}
    # torch's learning-rate schedulers keep the rate they started from in each group: a rate far below it was
    # scheduled down, not set that low (the frozen-schedule form tells the two apart by it).
    if decaying.get("initial_lr") is not None:
        described["initial_lr"] = _number(decaying["initial_lr"], "initial_lr")
    return described


def _number(value, key: str) -> float:
    """``value`` (a float, or a 0-d tensor as torch allows for lr) as a float with float32's 7 significant
    digits at most (a tensor lr of 0.003 is not stored as 0.003000000026); TypeError for anything else."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"the optimizer's {key} is {value!r}, not a number; describe an optimizer whose param "
                        f"groups hold numbers") from None
    return float(f"{number:.7g}") if math.isfinite(number) else number


def loop_statements(clip_grad: float | None = None, early_stopping: int | None = None,
                    early_stopping_monitor: str = "val_loss", class_weights=None,
                    resampled_classes: bool | None = None, framework_zeroes_gradients: bool | None = None) -> dict:
    """What a loop says of itself that its model and optimizer do not show, checked: ``{"clip_grad": max norm}``
    and ``{"early_stopping": {"patience": P, "monitor": "val_loss" | "val_accuracy"}}`` for the ones given,
    ``{"loop": {"framework_zeroes_gradients": bool}}`` for a framework that zeroes the gradients itself.
    ConfigError (one line) for a clip norm that is not a positive number, a patience that is not a positive
    whole number, or another monitor."""
    statements: dict = {}
    if early_stopping_monitor not in ("val_loss", "val_accuracy"):
        raise ConfigError(f"Recorder.describe: early_stopping_monitor={early_stopping_monitor!r}; use "
                          "'val_loss' or 'val_accuracy' (what your loop's early stopping watches)")
    if clip_grad is not None:
        if (isinstance(clip_grad, bool) or not isinstance(clip_grad, numbers.Real)
                or not 0 < float(clip_grad) < math.inf):
            raise ConfigError(f"Recorder.describe: clip_grad={clip_grad!r} is not a positive number; pass the max "
                              "norm your loop clips the gradients at (e.g. clip_grad=1.0), or leave it out")
        statements["clip_grad"] = float(clip_grad)
    if early_stopping is not None:
        whole = isinstance(early_stopping, numbers.Integral) or (
            isinstance(early_stopping, numbers.Real) and float(early_stopping).is_integer())
        if isinstance(early_stopping, bool) or not whole or early_stopping < 1:
            raise ConfigError(f"Recorder.describe: early_stopping={early_stopping!r} is not a patience in epochs; "
                              "pass how many epochs without a new best your loop waits (e.g. early_stopping=10)")
        statements["early_stopping"] = {"patience": int(early_stopping), "monitor": early_stopping_monitor}
    if class_weights is not None:
        statements["loss"] = {"class_weights": _class_weights(class_weights)}
    if resampled_classes is not None:
        statements["sampling"] = {"resampled_classes": _true_or_false(
            "resampled_classes", resampled_classes, "when your loop draws its batches with a sampler that balances "
            "the classes (e.g. WeightedRandomSampler)")}
    if framework_zeroes_gradients is not None:
        statements["loop"] = {"framework_zeroes_gradients": _true_or_false(
            "framework_zeroes_gradients", framework_zeroes_gradients, "when a framework runs the training step and "
            "zeroes the gradients itself (Lightning's automatic optimisation), or leave it out")}
    return statements


def _true_or_false(name: str, value, when: str) -> bool:
    """``value`` when it is True or False; ConfigError (one line) naming ``name`` and saying to pass True ``when``."""
    if not isinstance(value, bool):
        raise ConfigError(f"Recorder.describe: {name}={value!r} is not True or False; pass True {when}")
    return value


def _class_weights(values) -> list[float]:
    """``values`` (a sequence, numpy array or tensor of one weight per class) as a list of floats; ConfigError
    (one line) unless it is at least two finite, non-negative numbers with a positive one."""
    try:
        weights = [float(value) for value in (values.tolist() if hasattr(values, "tolist") else values)]
    except (TypeError, ValueError):
        weights = []
    if len(weights) < 2 or not all(math.isfinite(w) and w >= 0 for w in weights) or not any(weights):
        raise ConfigError(f"Recorder.describe: class_weights={values!r} is not one non-negative weight per class; "
                          "pass the weights your loss is weighted by (e.g. class_weights=loss_fn.weight)")
    return weights


#: Loss modules whose ``weight`` weighs the classes (found inside a model, as a LightningModule holds its loss).
_WEIGHTED_LOSSES = (nn.CrossEntropyLoss, nn.NLLLoss)


def loss_in_model(model: nn.Module) -> dict | None:
    """``{"class_weights": [...]}`` of the first class-weighted ``nn.CrossEntropyLoss`` / ``nn.NLLLoss`` among
    ``model``'s modules (a LightningModule that keeps its loss as an attribute), or None."""
    for module in model.modules():
        if isinstance(module, _WEIGHTED_LOSSES) and getattr(module, "weight", None) is not None:
            return {"class_weights": [float(value) for value in module.weight.detach().cpu().tolist()]}
    return None


class DescribedSettings:
    """What a Recorder was told of its model and optimizer (see :meth:`lossgap.Recorder.describe`): the
    described settings, and the learning rate read again at the end of every epoch, so that a warm-up or a
    schedule is read as it ran rather than as it began (a 5-epoch warm-up from 1/100 of the rate had been read
    as 1/100 for the whole run): ``settings["optimizer"]["lr"]`` is the median of the rates the epochs ended
    with."""

    def __init__(self, settings: dict | None = None) -> None:
        #: The settings (``describe_training``'s dict), or None when nothing was described.
        self.settings = settings
        self._optimizer = None
        self._epoch_lrs: list[float] = []
        self._statements: dict = {}
        #: Whether val and test passes run in eval mode (see :mod:`lossgap.training.eval_mode`).
        self.eval_mode = EvaluationModeWatch(counts=((settings or {}).get("evaluation") or {}).get(
            "train_mode_epochs"))

    def describe(self, model: nn.Module, optimizer=None, **statements) -> dict:
        """Describe ``model`` and ``optimizer``; without an optimizer, the one described before still holds
        (``describe(model, optimizer)`` then ``observe(model)``). ``statements`` (:func:`loop_statements`'s
        arguments) say what the loop does beyond them; each one given stays until given again. Returns the
        settings."""
        self._statements.update(loop_statements(**statements))
        self.settings = describe_training(model, optimizer)
        self.eval_mode.close()
        self.eval_mode = EvaluationModeWatch(model, counts=self.eval_mode.counts)
        if optimizer is not None:
            self._optimizer, self._epoch_lrs = optimizer, []
        elif self._optimizer is not None:
            self.settings["optimizer"] = describe_optimizer(self._optimizer)
            self._median_lr()
        if "clip_grad" in self._statements:
            self.settings["optimizer"] = {**(self.settings["optimizer"] or {}),
                                          "clip_grad": self._statements["clip_grad"]}
        for key in ("early_stopping", "sampling", "loop"):
            if key in self._statements:
                self.settings[key] = dict(self._statements[key])
        loss = self._statements.get("loss") or loss_in_model(model)
        if loss is not None:
            self.settings["loss"] = dict(loss)
        return self.settings

    def check_classes(self, num_classes: int) -> None:
        """ValueError (one line) when described class weights do not hold one weight per class of the logits."""
        weights = ((self.settings or {}).get("loss") or {}).get("class_weights")
        if weights is not None and len(weights) != num_classes:
            raise ValueError(f"Recorder: {len(weights)} class weights were described but the logits have "
                             f"{num_classes} classes; pass describe(..., class_weights=...) one weight per class")

    def end_epoch(self) -> None:
        """Read the described optimizer's learning rate as this epoch ends, and count whether its val or test
        pass ran in training mode (``settings["evaluation"]["train_mode_epochs"]``, per split)."""
        counts = self.eval_mode.end_epoch()
        if counts and self.settings is not None:
            self.settings["evaluation"] = {"train_mode_epochs": counts}
        if self._optimizer is None:
            return
        described = describe_optimizer(self._optimizer)
        lr = described["lr"]
        if lr is not None:
            self._epoch_lrs.append(lr)
            self._median_lr()
        # A scheduler made after describe() (the usual order) sets the rate it starts from only then.
        if "initial_lr" in described and self.settings is not None and self.settings.get("optimizer"):
            self.settings["optimizer"]["initial_lr"] = described["initial_lr"]

    def _median_lr(self) -> None:
        if self._epoch_lrs and self.settings is not None and self.settings.get("optimizer"):
            self.settings["optimizer"]["lr"] = float(statistics.median(self._epoch_lrs))
