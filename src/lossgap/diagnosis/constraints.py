"""What in a run's own settings holds its model back from fitting: a tiny recurrent layer, heavy weight decay,
heavy dropout, most of its parameters frozen.

A model held back this way cannot show what the data holds. The samples it contradicts may be a group it
cannot represent rather than wrong labels, and what it learned on train failing to carry over to val says
little about whether the labels carry signal. So ``label_noise`` and ``no_signal`` discount their evidence on
such runs (a larger or freer model is the test), and ``underfitting`` names the constraint as its reason.
Every function takes the run's settings: lossgap's ``config.json["train"]``, or for a run recorded by an own
loop or Lightning what :meth:`lossgap.Recorder.describe` read from its model and optimizer (``"settings"``, the
same shape); a recording without them has no constraints, since lossgap cannot know them.
"""

from __future__ import annotations

import math

from lossgap.diagnosis.wording import pct, rate_pct

#: Hidden sizes at or below this count as tiny.
TINY_HIDDEN = 4
#: A recurrent layer of this many units or more is wide enough that growing it is no check worth offering where
#: nothing else explains a model that learned nothing that carries over (no_signal's memorised train, no_fit's
#: unexplained prior): shuffled labels at 256 units had been told to grow to 1024.
WIDE_ENOUGH = 64
#: Weight decay x learning rate (the share every weight shrinks per step with decoupled decay: AdamW, SGD)
#: from which the decay alone stops a model from fitting.
HEAVY_DECAY_PER_STEP = 0.001
#: Weight decay of an adaptive optimizer with coupled decay (an L2 term added to the gradient before its
#: normalisation: Adam, RMSprop, ...) from which it dominates the gradient of a small network and pins its
#: weights near zero (usual values are 1e-5 to 1e-3; weight decay 1 on ItalyPowerDemand left the train loss at
#: the constant guess's for 60 epochs, and 0.05 left trial 12's 12-class LSTM at Adam 0.01 and 0.003 at chance
#: where without it the same run reached val 0.988; it had been 0.1, and that run read unstable_optimization 1.00
#: from the update ratios of weights so small, "lower the learning rate"). 0.01, not the 0.05 set then: trial 27's
#: 4-class LSTM at Adam 0.003 reached test 0.95 at L2 0.001-0.003, 0.48-0.89 at 0.01 and chance at 0.03, whose runs
#: had read "No cause found" or unstable 0.75-1.00, "lower the learning rate" (which still ended at chance).
HEAVY_L2 = 0.01
#: Dropout above which most of the signal is dropped (0.5 drops half, not most: an LSTM with dropout 0.5 that
#: did not fit GunPoint fitted it no worse than the same LSTM without dropout).
HEAVY_DROPOUT = 0.6
#: Model kinds whose dropout acts on one branch only, so that it never holds the whole model back (an LSTM-FCN
#: with dropout 0.5 fitted 99% of OSULeaf's training labels, a quarter of them flipped).
BRANCH_ONLY_DROPOUT = ("lstm-fcn",)
#: Optimizers whose weight decay is decoupled from the gradient (each step shrinks every weight by decay x lr).
DECOUPLED_DECAY = ("adamw", "sgd")
#: Adaptive optimizers whose weight decay is an L2 term added to the gradient before its normalisation.
ADAPTIVE_L2 = ("adam", "rmsprop", "adagrad", "adamax", "nadam", "radam")
#: Optimizers whose step divides by the gradients' own running size (Adam's family): their usual learning rates are
#: ADAM_LR_RANGE, and scaling every gradient down (a clip) leaves their steps as they were.
ADAM_FAMILY = (*ADAPTIVE_L2, "adamw")
#: How sentences name the optimizers above (settings hold their lower-case class names).
OPTIMIZER_NAMES = {"adam": "Adam", "adamw": "AdamW", "sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad",
                   "adamax": "Adamax", "nadam": "NAdam", "radam": "RAdam"}

#: A model with at least this share of its parameters frozen (``requires_grad=False`` when training began) is held
#: back by it: an own GRU whose recurrent layer was frozen, only its head of 132 parameters training, had been told
#: to grow 32 -> 128 (unfrozen, the same model reached 0.99).
FROZEN_SHARE = 0.5

#: Usual learning rates (low, high) of SGD with momentum and of Adam-like optimizers (beyond 0.3 an LSTM's
#: gradients make SGD unstable).
SGD_LR_RANGE = (0.01, 0.3)
ADAM_LR_RANGE = (1e-4, 0.01)
#: A learning rate this many times the top of its family's usual range is far too high (see fast_learning_rate).
FAST_LR_FACTOR = 3.0


