"""underfitting: the model has not fitted what it could. Three forms, with different remedies (and a fourth, a
learning-rate schedule that froze the model, in :mod:`underfitting_schedule`):

- ``stopped_early``: train and val loss are both still falling at the end and accuracy still rising; more
  epochs (or a higher learning rate) would help.
- ``capacity``: train and val accuracy level off together, clearly below fitting the training set, the losses
  no longer falling; the model is too small or too regularised (more epochs would not help).
- ``no_fit``: the model never moved away from the prior even on its training set. Then no other cause can be
  judged either: whether the labels carry signal cannot be told until the model fits.

The first two can hold at once (a tiny model still creeping up when training ended), so their confidences
combine as two pieces of evidence for one cause; the verdict is named by the stronger form.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lossgap.diagnosis.cause import Cause
from lossgap.diagnosis.causes.underfitting_capacity import capacity_form
from lossgap.diagnosis.causes.underfitting_no_fit import no_fit, unfreeze
from lossgap.diagnosis.causes.underfitting_schedule import cycling_schedule, frozen_schedule
from lossgap.diagnosis.causes.underfitting_stopped import clipped_far_below, stopped_early
from lossgap.diagnosis.causes.underfitting_wording import FAR_FROM_FIT, form_title, short_of_fit
from lossgap.diagnosis.constraints import frozen_note, slow_learning_rate, tiny_hidden
from lossgap.diagnosis.evidence import MIN_TREND_EPOCHS, RunEvidence
from lossgap.diagnosis.learning_state import few_steps
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import REPORT_THRESHOLD, Verdict

#: Confidence from which the weaker form's sentence joins the stronger one's in a reported verdict.
SECOND_FORM = 0.2


def rule(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """The underfitting verdict (:func:`_forms`), with the run's step count named when it took few (see
    :func:`lossgap.diagnosis.learning_state.few_steps`): few steps are the plainest reason a model has not fitted."""
    verdict = _forms(evidence, book)
    few = few_steps(evidence)
    if few is None or verdict.confidence < REPORT_THRESHOLD:
        return verdict
    words = (f"; it took only {few['steps']} optimizer step{'s' if few['steps'] != 1 else ''} in all "
             f"({few['per_epoch']} per epoch: batches of {few['batch_size']} over {few['train_samples']} training "
             "samples), and more epochs or smaller batches give it more")
    return replace(verdict, summary=verdict.summary + words, evidence={**verdict.evidence, "few_steps": few})


def _forms(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """``no_fit`` when the model never left the prior on train; else the stopped-early and capacity forms
    combined (see the module docstring): the stronger form's verdict, with 1 - (1 - a)(1 - b) as its confidence
    and the other form's sentence and remedies added from SECOND_FORM. ``form_confidences`` in its evidence are
    the two forms' own scores, before the engine's discounts."""
    facts = _facts(evidence)
    if evidence.num_epochs < MIN_TREND_EPOCHS:
        return Verdict("underfitting", 0.0, "too few epochs to judge the trend", facts)
    # The most specific statement when the model never left the prior: nothing else can be judged. Unless the
    # val loss sets a new low in nearly every epoch: then learning has barely begun (a learning rate far too
    # low), and the pace, not the model, is the first thing to change (at 1/100 of a working rate no_fit had put
    # "grow the hidden size" first).
    facts["explainable_share"] = {"class_imbalance_bias": _rare_share_of_train_errors(evidence)}
    # A schedule that took the rate to nothing while the model still learned froze it where it was: neither its
    # size nor a fit it never reached is the story then.
    frozen = frozen_schedule(evidence, book, facts) or cycling_schedule(evidence, book, facts)
    if frozen is not None:
        return frozen
    # Judged on the loss the optimiser minimised: class weights raise the plain loss on purpose (a balanced-weight
    # run whose weighted train loss fell 0.676 -> 0.45, balanced train accuracy 0.815, had read "did not fit even its
    # training set" from its plain loss, never below the class shares' 0.191, and was told to grow 32 -> 128).
    # Learning barely begun (a rate far too low) is the stopped-early form's case, when that form holds: a val loss
    # that set its low one epoch before the end and then rose a hair left an ArrowHead LSTM 6% below the prior on
    # train with neither form, and it read "No cause found".
    trend = evidence.accuracy_trend
    stopped = stopped_early(evidence, book, facts, trend)
    # Unless no step moved the weights at all (GradientHealth.stalled) and nothing the run describes says why (a rate far
    # too low or a starving clip, which the stopped-early form names): then the val loss's tiny new lows are no pace
    # that more epochs would keep up (an own loop whose loss was scaled by 1e-6 under SGD, no step above 4e-8 of the
    # weights, had read "still improving, train longer"; unscaled, the loop reaches test 0.988 against 0.383).
    stalled = (evidence.gradients is not None and evidence.gradients.stalled
               and not slow_learning_rate(evidence.settings) and clipped_far_below(evidence) is None)
    if not evidence.objective_fit.train_moved and (stalled or not (evidence.early_learning
                                                                   and stopped.confidence >= REPORT_THRESHOLD)):
        return no_fit(evidence, book, facts)
    # The two forms are two routes to one cause, and both can hold at once (a recurrent layer of 1 unit still
    # creeping up at epoch 80): each is evidence that the model has not fitted what it could. Stopped early
    # counts only where it says more epochs would raise accuracy: a loss falling under flat accuracy is
    # confidence refinement, which argues for neither form (and its sentence says so).
    more_epochs_help = ((trend[0] and not stopped.evidence.get("val_at_ceiling")) or evidence.early_learning
                        or bool(stopped.evidence.get("far_from_fitting"))
                        or bool(stopped.evidence.get("lagged_learning"))
                        or bool(stopped.evidence.get("collapsed_at_slow_rate")))
    stopped_score = stopped.confidence if more_epochs_help else 0.0
    capacity, capacity_affirmed = capacity_form(evidence, book, facts, trend,
                                                still_improving=stopped_score >= REPORT_THRESHOLD)
    confidence = 1.0 - (1.0 - stopped_score) * (1.0 - capacity.confidence)
    if confidence >= REPORT_THRESHOLD > capacity.confidence > 0:
        capacity = replace(capacity, summary=capacity_affirmed)
    scored = ((stopped, stopped_score), (capacity, capacity.confidence))
    # A recurrent layer of a unit or two learns slowly as well as little: its slow start is no reason to put a
    # higher learning rate before growing it (an LSTM of 1 unit on Pickup, 82% of its training samples wrong
    # after 200 epochs, had been told "raise the learning rate" first and "--hidden 32", which fixed it, third).
    # Near a fit, though, the stronger form leads: 2 units 5% wrong on train and still rising had been told to grow
    # first (trial 17; more epochs or a higher rate take the same 2 units to val 0.975).
    slow = bool(capacity.evidence.get("slow_rate"))
    train_error = float(capacity.evidence.get("train_error", 1.0))
    capacity_first = (tiny_hidden(evidence.settings) is not None and capacity.confidence >= SECOND_FORM and not slow
                      and train_error >= FAR_FROM_FIT)
    ordered = scored[::-1] if capacity_first else sorted(scored, key=lambda pair: pair[1], reverse=True)
    (first, _), (second, second_score) = ordered
    summary, remedies = first.summary, first.remedies
    title = form_title(first.evidence.get("form"), evidence.settings, train_error)
    if first is capacity and evidence.unscaled_inputs:
        title = f"the model {short_of_fit(train_error)} its training set: its inputs are not standardised"
    elif first is capacity and evidence.saturated_at_usual_rate:
        title = (f"the model {short_of_fit(train_error)} its training set: its gates saturate, as inputs far from "
                 "unit scale make them")
    elif first is stopped and first.evidence.get("averaging_lag"):
        # "Training ended while the model was still improving" had stood over an --ema 0.99 average of 100 epochs.
        title = "the average of its weights it evaluates and delivers (--ema) lags what the model learned"
    elif first is capacity and first.evidence.get("confused_pair"):
        pair_classes = first.evidence["confused_pair"]["classes"]
        title = (f"the model does not tell class {evidence.class_label(pair_classes[0])} from class "
                 f"{evidence.class_label(pair_classes[1])}, even on its training set")
    if confidence >= REPORT_THRESHOLD and second_score >= SECOND_FORM:
        summary += f"; and {second.summary}"
        remedies += tuple(remedy for remedy in second.remedies if remedy not in first.remedies)
        title += (", and it was still improving when training ended" if second is stopped
                  else f", and it {short_of_fit(train_error)} its training set")
    if first is capacity and first.evidence.get("slow_pace"):
        title = f"the model {short_of_fit(train_error)} its training set at a learning rate below its optimizer's range"
    if first is stopped and first.evidence.get("below_range") and not slow:
        title += ", at a learning rate below its optimizer's range"
    if slow and confidence >= REPORT_THRESHOLD:
        faster = [remedy for remedy in remedies if remedy.name == "higher_lr"] or [book.higher_lr(10.0, usual=True)]
        remedies = present(*faster[:1], *(remedy for remedy in remedies if remedy.name != "higher_lr"))
        summary += ("; but its learning rate is low in its optimizer's usual range and accuracy was still rising: the "
                    "rate may hold it back as much as its size, so raise it first")
        title += ", at a learning rate low in its optimizer's range"
    # Frozen parameters hold back either form (an own GRU on JapaneseVowels training only its head, 72% of its
    # training samples wrong, had been told to raise its rate, train longer and grow).
    frozen = frozen_note(evidence.settings)
    if frozen and confidence >= REPORT_THRESHOLD:
        summary += f"; it has {frozen}"
        remedies = present(unfreeze(book), *remedies)
        title = "the model has not fitted what it could: most of its parameters are frozen"
    return replace(first, confidence=confidence, summary=summary, remedies=remedies,
                   evidence={**first.evidence, "title": title,
                             "form_confidences": {"stopped_early": stopped_score, "capacity": capacity.confidence}})


def _facts(evidence: RunEvidence) -> dict:
    health, fit, curves = evidence.optimization, evidence.fit, evidence.curves
    return {"train_slope_end": health.train_slope_end, "val_slope_end": health.val_slope_end,
            "train_still_falling": health.train_still_falling, "val_still_falling": health.val_still_falling,
            "final_train_accuracy": float(curves.train_accuracy[-1]), "final_val_accuracy": float(curves.val_accuracy[-1]),
            "train_fit_share": fit.moved_share, "prior_entropy": fit.prior_entropy, "epochs": evidence.num_epochs}


def _rare_share_of_train_errors(evidence: RunEvidence) -> float:
    """Share (0..1) of the training samples wrong at the delivered epoch that belong to rare classes: as much of
    the underfitting as class imbalance can explain (a model that leans on the frequent classes gets the rare
    ones wrong, not the frequent ones; an OSULeaf GRU of 2 units, 48% of its training samples wrong, had its
    capacity verdict explained away by a rare class of 8%). 1.0 without recorded train samples."""
    train, rare = evidence.train, evidence.rare_classes
    if train is None or not rare:
        return 1.0
    index = evidence.delivered_epoch - 1
    wrong = train.seen[index] & ~train.correct[index]
    if not wrong.any():
        return 1.0
    return float(np.isin(train.labels[wrong], rare).mean())


CAUSE = Cause(
    code="underfitting",
    title="the model has not fitted what it could: stopped while still improving, or too small or too regularised",
    rule=rule,
    explains=("confidence_refinement",),
)
