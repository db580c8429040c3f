"""underfitting's ``capacity`` form: train and val accuracy level off together, clearly below fitting the training
set, the losses no longer falling; the model is too small or too regularised (more epochs would not help)."""

from __future__ import annotations

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.causes.underfitting_classes import (confused_pair, contradicted_advice, one_class_advice,
                                                           one_class_errors, one_class_words, pair_advice, pair_words)
from lossgap.diagnosis.causes.underfitting_no_fit import narrow_layer
from lossgap.diagnosis.causes.underfitting_stopped import (UNSURE_RIGHT, architecture, architecture_clause,
                                                           loss_steepness)
from lossgap.diagnosis.causes.underfitting_wording import (FAR_FROM_FIT, capacity_rejection, gradient_note,
                                                           regularisation_note, relative_rise)
from lossgap.diagnosis.constraints import (below_range, fast_learning_rate, frozen_note, held_back, low_in_range,
                                           rate_and_range, regularisation_notes, tiny_hidden, training_pass_dropout)
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import SHORT_RUN, ended_by_early_stopping, val_shows_learning
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import REPORT_THRESHOLD, Verdict
from lossgap.diagnosis.wording import clip, pct, signed

#: Train error (1 - accuracy) beyond noise at which the capacity form reaches full strength.
CAPACITY_ERROR_FULL = 0.1
#: Most the capacity form reaches when nothing points at the model itself (see capacity_form).
UNSUPPORTED_CAP = 0.65
#: ... on sequences under LONG_SEQUENCE steps (or of unknown length), unless the errors sit in one class or one pair of
#: classes, a layer is narrower than the classes, or the recurrent layer is small (SMALL_HIDDEN):
#: there nothing but a larger model tells a model too small from a task at its own ceiling, so the form is considered,
#: not found (trial 13: 10,000-20,000 samples of Bayes-limited tasks, 20-30 steps, LSTMs of 16 and 64 units and a GRU
#: of 128 at train and val 0.70-0.86, the Bayes rule at 0.848 where one reached 0.846, read "too small" 0.61-0.65 and
#: were told to grow; four earlier trials' ceilings (hard-sample noise, a CNN at its oracle's 0.525, a sum-sign task at
#: its 0.65) had read the same). On long sequences a recurrent layer's reach is a limit of its own (ACSF1's 1460
#: steps at train 0.31 where an LSTM-FCN reaches 0.68).
SHORT_UNSUPPORTED_CAP = 0.45
#: ... except for a recurrent layer of this many units or fewer: small enough to be the likelier limit (trial 14's 5-bit
#: task at hidden 6 and 8, train 0.57-0.61 where 64 units reach 0.98, keeps the capacity form beside "train longer";
#: every ceiling above ran 16 units or more). Not TINY_HIDDEN's constraint: a model of 5-8 units is not held back by
#: its settings in the other rules' sense. Far from fitting (FAR_FROM_FIT or more of train wrong) it points at the model
#: as a held-back one does, so the form is not capped at all there (session 37: trial 14's 8 units on 32 classes, train
#: 0.607 and val 0.540 parting a little, had been capped at UNSUPPORTED_CAP to 0.43 and read "No problem found", its
#: sentence saying "nothing points at the model itself").
SMALL_HIDDEN = 8
#: Factor of the capacity form when nothing carried over to val but the settings hold the model back.
HELD_BACK_UNLEARNED = 0.7
#: Overfitting strength from which a model counts as having capacity to spare (the overfitting verdict's
#: reporting threshold).
CLEAR_OVERFITTING = 0.5
#: A val loss this share above its lowest by the last epoch, risen beyond its jitter while the train loss fell,
#: shows capacity to spare (see _turned_up).
TURNED_UP_RISE = 0.1
#: Factor of the capacity form when the learning rate is far above its optimizer's usual range.
FAST_RATE_FACTOR = 0.5
#: Most the form reaches when a rate below its optimizer's range is what it points at (see slow_pace in capacity_form).
SLOW_PACE_CONFIDENCE = 0.85
#: A model its own regularisation holds back, whose right answers are unsure (below UNSURE_RIGHT), is too
#: regularised with strength PINNED_GAIN x (1 - sureness / UNSURE_RIGHT): full at a third of the way from chance
#: to certain, none at half.
PINNED_GAIN = 1.5

