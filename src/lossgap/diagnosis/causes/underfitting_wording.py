"""underfitting's words: the headline's title for each form, and why the capacity form is not the finding."""

from __future__ import annotations

import numpy as np

from lossgap.diagnosis.constraints import fast_learning_rate, regularisation_notes, slow_learning_rate, tiny_hidden
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.wording import pct

#: Share of its training samples wrong from which a model counts as far from fitting: one its regularisation pins is
#: held back even where train and val part ways, and a small recurrent layer is the likeliest limit (see
#: :func:`lossgap.diagnosis.causes.underfitting_capacity.capacity_form`); a tiny layer nearer a fit than this is not
#: grown before its rate and its epochs are tried.
FAR_FROM_FIT = 0.2
#: Share of its training samples wrong from which a headline says a model "stays far from fitting" its training set
#: (where the capacity form reaches full strength, underfitting_capacity.CAPACITY_ERROR_FULL).
FAR_IN_WORDS = 0.1


def form_title(form: str | None, settings: dict | None, train_error: float = 1.0) -> str:
    """The headline's title for one form of underfitting, naming the setting that holds the model back where the
    run's settings show one: the cause's general title listed every form ("stopped while still improving, or too
    small or too regularised") beside a sentence that named weight decay 10 or a recurrent layer of 2 units.
    ``train_error`` (the share of training samples wrong) words the capacity form's distance from a fit."""
    hidden = tiny_hidden(settings)
    small = (f"a recurrent layer of {hidden} unit{'s' if hidden != 1 else ''} is too small" if hidden is not None
             else "")
    regularised = "its regularisation holds it back" if regularisation_notes(settings) else ""
    if form == "no_fit":
        if fast_learning_rate(settings):
            reason = "its learning rate is far above its optimizer's usual range"
        elif slow_learning_rate(settings):
            reason = "its learning rate is far below its optimizer's usual range"
        else:
            reason = regularised or small
        return "the model did not fit even its training set" + (f": {reason}" if reason else "")
    if form == "capacity":
        return (f"the model {short_of_fit(train_error)} its training set: "
                + ("; ".join(part for part in (small, regularised) if part) or "too small or too regularised"))
    return "training ended while the model was still improving"


def short_of_fit(train_error: float) -> str:
    """"stays far from fitting" from FAR_IN_WORDS of the training samples wrong, else "falls short of fitting": a
    2-unit layer 5% wrong on train and still rising had read "stays far from fitting its training set"."""
    return "stays far from fitting" if train_error >= FAR_IN_WORDS else "falls short of fitting"


def capacity_rejection(evidence: RunEvidence, reason: str, train_error: float, best_error: float,
                       train_accuracy: float, val_accuracy: float, epoch: int, floor: float = 0.03) -> str:
    """Why the capacity form is not the finding (``floor``: the train error that counts as fitted), from the factor
    that kept it lowest (see :func:`lossgap.diagnosis.causes.underfitting_capacity.capacity_form`)."""
    wrong = f"{pct(train_error)} of its training samples wrong at epoch {epoch}"
    if reason == "overfits":
        general = evidence.generalization
        turn = (f"val loss turned up from epoch {general.onset_epoch} while the train loss kept falling"
                if general.onset_epoch is not None else
                f"val loss rose {pct(relative_rise(evidence))} after its lowest, at epoch {evidence.val_loss_min_epoch},"
                f" while the train loss still fell, by {general.train_fall_after_best:.3f}")
        return f"the model overfits ({turn}): it has capacity to spare, so capacity is not what limits it"
    if reason == "fitted_before" and best_error <= floor:
        return (f"the model got {wrong}, but only {pct(best_error)} at its best: it can fit them, so capacity is not "
                "what limits it")
    if reason == "fitted_before":
        # Near a fit is not a fit: "only 7% at its best: it can fit them" had been said of a model never under 7%.
        return (f"the model got {wrong}, and {pct(best_error)} at its best: better than where it ended, so its size "
                "is not clearly what limits it")
    if reason == "fits":
        return f"the model fits its training set ({wrong}), so capacity is not what limits it"
    if reason == "apart":
        return (f"train and val accuracy part ways ({train_accuracy:.3f} and {val_accuracy:.3f} at epoch {epoch}): a "
                "model at its capacity holds both at one level, so capacity is not what limits it")
    if reason == "carried":
        return (f"the model got {wrong}, but nothing it learned carries over to val (val accuracy not significantly "
                "above the best constant answer, val loss not significantly below the prior's): that reads as no "
                "signal, or no fit, rather than a model too small")
    if reason == "pace":
        return (f"the model got {wrong}, but the val loss was still falling steeply at the end: it is still learning, "
                "not at its limit")
    # Regularisation under the bounds that hold a model back still lowers a level (trial 23: Adam's L2 decay 0.003 on an
    # 8-class task, 17% of train wrong, test 0.761 against 0.815 without it, read "a larger model is the test" alone).
    light = light_regularisation(evidence.settings)
    return (f"the model got {wrong} and train and val accuracy level off together, but nothing points at the model "
            "itself (no tiny layer, heavy regularisation, or dead or saturated units): the level may be the task's "
            "own ceiling, and a larger model is the test"
            + (f", as is the same model without its {light}, which is not heavy by itself" if light else ""))


def light_regularisation(train_config: dict | None) -> str:
    """"weight decay 0.003", "dropout 0.2" or both, for regularisation the run has below the bounds that hold a model
    back (constraints.regularisation_notes), else ""."""
    optimizer = (train_config or {}).get("optimizer") or {}
    decay = float(optimizer.get("weight_decay") or 0.0)
    dropout = float(((train_config or {}).get("model") or {}).get("dropout") or 0.0)
    parts = [f"weight decay {decay:g}" if decay > 0 else "", f"dropout {dropout:g}" if dropout > 0 else ""]
    return " and ".join(part for part in parts if part)


def relative_rise(evidence: RunEvidence) -> float:
    """The last epoch's val loss over its lowest, minus 1 (0 without a finite pair)."""
    val_loss = evidence.curves.val_loss
    lowest, last = float(val_loss[evidence.val_loss_min_epoch - 1]), float(val_loss[-1])
    return last / lowest - 1.0 if lowest > 0 and np.isfinite(last) else 0.0


def gradient_note(evidence: RunEvidence) -> str:
    """Words on recorded gradients that explain a model unable to learn (vanishing gradients, dead or saturated
    recurrent units), else ""."""
    gradients = evidence.gradients
    if gradients is None:
        return ""
    notes = []
    if getattr(gradients, "vanishing", False):
        notes.append("the gradients reaching the first layer vanished")
    for name, share in (("dead", getattr(gradients, "dead_end", float("nan"))),
                        ("saturated", getattr(gradients, "saturation_end", float("nan")))):
        if share == share and share >= 0.5:  # not NaN
            notes.append(f"{pct(share)} of the recurrent {'units are dead' if name == 'dead' else 'gates saturated'}")
    if notes and evidence.unscaled_inputs:
        notes.append("and the inputs were not standardised (--no-standardize): inputs far from unit scale drive the "
                     "gates into saturation from the first steps")
    elif notes and evidence.saturated_at_usual_rate:
        notes.append("at a learning rate in its usual range, which points at inputs far from unit scale: they drive "
                     "the gates into saturation from the first steps")
    return f"; {', '.join(notes)}" if notes else ""


def regularisation_note(evidence: RunEvidence) -> str:
    """Words on the run's own regularisation when it is strong enough to stop a model fitting, else ""."""
    notes = regularisation_notes(evidence.settings)
    return f" ({'; '.join(notes)})" if notes else ""