def fast_learning_rate(train_config: dict | None) -> str:
    """Words on the run's learning rate when it is more than FAST_LR_FACTOR x the top of its optimizer family's
    usual range ("the learning rate 0.1 is 10x the top of AdamW's usual range, 0.0001-0.01, ..."), else "" (also
    for an optimizer of unknown family or an unknown rate)."""
    figures = fast_rate_figures(train_config)
    return f"{figures}: steps that large overshoot instead of descending" if figures else ""


def fast_rate_figures(train_config: dict | None) -> str:
    """:func:`fast_learning_rate`'s figures alone ("the learning rate 0.1 is 10x the top of AdamW's usual range
    (0.0001-0.01)"), without its claim that the steps overshoot, else ""."""
    name, lr, (low, high) = rate_and_range(train_config)
    if not high or lr <= FAST_LR_FACTOR * high:
        return ""
    return (f"the learning rate {lr:g} is {lr / high:.0f}x the top of {OPTIMIZER_NAMES.get(name, name)}'s usual range "
            f"({low:g}-{high:g})")


def high_learning_rate(train_config: dict | None) -> str:
    """Words on the run's learning rate when it lies above the top of its optimizer family's usual range but no more
    than FAST_LR_FACTOR x it ("the learning rate 0.02 is above the top of AdamW's usual range, 0.0001-0.01"), else
    "": not far enough to count as evidence, but a lower rate is worth trying for a model that does not fit."""
    name, lr, (low, high) = rate_and_range(train_config)
    if not high or not high < lr <= FAST_LR_FACTOR * high:
        return ""
    return (f"the learning rate {lr:g} is above the top of {OPTIMIZER_NAMES.get(name, name)}'s usual range "
            f"({low:g}-{high:g})")


def slow_learning_rate(train_config: dict | None) -> str:
    """Words on the run's learning rate when it is less than the bottom of its optimizer family's usual range over
    FAST_LR_FACTOR ("the learning rate 1e-05 is 10x below the bottom of Adam's usual range, ..."), else ""."""
    name, lr, (low, high) = rate_and_range(train_config)
    if not low or not 0 < lr < low / FAST_LR_FACTOR:
        return ""
    return (f"the learning rate {lr:g} is {low / lr:.0f}x below the bottom of {OPTIMIZER_NAMES.get(name, name)}'s "
            f"usual range ({low:g}-{high:g}): steps that small barely move the weights")


def below_range(train_config: dict | None) -> bool:
    """True when the run's rate lies below the bottom of its optimizer family's usual range."""
    _, rate, (bottom, _) = rate_and_range(train_config)
    return 0 < rate < bottom


def low_in_range(train_config: dict | None) -> bool:
    """True when the run's rate lies below the geometric middle of its optimizer family's usual range."""
    _, rate, (bottom, top) = rate_and_range(train_config)
    return bool(bottom) and 0 < rate < math.sqrt(bottom * top)


def rate_and_range(train_config: dict | None) -> tuple[str | None, float, tuple[float, float]]:
    """The run's optimizer name, learning rate (0 when unknown) and its family's usual range ((0, 0) for an
    optimizer of unknown family)."""
    optimizer = (train_config or {}).get("optimizer") or {}
    name = optimizer.get("name")
    family = lr_family(name)
    return name, float(optimizer.get("lr") or 0.0), family[1] if family else (0.0, 0.0)


def lr_family(name: str | None) -> tuple[str, tuple[float, float]] | None:
    """The optimizer family of optimizer ``name`` as sentences name it ("SGD", "Adam") and its usual learning-rate
    range (low, high); None for an optimizer of neither family."""
    if name == "sgd":
        return "SGD", SGD_LR_RANGE
    return ("Adam", ADAM_LR_RANGE) if name in ADAM_FAMILY else None


def decoupled_decay(optimizer: dict | None) -> bool:
    """True when the optimizer's weight decay shrinks every weight by decay x lr per step (AdamW, SGD, or an
    adaptive one an own loop described with ``decoupled_weight_decay``)."""
    optimizer = optimizer or {}
    return optimizer.get("name") in DECOUPLED_DECAY or bool(optimizer.get("decoupled_weight_decay"))


def adam_l2_pins_weights(optimizer: dict | None) -> bool:
    """True when the run's optimizer is adaptive (Adam, RMSprop, ...) with a coupled L2 weight decay of HEAVY_L2
    or more."""
    optimizer = optimizer or {}
    return (optimizer.get("name") in ADAPTIVE_L2 and not decoupled_decay(optimizer)
            and float(optimizer.get("weight_decay") or 0.0) >= HEAVY_L2)