def capacity_form(evidence: RunEvidence, book: RemedyBook, facts: dict, trend: tuple[bool, float, float], *,
                  still_improving: bool = False) -> tuple[Verdict, str]:
    """The capacity form and its affirmative sentence; ``trend`` is the run's :attr:`RunEvidence.accuracy_trend`.
    Below the reporting threshold the verdict's sentence says why capacity is not the limit; the affirmative one
    is for when the other form carries the combined verdict over it.

    The level is read at the epoch the run delivers: under early stopping the restored best one, so a bad
    last epoch after it (a loss spike) is no sign that the model cannot fit (it had read "too small" at 0.61);
    without early stopping the last one, which is what the user gets (heavy weight decay that crushes a model
    after it fitted leaves it at chance there, whatever its best epoch was)."""
    curves = evidence.curves
    train_n = evidence.train_count
    level_epoch = evidence.delivered_epoch
    index = level_epoch - 1
    train_accuracy, val_accuracy = float(curves.train_accuracy[index]), float(curves.val_accuracy[index])
    train_error = 1.0 - train_accuracy
    noise = float(accuracy_noise(train_accuracy, train_n))
    gap_noise = float(np.hypot(noise, accuracy_noise(val_accuracy, evidence.val.num_samples)))
    gap = abs(val_accuracy - train_accuracy)
    details = {**facts, "form": "capacity", "train_error": train_error, "train_val_gap": val_accuracy - train_accuracy}
    floor = evidence.train_error_floor
    # A model that once fitted its training set far better is not too small: what it lost since is the story
    # (a bouncing run without early stopping, 0.994 right at epoch 98 and 0.828 at its last, had read "too small"
    # 0.92). Its best train accuracy is judged on the same scale.
    # Not for a model its settings hold back: heavy weight decay crushes a model after it fitted, and that is
    # what the capacity form is for.
    best = evidence.fit.train_accuracy_max
    best_error = (1.0 - best if np.isfinite(best) and not held_back(evidence.settings) else train_error)
    # A training pass with heavy dropout on records the dropped-out model, below what it is when evaluated: val above
    # train is that pass's doing, not the splits parting, and the evaluated model's error is read on val (trial 21:
    # Lightning models at dropout 0.9, their training pass at 0.40-0.63 against val 0.78-0.88, read "No problem found"
    # 0.95 and "No cause found" with this form rejected as overfitting; at dropout 0 they reach test 0.914-0.973 against
    # 0.765-0.900; a model right on all of val, whatever its pass, is not held back).
    dropout_pass = _dropout_pass_below_val(evidence, train_accuracy, val_accuracy)
    judged_error = 1.0 - val_accuracy if dropout_pass is not None else train_error
    strength = clip((judged_error - floor) / CAPACITY_ERROR_FULL)
    fitted_before = clip((best_error - floor) / CAPACITY_ERROR_FULL) < strength
    strength = min(strength, clip((best_error - floor) / CAPACITY_ERROR_FULL))
    details["best_train_accuracy"] = best
    # Heavy regularisation shows in how sure a model is, not only in how often it is right: weight decay 10 left
    # JapaneseVowels 92% right on train with every right answer a quarter of the way from chance to certain
    # (val 0.87, where the same model without it reaches 0.96), and that read "No problem found". A model its
    # own regularisation holds back, unsure even of its right answers, is pinned by it however many it gets right.
    sureness = evidence.right_answer_sureness
    pinned = bool(regularisation_notes(evidence.settings)) and bool(np.isfinite(sureness)) and sureness < UNSURE_RIGHT
    if pinned:
        strength = max(strength, clip(PINNED_GAIN * (1.0 - sureness / UNSURE_RIGHT)))
    details.update({"pinned_by_regularisation": pinned, "right_answer_sureness": sureness})
    # Inputs so far from unit scale that the gates saturate leave a model that memorises what little it reads of its
    # training set: train parting from val then says nothing about capacity (a 4-class task scaled by 1000, 99% of its
    # gates saturated, train 0.35 against val 0.24, had read "part ways, capacity is not the limit" and no_signal
    # 0.80; standardised, the same data reach test 0.933 against 0.267).
    # So does a model its own regularisation pins (above) that gets a fifth or more of its training samples wrong
    # (ACSF1's LSTM-FCN at dropout 0.9 and weight decay 5, train 0.59 against val 0.30 and its right answers a fifth of
    # the way to certain, had read "part ways" and "No problem found" 0.69; at its usual settings it reaches test 0.79).
    # An own loop's gates saturated at a usual rate point at its inputs' scale in the same way.
    unscaled = evidence.unscaled_inputs or evidence.saturated_at_usual_rate
    apart_allowed = unscaled or (pinned and train_error >= FAR_FROM_FIT) or dropout_pass is not None
    together = 1.0 if apart_allowed else clip(1.0 - (gap - max(0.02, 2 * gap_noise)) / 0.08)
    # The model must have learned something that carries over to val (else: no signal, or no fit at all).
    # Balanced accuracy above chance shows it too, as the headline reads a class-weighted run (trial 18: a weighted
    # LSTM-FCN 51% wrong on train at val balanced accuracy 0.667 had its capacity form rejected as "nothing carries over
    # to val" while the headline read "No problem found" from that same balanced accuracy).
    learned = val_shows_learning(evidence)
    details["val_above_baseline"] = bool(learned)
    # A model that overfits has capacity to spare; and without anything pointing at the model (a tiny hidden
    # size, heavy regularisation, dead or saturated units), a level both splits share may be the task's own
    # noise ceiling, which a larger model is the test of.
    # Only a clear turn counts: a faint rise of the val loss in a model far from fitting its own training set
    # (hidden size 1 at 40% train accuracy on four classes) shows no capacity to spare.
    general = evidence.generalization
    overfits = ((general.onset_epoch is not None and general.overfitting_strength >= CLEAR_OVERFITTING)
                or _turned_up(evidence))
    # A rate below its optimizer's usual range, far from a fit that has stopped rising, points at the pace rather
    # than the model: a schedule that anneals such a rate (OneCycle, cosine) flattens the end of a run that never got
    # going (trial 22: OneCycle peaking at Adam 1e-5, train 0.41 and its loss 13% below the prior's after 30 epochs,
    # read "No cause found" with "nothing points at the model itself"; at 1e-2 it reached test 0.984 against 0.357).
    # Still rising, the stopped-early form names the rate.
    slow_pace = bool(below_range(evidence.settings) and train_error >= FAR_FROM_FIT
                     and not (trend[0] or still_improving))
    details["slow_pace"] = slow_pace
    supported = bool(regularisation_note(evidence) or gradient_note(evidence) or _tiny_model(evidence)
                     or frozen_note(evidence.settings) or slow_pace)
    # Nor does a rise in a model its settings hold back, far from fitting its training set, with val accuracy level
    # with train's: it has nothing to spare, and the val loss drifts on a few samples growing surer (an LSTM of 1 unit
    # on Covid3Month, train 0.61 and val 0.63, had read overfitting 0.54 from 6 samples' rise and underfitting 0.00;
    # 16 units reached val 0.73).
    drifting = (overfits and supported and train_error >= FAR_FROM_FIT
                and (gap <= max(0.02, 2 * gap_noise) or dropout_pass is not None))
    overfits = overfits and not drifting
    details.update({"overfits": overfits, "supported": supported, "drift_not_overfitting": drifting})
    # Nothing carrying over to val argues against capacity (it reads as no signal), unless the settings hold the
    # model back: then that is what a held-back model looks like, and no signal cannot be told until it fits.
    carried = 1.0 if learned else HELD_BACK_UNLEARNED if supported else 0.2
    # Accuracy still creeping up has not levelled off, and the sentence must not say it has; a model far from
    # fitting its own training set is held back either way (on the suite, discounting a slow rise lost 20 of
    # the too-small and over-regularised runs to "healthy").
    rising, rise, val_rise = trend
    details.update({"accuracy_rising": rising, "new_val_loss_low_at_end": evidence.val_loss_min_epoch
                    == evidence.num_epochs})
    # A val loss still falling steeply says the model is still learning or refining: not (yet) a capacity limit;
    # unless the settings hold the model back: then the falling loss is what such a model creeps along at, or
    # refines its answers at, below what it could fit (hidden size 1 on GunPoint read "No problem"; on
    # ItalyPowerDemand, 92% right on train with sure right answers and accuracy flat under a loss falling 3% per
    # epoch, read "No problem found" 0.95 while a working model reaches 0.97).
    creeping = pinned or bool(held_back(evidence.settings)) or unscaled
    details["held_back"] = creeping
    pace = 1.0 if creeping else 1.0 - loss_steepness(evidence)
    pair = None if supported else confused_pair(evidence, index)
    one_class = None if supported or pair is not None else one_class_errors(evidence, index)
    narrow, widen = narrow_layer(evidence, book)
    # Errors that sit in one class or one pair, or a layer narrower than the classes, point where a ceiling does not; a
    # small recurrent layer points at the model itself.
    small = tiny_hidden(evidence.settings, at_most=SMALL_HIDDEN) is not None
    located = pair is not None or one_class is not None or bool(narrow) or small
    # Far from fitting, a small layer is the likeliest limit; near a fit its errors may be the labels' (a scenario's
    # 8 units on 10% flipped labels, 11% of train wrong and the rest of each class all right, read "too small" over the
    # noise when small layers counted in full at any level).
    cramped = small and train_error >= FAR_FROM_FIT
    unsupported = (1.0 if supported or cramped else UNSUPPORTED_CAP if evidence.long_sequences or located
                   else SHORT_UNSUPPORTED_CAP)
    confidence = 0.0 if overfits else strength * together * pace * carried * unsupported
    # A rate far above its optimizer's usual range keeps a model of any size from fitting: the level is the steps',
    # not the model's (Adam at 0.3 on JapaneseVowels, train accuracy 0.894 at epoch 17 and 0.731 at its last, gates
    # saturated, had read "too small" 0.56 first, grow 32 -> 64: test 0.705 that way, 0.965 at lr 0.01).
    fast = fast_learning_rate(evidence.settings)
    if fast:
        confidence *= FAST_RATE_FACTOR
    # A layer of a few units at a rate low in its range, accuracy still rising, is held back by the rate as much as by
    # its size (trial 16: 4 units at Adam 1e-4 read "too small" 1.00; at Adam 0.01 the same 4 units reach val 0.985).
    # Still improving by the stopped-early form's reading counts as rising (a later trial's 2 units at Adam 1e-4 under
    # early stopping, their accuracy trend flat, read "2 units is too small" 0.97; at Adam 0.01 they reach val 0.975).
    details["slow_rate"] = slow = bool((rising or still_improving) and _tiny_model(evidence)
                                       and low_in_range(evidence.settings))
    # So is a layer of any size at a rate below its range (trial 18: SGD 0.0005 on JapaneseVowels, train 0.49 and
    # rising, had read "too small" first; SGD 0.05 reached test 0.976).
    details["below_range"] = below = bool((rising or still_improving) and below_range(evidence.settings))
    confidence *= FAST_RATE_FACTOR if slow or below else 1.0
    if slow_pace:   # read from a setting, as the frozen schedule is
        confidence = min(confidence, SLOW_PACE_CONFIDENCE)
    # A handful of planned epochs with accuracy still rising has shown no level yet, whatever its last epoch did (a GRU
    # of 16 units stopped after 4 epochs, train 0.47 -> 0.72 -> 0.62, had read "too small" 0.65 with growing it first).
    details["short_run_rising"] = short_rise = bool(rising and evidence.num_epochs < SHORT_RUN and not supported
                                                    and not ended_by_early_stopping(evidence))
    if short_rise:
        confidence = min(confidence, SHORT_UNSUPPORTED_CAP)
    details["fast_learning_rate"] = bool(fast)
    if pair is not None:
        details["confused_pair"] = pair
    # Apart is only said where it does not rule the form out (unscaled inputs, a pinned model: above).
    apart = apart_allowed and gap > max(0.02, 2 * gap_noise)
    level = "stayed low" if apart else "levelled off together"
    if apart and dropout_pass is not None:
        level = f"stayed apart, train's measured in its training pass with dropout {dropout_pass:g} on"
    if rising:
        # "Still rising" of both only when both rose: one flat beside the other's rise is named as such.
        both = round(rise, 3) > 0 and round(val_rise, 3) > 0
        level = ("were still rising slowly" if both
                 else f"{'stayed low' if apart else 'stayed together'}, {'val' if val_rise > rise else 'train'} "
                      "accuracy still rising slowly")
    summary = (f"train and val accuracy {level} ({train_accuracy:.3f} and {val_accuracy:.3f} at epoch "
               f"{level_epoch}"
               # Signed changes, train then val: "up" had stood before a fall ("up +0.058 and -0.033").
               # The tail's epochs are named where the figures above are from another epoch (a delivered one):
               # "0.673 at epoch 59; train +0.206 over the run's last 20 epochs" had matched nothing a reader found.
               + (f"; train {signed(rise)} and val {signed(val_rise)} "
                  + (f"over the run's last {evidence.trend_tail} epochs" if level_epoch == evidence.num_epochs else
                     f"by their trend lines over epochs {evidence.num_epochs - evidence.trend_tail + 1}-"
                     f"{evidence.num_epochs}, the run's last {evidence.trend_tail}")
                  if rising else "")
               + (f"; the val loss still set a new low at epoch {evidence.num_epochs}"
                  if details["new_val_loss_low_at_end"] else "")
               + f"), the model getting {pct(train_error)} of its own training samples wrong"
               + (f" and even its right answers only {pct(sureness)} of the way from chance to certain" if pinned
                  else "")
               + (pair_words(evidence, pair) if pair is not None
                  # Frozen parameters are named after the sentence (the rule adds them to either form); "too small
                  # or too regularised" had stood before them, of a model whose size was not what held it back.
                  else (_slow_pace_words(evidence) if slow_pace
                        else ": it is held back from fitting" if (frozen_note(evidence.settings) or unscaled)
                        and not regularisation_note(evidence) else ": it is too small or too regularised for the task")
                  + regularisation_note(evidence)
                  + gradient_note(evidence) + ("" if supported else " (or the inputs do not determine the label better "
                                                  "than this: a larger model is the test)")))
    if one_class is not None:
        details["one_class_errors"] = one_class
        summary += one_class_words(evidence, one_class)
    reach = architecture(evidence, book)
    summary += architecture_clause(evidence, reach)
    summary += narrow + (f"; but {fast}, which keeps a model of any size from fitting" if fast else "")
    if short_rise:
        summary += (f"; but after only {evidence.num_epochs} epochs, accuracy still rising, no level has shown yet: "
                    "train longer before judging the model's size")
    affirmed = summary
    if confidence < REPORT_THRESHOLD:
        # The sentence names the factor that kept the form low, not a list of what might have.
        factors = {"fits": strength, "apart": together, "pace": pace, "carried": carried,
                   "unsupported": unsupported}
        reason = "overfits" if overfits else min(factors, key=factors.get)
        if fitted_before and reason == "fits":
            reason = "fitted_before"
        details["rejected_because"] = reason
        summary = capacity_rejection(evidence, reason, train_error, best_error, train_accuracy, val_accuracy,
                                     level_epoch, floor)
        if short_rise and not overfits:
            details["rejected_because"] = "short_run_rising"
            summary = (f"the model got {pct(train_error)} of its training samples wrong at epoch {level_epoch}, but "
                       f"after only {evidence.num_epochs} epochs, accuracy still rising (train {signed(rise)} and val "
                       f"{signed(val_rise)} over the run's last {evidence.trend_tail} epochs), no level has shown "
                       "yet: train longer before judging the model's size")
    # The constraint the sentence names comes first: heavy weight decay on a model of normal size is lifted by
    # regularising less, not by growing a model the decay pins down as well.
    # On long sequences a layer nothing points at (not small, nothing in the settings) far from fitting is likelier
    # held back by its reach than by its width: the architecture's remedies come before growing it (trial 26: a 2-layer
    # LSTM of 32 units on 80 steps at a constant guess grew to 64 with no change; as an LSTM-FCN it reached test 1.000).
    reach_first = any(reach) and not supported and not small and train_error >= FAR_FROM_FIT
    details["reach_first"] = bool(reach_first)
    remedies = (present(widen, book.less_regularisation(), book.larger_hidden(), *reach)
                if regularisation_notes(evidence.settings) and not _tiny_model(evidence)
                else present(widen, *reach, book.larger_hidden(), book.less_regularisation()) if reach_first
                else present(widen, book.larger_hidden(), *reach, book.less_regularisation()))
    if fast:
        remedies = present(book.lower_lr(10.0), *remedies)
    if slow_pace:
        remedies = present(book.higher_lr(10.0, usual=True), book.more_epochs(evidence.num_epochs), *remedies)
    elif short_rise:
        remedies = present(book.more_epochs(evidence.num_epochs), *remedies)
    if evidence.unscaled_inputs:
        remedies = present(book.standardize(), *remedies)
    elif evidence.saturated_at_usual_rate:
        remedies = present(book.check_input_scale(), *remedies)
    if pair is not None:
        # The pair's check comes first: growing the model is the test only after it (a 128-unit GRU mixed the
        # trial's twin classes exactly as a 32-unit one did).
        remedies = present(book.advice("inspect_pair", pair_advice(evidence, pair)), *remedies)
    elif one_class is not None:
        remedies = present(*remedies, book.advice("inspect_suspects", one_class_advice(evidence, one_class)))
    elif not supported and (contradicted := contradicted_advice(evidence)) is not None:
        remedies = present(*remedies, book.advice("inspect_suspects", contradicted))
    return Verdict("underfitting", confidence, summary, details, remedies), affirmed


