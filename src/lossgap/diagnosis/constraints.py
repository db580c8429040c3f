"""What in a run's own settings holds its model back from fitting: a tiny recurrent layer, heavy weight decay,
heavy dropout.

A model held back this way cannot show what the data holds. The samples it contradicts may be a group it
cannot represent rather than wrong labels, and what it learned on train failing to carry over to val says
little about whether the labels carry signal. So ``label_noise`` and ``no_signal`` discount their evidence on
such runs (a larger or freer model is the test), and ``underfitting`` names the constraint as its reason.
Every function takes the run's settings: lossgap's ``config.json["train"]``, or for a run recorded by an own
loop or Lightning what :meth:`lossgap.Recorder.describe` read from its model and optimizer (``"settings"``, the
same shape); a recording without them has no constraints, since lossgap cannot know them.
"""

from __future__ import annotations

from lossgap.diagnosis.wording import pct

#: Hidden sizes at or below this count as tiny.
TINY_HIDDEN = 4
#: Weight decay x learning rate (the share every weight shrinks per step with AdamW or SGD) from which the
#: decay alone stops a model from fitting.
HEAVY_DECAY_PER_STEP = 0.001
#: Adam's weight decay (an L2 term added to the gradient before its normalisation) from which it dominates the
#: gradient of a small network and pins its weights near zero (usual values are 1e-5 to 1e-3; weight decay 1 on
#: ItalyPowerDemand left the train loss at the constant guess's for 60 epochs).
HEAVY_L2 = 0.1
#: Dropout from which most of the signal is dropped.
HEAVY_DROPOUT = 0.5
#: Model kinds whose dropout acts on one branch only, so that it never holds the whole model back (an LSTM-FCN
#: with dropout 0.5 fitted 99% of OSULeaf's training labels, a quarter of them flipped).
BRANCH_ONLY_DROPOUT = ("lstm-fcn",)


def adam_l2_pins_weights(optimizer: dict | None) -> bool:
    """True when the run's optimizer is Adam with an L2 weight decay of HEAVY_L2 or more."""
    optimizer = optimizer or {}
    return optimizer.get("name") == "adam" and float(optimizer.get("weight_decay") or 0.0) >= HEAVY_L2


def tiny_hidden(train_config: dict | None) -> int | None:
    """The run's hidden size when it is at most TINY_HIDDEN units, else None."""
    hidden = ((train_config or {}).get("model") or {}).get("hidden_size")
    return int(hidden) if hidden is not None and int(hidden) <= TINY_HIDDEN else None


def regularisation_notes(train_config: dict | None) -> tuple[str, ...]:
    """Sentences on the run's own regularisation when it is strong enough to stop a model fitting (may be
    empty): weight decay that shrinks every weight by HEAVY_DECAY_PER_STEP or more per step, dropout of
    HEAVY_DROPOUT or more."""
    config = train_config or {}
    optimizer, model = config.get("optimizer") or {}, config.get("model") or {}
    decay, lr = float(optimizer.get("weight_decay") or 0.0), float(optimizer.get("lr") or 0.0)
    notes = []
    if optimizer.get("name") in ("adamw", "sgd") and decay * lr >= HEAVY_DECAY_PER_STEP:
        notes.append(f"weight decay {decay:g} at learning rate {lr:g} shrinks every weight by {pct(decay * lr)} per step")
    elif adam_l2_pins_weights(optimizer):
        notes.append(f"weight decay {decay:g} with Adam (an L2 term of the loss) pins the weights near zero")
    # An LSTM-FCN drops out only its recurrent branch's summary: its convolution branch reaches the head whole.
    # An own model with convolutions (``convolutions`` in what the Recorder described) may be built alike.
    branch_only = model.get("kind") in BRANCH_ONLY_DROPOUT or bool(model.get("convolutions"))
    if float(model.get("dropout") or 0.0) >= HEAVY_DROPOUT and not branch_only:
        notes.append(f"dropout {float(model['dropout']):g} drops most of the signal")
    return tuple(notes)


def held_back(train_config: dict | None) -> str:
    """Words naming what holds the run's model back ("hidden size 1", "weight decay 10 at ..."), or "" when
    nothing in its settings does."""
    parts = list(regularisation_notes(train_config))
    hidden = tiny_hidden(train_config)
    if hidden is not None:
        parts.insert(0, f"a recurrent layer of {hidden} unit{'s' if hidden != 1 else ''}")
    return "; ".join(parts)