def light_decay_limit(optimizer: dict | None) -> float:
    """The largest weight decay a remedy may propose: a tenth of what would count as holding the model back
    (HEAVY_DECAY_PER_STEP / lr with decoupled decay, HEAVY_L2 for an adaptive optimizer's L2 term), so that no
    remedy sets a value the diagnosis would then blame."""
    optimizer = optimizer or {}
    lr = float(optimizer.get("lr") or 0.0)
    if decoupled_decay(optimizer):
        return HEAVY_DECAY_PER_STEP / lr / 10 if lr > 0 else float("inf")
    return HEAVY_L2 / 10


def heavy_dropout(train_config: dict | None, *, whole_model: bool = True) -> float | None:
    """The run's dropout when it is HEAVY_DROPOUT or more, else None; with ``whole_model`` (what holds a model
    back) only when it acts on the whole model. Without it (what distorts a training pass's records) wherever
    it acts: dropout 0.9 on one branch still makes the pass's predictions worse than the model's."""
    model = (train_config or {}).get("model") or {}
    # An LSTM-FCN drops out only its recurrent branch's summary: its convolution branch reaches the head whole.
    # An own model with convolutions beside (or before) a recurrent layer may be built alike; a model without a
    # recurrent layer (kind "other": a CNN) has its dropout in series (an own CNN with dropout 0.9 before its head,
    # read as not held back, had its training pass at 0.56 against val 0.96 read label noise 0.92).
    branch_only = model.get("kind") in BRANCH_ONLY_DROPOUT or (
        bool(model.get("convolutions")) and model.get("kind") not in (None, "other"))
    dropout = float(model.get("dropout") or 0.0)
    return dropout if dropout >= HEAVY_DROPOUT and not (whole_model and branch_only) else None


def training_pass_dropout(train_config: dict | None, settings: dict | None) -> float | None:
    """The run's heavy dropout (:func:`heavy_dropout`, wherever it acts) when its train records come from a training
    pass, which that dropout makes worse than the model (no exact evaluation pass: an own loop, Lightning, or
    ``--record-train pass``); None otherwise. ``train_config``: lossgap's config (None for an own loop), ``settings``
    what the run describes."""
    if (train_config or {}).get("record_train") == "eval":
        return None
    return heavy_dropout(settings, whole_model=False)


def tiny_hidden(train_config: dict | None, at_most: int = TINY_HIDDEN) -> int | None:
    """The run's hidden size when it is at most ``at_most`` units (default TINY_HIDDEN), else None."""
    hidden = ((train_config or {}).get("model") or {}).get("hidden_size")
    return int(hidden) if hidden is not None and int(hidden) <= at_most else None


def wide_enough(train_config: dict | None) -> bool:
    """True when the run's config names a recurrent layer of WIDE_ENOUGH units or more (False when unknown)."""
    hidden = ((train_config or {}).get("model") or {}).get("hidden_size")
    return hidden is not None and int(hidden) >= WIDE_ENOUGH


def regularisation_notes(train_config: dict | None) -> tuple[str, ...]:
    """Sentences on the run's own regularisation when it is strong enough to stop a model fitting (may be
    empty): decoupled weight decay that shrinks every weight by HEAVY_DECAY_PER_STEP or more per step, an
    adaptive optimizer's L2 decay of HEAVY_L2 or more, dropout of HEAVY_DROPOUT or more."""
    optimizer = (train_config or {}).get("optimizer") or {}
    decay, lr = float(optimizer.get("weight_decay") or 0.0), float(optimizer.get("lr") or 0.0)
    name = OPTIMIZER_NAMES.get(optimizer.get("name"), optimizer.get("name"))
    notes = []
    if decoupled_decay(optimizer) and decay * lr >= HEAVY_DECAY_PER_STEP:
        notes.append(f"weight decay {decay:g} at learning rate {lr:g} shrinks every weight by {rate_pct(decay * lr)} "
                     "per step")
    elif adam_l2_pins_weights(optimizer):
        notes.append(f"weight decay {decay:g} with {name} (an L2 term of the loss) pins the weights near zero")
    dropout = heavy_dropout(train_config)
    if dropout is not None:
        notes.append(f"dropout {dropout:g} drops most of the signal")
    return tuple(notes)


def held_back(train_config: dict | None) -> str:
    """Words naming what holds the run's model back ("hidden size 1", "weight decay 10 at ..."), or "" when
    nothing in its settings does."""
    parts = list(regularisation_notes(train_config))
    hidden = tiny_hidden(train_config)
    if hidden is not None:
        parts.insert(0, f"a recurrent layer of {hidden} unit{'s' if hidden != 1 else ''}")
    frozen = frozen_note(train_config)
    if frozen:
        parts.insert(0, frozen)
    return "; ".join(parts)