def _slow_pace_words(evidence: RunEvidence) -> str:
    """": its learning rate 4.9e-06 lies below ... whatever the model's size" (see slow_pace in capacity_form)."""
    _, rate, (bottom, top) = rate_and_range(evidence.settings)
    return (f": its learning rate {rate:.2g} lies below the bottom of its optimizer's usual range ({bottom:g}-{top:g}), "
            f"too slow a pace to fit in {evidence.num_epochs} epochs whatever the model's size")


def _turned_up(evidence: RunEvidence) -> bool:
    """The val loss rose clearly (beyond its jitter) and by TURNED_UP_RISE or more after its lowest while the train
    loss still fell, by less than its own jitter: too little for an overfitting onset, but not the plateau of a
    model too small (an early-stopped 128x2 LSTM whose parent run overfitted read "too small: hidden 256")."""
    general = evidence.generalization
    return bool(general.val_rose_clearly and general.train_fall_after_best > 0
                and relative_rise(evidence) >= TURNED_UP_RISE)


def _tiny_model(evidence: RunEvidence) -> bool:
    """True when the run's config names a tiny recurrent layer (see :mod:`lossgap.diagnosis.constraints`)."""
    return tiny_hidden(evidence.settings) is not None


def _dropout_pass_below_val(evidence: RunEvidence, train_accuracy: float, val_accuracy: float) -> float | None:
    """The run's dropout when its train records come from a training pass with heavy dropout on
    (:func:`training_pass_dropout`) and val accuracy is above that pass's; else None."""
    if not val_accuracy > train_accuracy:
        return None
    return training_pass_dropout(evidence.train_config, evidence.settings)