def frozen_note(train_config: dict | None) -> str:
    """"97% of its parameters frozen ('gru': requires_grad=False)" when at least FROZEN_SHARE of the described model's
    parameters did not train, else ""."""
    frozen = ((train_config or {}).get("model") or {}).get("frozen") or {}
    if not frozen.get("share", 0.0) >= FROZEN_SHARE:
        return ""
    names = ", ".join(f"'{name}'" for name in frozen.get("modules") or ())
    return f"{pct(frozen['share'])} of its parameters frozen ({names + ': ' if names else ''}requires_grad=False)"


def narrow_linear(settings: dict | None, num_classes: int) -> dict | None:
    """The Linear layer end (``{"name", "width", "side"}``: its outputs, or its inputs) of an own loop's described
    settings narrower than the run has classes, else None. Not a constraint the rules count: the same layer may be a side path (an
    attention score) rather than a bottleneck in series."""
    narrowest = ((settings or {}).get("model") or {}).get("narrowest_linear")
    if not narrowest or int(narrowest.get("width", num_classes)) >= num_classes:
        return None
    return narrowest


def narrow_layer_advice(settings: dict | None, classes: int, book):
    """(sentence to append, remedy) for a Linear layer narrower than the ``classes`` in an own loop's model
    (:func:`narrow_linear`), or ("", None): growing the recurrent layer does not widen it (an LSTM(64) ->
    Linear(64, 1) -> Linear(1, 9) was told "hidden size 64 -> 128", then "128 -> 256"). ``book`` is the run's
    RemedyBook."""
    layer = narrow_linear(settings, classes)
    if layer is None:
        return "", None
    width = int(layer["width"])
    if layer.get("attention"):
        return (f"; the model's attention layer '{layer['name']}' works in {width} dimension{'s' if width != 1 else ''} "
                f"(a Transformer's d_model, the width it carries through its layers), fewer than the {classes} "
                "classes: that width caps what the model can tell apart, so raise it first",
                book.advice("widen_layer", f"raise the width the attention layer '{layer['name']}' works in (a "
                                           f"Transformer's d_model, now {width}) well above the {classes} classes, "
                                           "e.g. 32 or 64"))
    if layer.get("side") == "input":
        # The Linear takes only `width` features: what feeds it (a convolution of 1 channel) is the bottleneck.
        return (f"; the model's Linear layer '{layer['name']}' takes only {width} input{'s' if width != 1 else ''}, "
                f"fewer than the {classes} classes: if it lies on the way to the output, the layer feeding it caps "
                "what the model can tell apart whatever else grows, so widen that first",
                book.advice("widen_layer", f"widen the layer that feeds the Linear layer '{layer['name']}' (now "
                                           f"{width} wide) to at least {classes} units or channels"))
    # A model without a recurrent layer (an MLP or a CNN: kind "other") has no hidden size to grow instead.
    recurrent = ((settings or {}).get("model") or {}).get("kind") not in (None, "other")
    where, instead = (("between the recurrent layer and the output", "whatever the hidden size") if recurrent
                      else ("on the way to the output", "whatever else grows"))
    return (f"; the model has a Linear layer '{layer['name']}' of {width} unit{'s' if width != 1 else ''}, fewer "
            f"than the {classes} classes: if that layer lies {where}, it caps what the model can tell apart "
            f"{instead}, so widen it first",
            book.advice("widen_layer", f"widen the Linear layer '{layer['name']}' to at least {classes} units, if it "
                                       f"lies {where}"))


def averaging_decay(settings: dict | None) -> float | None:
    """The run's weight-averaging decay per epoch (``--ema DECAY``) when it averages (DECAY > 0), else None: the model
    it evaluates and delivers is then an average over about 1 / (1 - DECAY) epochs of weights."""
    decay = ((settings or {}).get("optimizer") or {}).get("ema")
    return float(decay) if decay is not None and float(decay) > 0 else None


def has_batch_norm(settings: dict | None) -> bool:
    """True for a model with batch norm: lossgap's LSTM-FCN, or an own loop's model described with it. Its running
    statistics can lag the weights, so the model evaluated at an epoch's end may differ from the one trained;
    without batch norm the evaluated model is the trained one."""
    model = (settings or {}).get("model") or {}
    return model.get("kind") == "lstm-fcn" or bool(model.get("batch_norm"))


def resampled_classes(settings: dict | None) -> bool:
    """True for a loop described as drawing its batches with a sampler that balances the classes
    (``recorder.describe(..., resampled_classes=True)``, recorded as ``settings.sampling``): it draws with replacement,
    and the rare classes are already balanced in its batches."""
    return bool(((settings or {}).get("sampling") or {}).get("resampled_classes"))
