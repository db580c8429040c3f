"""no_signal: the labels are not predictable from the inputs (the article's own data has random labels).

Precondition: the model must have fitted *something* on its training set (its train loss fell clearly
below the prior's entropy). A model that never moved, even on train, cannot tell whether the labels carry
signal; that run is underfitting, and this rule stays low and says why. The same holds for a model its own
settings hold back (a tiny recurrent layer, heavy weight decay or dropout) that fitted little of its training set.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from lossgap.diagnosis.cause import Cause
from lossgap.diagnosis.causes.no_signal_doubts import (
    first_pass_doubt, fitted_at_once, fitted_little_doubt, kept_lead_doubt, long_reach_doubt, shortcut_doubt,
    val_inputs_doubt, val_trails_doubt)
from lossgap.diagnosis.causes.no_signal_wording import (
    balanced_words, control_words, fitted_words, not_above, number, test_words, unweighted_words,
    weighted_balanced_words)
from lossgap.diagnosis.constraints import held_back, wide_enough
from lossgap.analysis.signal import SIGNAL_TESTS, detectable_accuracy, detectable_balanced_lead
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import lag_words
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import little_data, present
from lossgap.diagnosis.verdict import Verdict
from lossgap.diagnosis.wording import below_prior, clip, new_lows, pct, rate_pct

#: Confidence left when the precondition fails (the model never fitted its training set).
UNFIT_CAP = 0.2
#: Most no_signal reaches while the val loss still sets new lows at the end: what the model learns may yet
#: carry over (a learning rate far too low creeps down every epoch), so absence cannot be shown yet.
STILL_IMPROVING_CAP = 0.3
#: Share of its train-loss gain over the prior a model must have given back by the last epoch for a falling val
#: loss to be forgetting rather than learning (see rule).
GAVE_BACK = 0.5
#: A model its settings hold back (:mod:`lossgap.diagnosis.constraints`) must get its train loss this share
#: below the prior's entropy before its val failing to follow counts; until then no signal stays below HELD_BACK_CAP.
HELD_BACK_FIT, HELD_BACK_CAP = 0.3, 0.45
#: Highest confidence when the inputs were not standardised and the gates saturated (RunEvidence.unscaled_inputs).
UNSCALED_CAP = 0.3
#: The headline's title when val accuracy is above the majority baseline, though not significantly.
ABOVE_BASELINE_TITLE = ("the labels may not be predictable from the inputs: val accuracy is above the majority "
                        "baseline, but not significantly")
#: A val split so small that only an accuracy this far above the baseline could test significant cannot rule
#: out a modest signal (20 samples of two even classes need 0.85): no signal stays below SMALL_VAL_CAP there.
SMALL_VAL_LEAD, SMALL_VAL_CAP = 0.2, 0.45
#: ... nor one where that accuracy lies more than this share of the way from the best constant answer to all right:
#: on imbalanced val the room above the majority share is small (a trial's class-weighted GRU on 56 val samples, 47
#: of one class and 3 of each rare one, needed 0.964 against 0.839, all but 2 of the 9 rare samples right, and read no
#: signal 0.95 where its balanced test accuracy was 0.447 against chance 0.25).
SMALL_VAL_ROOM = 0.5
#: There, a val loss at most LOSS_LEAD x the prior's (untested) keeps no signal at LOSS_LEAD_CAP, "considered".
LOSS_LEAD, LOSS_LEAD_CAP = 0.75, 0.4
#: Most no_signal reaches when the model hardly ever predicts the rare classes (their val recall under 0.2): it
#: sits at the majority baseline whether or not the inputs carry signal. Where one class holds MAJORITY_SHARE of
#: val or more, class imbalance is the likelier reading and no signal is only considered (a 72%-majority set
#: whose signal class weights recover read "Also: no_signal" 0.60 beside class imbalance 1.00 under one cap of
#: 0.6); with no such majority (OSULeaf's labels shuffled, its largest class 27%), a model at the baseline is
#: what shuffled labels give, and the higher cap stays.
MAJORITY_BIASED_CAP, MAJORITY_SHARE, RARE_IGNORED_CAP = 0.45, 0.5, 0.6
#: A recurrent layer under WIDE_ENOUGH units that memorised its training set is first told to try one WIDER times as
#: wide, and one read at its last step over READ_BOTH_WAYS steps or more to read both ways, before the labels are
#: blamed (see _checks_before_concluding).
WIDER, READ_BOTH_WAYS = 4, 20


def rule(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """Val accuracy not above the majority baseline and val loss not below the prior's, while train was fitted."""
    signal = evidence.signal
    # A class-weighted run minimised its weighted loss, which keeps the plain one above the class shares' (random
    # labels weighted 90/10 had the plain train loss never below the prior's while the weighted one fell 47% below a
    # constant guess's: read "never fitted", no signal stayed at 0.2 and class imbalance's "collect more rare-class
    # samples" came first, where the run's own weights had already answered the imbalance).
    fit = evidence.objective_fit
    # The judged epoch was itself chosen on the val split (its loss minimum), so its own p-value is optimistic:
    # shuffled labels reached p=0.001 there and 0.07 once corrected. The best epoch's p-value corrected for
    # all the epochs looked at is the honest test; it is also the one that may find a later, better epoch.
    best_p = evidence.signal_best_p
    low, high = signal.interval
    facts = {"epoch": evidence.judged_epoch, "val_accuracy": signal.accuracy, "interval": [low, high],
             "baseline_accuracy": signal.baseline_accuracy, "p_value": signal.p_value,
             "p_value_corrected": evidence.signal_any_epoch_p, "val_loss": signal.loss,
             "prior_entropy": signal.prior_entropy, "loss_clearly_below_prior": evidence.loss_clearly_below_prior,
             "num_val_samples": signal.num_samples, "train_fitted": fit.train_moved,
             "train_fit_share": fit.moved_share}
    has_control = (evidence.train_config or {}).get("control") == "permuted-labels"
    remedies = ((() if has_control else (book.permuted_control(
        "to confirm the model does no better on shuffled labels"),))
        + (book.advice("check_data", "check that inputs and labels are aligned and that the features can carry "
                       "the label, in both splits: a feature that gives the label away in train but not in val (a "
                       "leak, or splits drawn differently) looks the same here; no setting can learn labels that do "
                       "not depend on the inputs"),))
    if evidence.control is not None:
        facts["control"] = evidence.control.to_dict()
    test = test_words(best_p, signal.alpha)
    balanced_p = evidence.balanced_signal_p
    facts["balanced_p_value_corrected"] = balanced_p if math.isfinite(balanced_p) else None
    unweighted = evidence.unweighted_signal
    if unweighted is not None:
        facts["unweighted"] = {"val_accuracy": unweighted.signal.accuracy,
                               "p_value_corrected": unweighted.any_epoch_p,
                               "loss_clearly_below_prior": unweighted.loss_clearly_below_prior}
    shown = []
    if best_p < signal.alpha:
        best_epoch = int(np.nanargmax(evidence.curves.val_accuracy)) + 1
        recorded = evidence.curves.val_accuracy[np.isfinite(evidence.curves.val_accuracy)]
        # "Above" belongs to the best epoch's figure: the last one may lie below the baseline ("was 0.458 at the
        # last, above the best constant answer 0.542" had read as a contradiction).
        shown.append(f"val accuracy reached {evidence.curves.val_accuracy[best_epoch - 1]:.3f} at epoch "
                     f"{best_epoch} ({recorded[-1]:.3f} at the last), above the best constant answer "
                     f"{signal.baseline_accuracy:.3f} ({test})")
    if evidence.loss_clearly_below_prior:
        shown.append("the val loss is clearly below predicting the class shares, sample by sample")
    if not shown and balanced_p < signal.alpha:
        shown.append(balanced_words(evidence))
    if not shown and unweighted is not None and unweighted.shows_signal:
        shown.append(unweighted_words(evidence))
    if shown:
        control = evidence.control
        beaten = ("" if control is None else
                  f"; the permuted-label control reached val accuracy {control.control_accuracy:.3f} against "
                  f"{control.real_accuracy:.3f} with the true labels (one-sided Fisher test p={control.p_value:.2g})")
        return Verdict("no_signal", 0.05, " and ".join(shown) + ": there is signal" + beaten, facts, remedies)
    # A class-weighted run trades accuracy for the rare classes' recall by design: its balanced accuracy, what the
    # weights aim at, is the test that makes the case (a weighted run whose rare class was shifted 0.25 sd, balanced
    # accuracy 0.68 at p=0.04 on 8 rare val samples, would have read no signal 0.74 from its plain accuracy's p=1).
    weighted = evidence.objective is not None and math.isfinite(balanced_p)
    case_p = balanced_p if weighted else best_p
    # Large p-values (accuracy right at the baseline) make the case; p near alpha leaves doubt.
    confidence = 0.55 + 0.4 * clip((case_p - signal.alpha) / 0.3)
    # Even the last epoch's test, the one needing the smallest lead, needs p below alpha / SIGNAL_TESTS.
    detectable = detectable_accuracy(signal.num_samples, signal.baseline_accuracy, signal.alpha / SIGNAL_TESTS)
    facts["detectable_accuracy"] = detectable if math.isfinite(detectable) else None
    balanced_lead = (detectable_balanced_lead(evidence.val_per_class.support, signal.alpha / SIGNAL_TESTS)
                     if weighted else math.nan)
    facts["detectable_balanced_lead"] = balanced_lead if math.isfinite(balanced_lead) else None
    lead_needed = detectable - signal.baseline_accuracy
    # A class-weighted run aims at balanced accuracy, which a val split with fewer than BALANCED_MIN_CLASS_SAMPLES of
    # all but one class cannot test (balanced_p is NaN): its plain accuracy is no test of what it learned.
    weights_untested = evidence.objective is not None and not weighted
    too_few = (not balanced_lead <= SMALL_VAL_LEAD if weighted else weights_untested
               or not (lead_needed <= SMALL_VAL_LEAD and lead_needed <= SMALL_VAL_ROOM * (1 - signal.baseline_accuracy)))
    if too_few:
        confidence = min(confidence, SMALL_VAL_CAP)
    rare = evidence.rare_classes
    recall = evidence.val_per_class.recall[evidence.judged_epoch - 1]
    rare_recall = float(np.nanmean(recall[rare])) if rare else 1.0
    # A class-weighted run has run the experiment that tells the two apart already (its balanced accuracy is tested
    # above), so the cap is for unweighted runs. Nor is it a lean where a frequent class besides the largest is
    # ignored as much as the rare ones: that is a model giving the best constant answer, which shuffled labels give
    # (70/20/10 random labels, every val sample put in the 70% class, had read overfitting 0.62 with no signal held
    # at 0.45 as "class imbalance is the likelier reading", while imbalance itself found the model weak across classes).
    frequent = [cls for cls in np.flatnonzero(evidence.val_per_class.support > 0)
                if cls not in rare and cls != int(np.argmax(evidence.train_class_counts))]
    constant = bool(frequent) and float(np.nanmax(recall[frequent])) < 0.2
    majority_biased = bool(rare) and rare_recall < 0.2 and evidence.objective is None and not constant
    facts["majority_biased"] = majority_biased
    if majority_biased:
        # A model that never predicts the rare classes sits at the baseline whether or not the inputs carry
        # signal: the test cannot tell here, and class imbalance is the likelier reading.
        confidence = min(confidence, MAJORITY_BIASED_CAP if signal.baseline_accuracy >= MAJORITY_SHARE
                         else RARE_IGNORED_CAP)
    if evidence.control is not None:
        control = evidence.control
        if control.significant and control.difference > 0:
            confidence = min(confidence, 0.1)
        elif control.difference <= 0:
            # Only a control that does as well as the true labels confirms; one that does worse, if not
            # significantly, leans the other way (Pickup with 30% flipped labels: 0.455 against the control's
            # 0.091 on 11 val samples, p=0.074, had raised no signal 0.50 -> 0.55).
            confidence = min(1.0, confidence + 0.05)
    fit_words = below_prior(fit, weighted=evidence.objective is not None)
    if not fit.train_moved:
        summary = (f"val accuracy {signal.accuracy:.3f} {not_above(signal)} the best constant answer "
                   f"{signal.baseline_accuracy:.3f} ({test}), but the model never fitted its training set either "
                   f"({fit_words}), so this run cannot tell whether the labels carry signal")
        return Verdict("no_signal", min(confidence, UNFIT_CAP), summary, facts, remedies)
    if evidence.lagged_learning:
        # Batch norm's lag: the weights still descend while the evaluated model, val's figures included, does not
        # show it yet, so val at chance says nothing about the labels (learning_state.lagged_learning).
        summary = (f"val accuracy {signal.accuracy:.3f} {not_above(signal)} the best constant answer "
                   f"{signal.baseline_accuracy:.3f} ({test}), but {lag_words(evidence)}, so whether the labels carry "
                   "signal cannot be told until they do")
        facts["lagged_learning"] = True
        return Verdict("no_signal", min(confidence, STILL_IMPROVING_CAP), summary, facts,
                       present(book.shorter_average(), book.recompute_batch_norm(), book.more_epochs(evidence.num_epochs)))
    health = evidence.optimization
    # Still improving means falling toward its lowest value: a fall within a bounce far above an early minimum
    # (lowest at epoch 24 of 100, "a new low in 0 of the last 25 epochs") is not; nor is a val loss that falls
    # after the model gave back most of its fit of train: that is the model forgetting what it had memorised, as
    # a model of shuffled labels does when its training bounces (train loss 0.54 at best, back to 0.67 of the
    # prior's 0.69 by the end while val fell from 0.77 to 0.69, had read "cannot be told until it stops improving").
    if health.val_still_improving and evidence.val_low_is_recent and not _gave_back_its_fit(evidence):
        pace = (f"{rate_pct(-health.val_slope_end)} of its level per epoch over the last {health.tail_epochs} epochs"
                if health.val_still_falling else new_lows(health, evidence.num_epochs))
        summary = (f"val accuracy {signal.accuracy:.3f} {not_above(signal)} the best constant answer "
                   f"{signal.baseline_accuracy:.3f} ({test}), but the val loss was still falling when training "
                   f"ended ({pace}): what the model learns may yet carry over, "
                   "so whether the labels carry signal cannot be told until it stops improving")
        facts["val_still_improving"] = True
        return Verdict("no_signal", min(confidence, STILL_IMPROVING_CAP), summary, facts,
                       present(book.more_epochs(evidence.num_epochs), book.higher_lr()))
    # How well the model fitted train, against val staying at chance, is what makes the case.
    lift = fit.train_accuracy_max - fit.train_baseline
    confidence *= 0.6 + 0.4 * max(clip(fit.moved_share / 0.1), clip(lift / 0.2))
    # Inputs far from unit scale saturate the recurrent gates, so the model reads next to nothing of them whatever the
    # labels (a 4-class task scaled by 1000, 99% of its gates saturated, had read no_signal 0.80; standardised, the
    # same data reach test 0.933 against 0.267).
    # An own loop's gates saturated at a usual rate say the same of inputs whose scaling lossgap does not know (an own
    # GRU loop fed inputs x1000 had read no_signal 0.61).
    unscaled, unread = evidence.unscaled_inputs, evidence.saturated_at_usual_rate
    facts["unscaled_inputs"] = unscaled or unread
    if unscaled or unread:
        scaling = ("the inputs were not standardised and" if unscaled
                   else "at a learning rate in its usual range, which points at inputs far from unit scale,")
        summary = (f"val accuracy {signal.accuracy:.3f} at epoch {evidence.judged_epoch} is not significantly above the "
                   f"best constant answer {signal.baseline_accuracy:.3f} ({test}), but {scaling} "
                   f"{pct(evidence.gradients.saturation_end)} of the recurrent gates ended saturated: the model "
                   "reads next to nothing of its inputs, so whether the labels carry signal cannot be told until it can")
        first = book.standardize() if unscaled else book.check_input_scale()
        return Verdict("no_signal", min(confidence, UNSCALED_CAP), summary, facts, present(first, *remedies))
    constraint = held_back(evidence.settings)
    facts["held_back_by"] = constraint or None
    if constraint and fit.moved_share < HELD_BACK_FIT:
        summary = (f"val accuracy {signal.accuracy:.3f} at epoch {evidence.judged_epoch} is not significantly above the "
                   f"best constant answer {signal.baseline_accuracy:.3f} ({test}), "
                   f"but the model is held back ({constraint}) and fitted little of its training set ("
                   f"{fit_words}): whether the labels carry signal cannot be told until a freer model fits them")
        return Verdict("no_signal", min(confidence, HELD_BACK_CAP), summary, facts, remedies)
    fitted = fitted_words(evidence, fit)
    # A val loss below the prior's that the paired test cannot confirm is said as such ("0.552 is not clearly
    # below the prior's 1.212" had read as a contradiction of a loss 54% lower).
    below = signal.loss is not None and signal.loss < signal.prior_entropy
    # "Though 0% below" had been printed of 0.693 against 0.695.
    share_below = 1 - signal.loss / signal.prior_entropy if below else 0.0
    loss_words = (f"val loss {number(signal.loss)}, though "
                  + (f"{pct(share_below)} below" if round(share_below, 2) > 0 else "a hair below")
                  + f" the prior's {signal.prior_entropy:.3f}, is not significantly below it sample by sample" if below
                  else f"val loss {number(signal.loss)} is not below the prior's {signal.prior_entropy:.3f}")
    # On a val split too small for the accuracy test, a loss far below the prior's is what signal looks like
    # there (an OSULeaf LSTM-FCN on 53/3/2/3/3/2 samples, val loss 55% below the prior's on 16 samples, had read
    # "Also: no_signal" 0.50 beside its class imbalance).
    loss_lead = too_few and below and signal.loss <= LOSS_LEAD * signal.prior_entropy
    facts["loss_lead"] = loss_lead
    if loss_lead:
        confidence = min(confidence, LOSS_LEAD_CAP)
    at_once = fitted_at_once(evidence)
    # A weak signal can hide below what a model learns from a few hundred samples: 70/30 data whose model memorised 300
    # samples read no signal 0.95, where the same data law at 3000 samples reached val 0.80 against 0.70. Shuffled
    # labels look the same at that size, so the confidence stays; the learning curve is the experiment that tells.
    num_train = int(evidence.train_class_counts.sum())
    few = little_data(evidence.train_class_counts) and not loss_lead and not at_once
    if few:
        remedies = (*remedies, book.more_data())
    conclusion = ("a lead in loss that so few val samples cannot confirm, so whether the labels carry signal is open"
                  if loss_lead else "what it learned does not carry over to val" if at_once
                  # "By this model": a model that memorises 15 noise features beside the one that carries the
                  # label reads the same (a trial's LSTM at val 0.39 where an LSTM-FCN reached 0.92).
                  else "what it learned does not carry over, so the labels are not predictable from these inputs, at "
                       "least not by this model" + (f" from {num_train} training samples (a weak signal can need more; "
                                                     "a learning curve tells)" if few else ""))
    summary = (f"{fitted}, yet val accuracy {signal.accuracy:.3f} at epoch {evidence.judged_epoch} "
               f"{not_above(signal)} the best constant answer {signal.baseline_accuracy:.3f} ({test}) and "
               f"{loss_words}: {conclusion}")
    if signal.accuracy > signal.baseline_accuracy:
        # "stays at the majority baseline" (the cause's title) would misstate a lead the test cannot confirm.
        facts["title"] = (ABOVE_BASELINE_TITLE + (", on a val split too small to show a modest signal" if too_few
                                                  else ""))
    if weighted:
        summary += f"; {weighted_balanced_words(evidence)}"
    if too_few and (weighted or weights_untested):
        smallest = int(np.min(evidence.val_per_class.support[evidence.val_per_class.support > 0]))
        could = ("no balanced accuracy could" if not math.isfinite(balanced_lead)
                 else f"only a balanced accuracy {balanced_lead:.2f} or more above chance could")
        summary += (f" (but with {smallest} val samples in its smallest class {could} show signal: a modest signal "
                    "cannot be ruled out; a larger val split can)")
    elif too_few:
        could = ("no accuracy could" if not math.isfinite(detectable) else "only a perfect accuracy could"
                 if detectable >= 1 else f"only an accuracy of {detectable:.2f} or more could")
        summary += (f" (but with {signal.num_samples} val samples {could} show signal: a modest signal cannot be "
                    "ruled out; a larger val split can)")
    if majority_biased:
        summary += (f" (or the rare classes, hardly ever predicted (val recall {rare_recall:.2f}), hide a weak "
                    "signal)")
    if evidence.control is not None:
        control = evidence.control
        summary += (f"; the permuted-label control reached val accuracy {control.control_accuracy:.3f} against "
                    f"{control.real_accuracy:.3f} with the true labels (one-sided Fisher test p={control.p_value:.2g}"
                    f"{control_words(control)})")
    facts["long_reach_doubt"] = False
    # A split already too small for a modest signal says so above; the kept lead is for one that passed that check.
    # A model that fitted little is the general doubt: a more specific one (long sequences, val unlike train) already
    # says why and names the check.
    # The first pass's lead is general too: it shows signal, and a more specific doubt already names the check.
    doubts = ((long_reach_doubt, val_inputs_doubt, val_trails_doubt, shortcut_doubt)
              + (() if too_few else (kept_lead_doubt,))
              + (first_pass_doubt, fitted_little_doubt))
    doubted = False
    for doubt_of in doubts:
        general = doubt_of in (first_pass_doubt, fitted_little_doubt)
        doubt = None if doubted and general else doubt_of(evidence, book, remedies)
        if doubt is None:
            continue
        doubted = True
        confidence = min(confidence, doubt.cap)
        summary += doubt.clause
        remedies = doubt.remedies
        facts.update(doubt.facts, **({"title": doubt.title} if doubt.title else {}))
        facts["long_reach_doubt"] |= doubt_of is long_reach_doubt
    if not doubted:
        remedies = (*_checks_before_concluding(evidence, book), *remedies)
    return Verdict("no_signal", clip(confidence), summary, facts, remedies)


def _checks_before_concluding(evidence: RunEvidence, book: RemedyBook) -> tuple:
    """The models to try before concluding: one WIDER times as wide, for a recurrent layer under WIDE_ENOUGH units
    (known from the run's config or an own loop's description), and one that reads its sequences both ways, for a
    last-step readout over READ_BOTH_WAYS steps or more (:meth:`RemedyBook.bidirectional`); () where neither applies.
    A rule a model has not found memorises just as labels without signal do, and a permuted-label control "confirms"
    it: a 16-unit LSTM memorised 77% of a 3-bit parity's training set at val 0.52 (no signal 0.95), where 64 units at
    the same rate reached val 1.000; a later trial's label in step 1 of 40, and the xor of steps 1 and 2 of 30, read no
    signal 0.92-0.95 at 32 units and 0.72-0.95 at 128, where 32 units read both ways reached val 0.965. Shuffled labels a
    wider or two-way model memorises as well, and neither is offered again once applied, so the checks end."""
    hidden = ((evidence.settings or {}).get("model") or {}).get("hidden_size")
    wider = book.larger_hidden(WIDER) if hidden is not None and not wide_enough(evidence.settings) else None
    long_enough = evidence.sequence_length is not None and evidence.sequence_length >= READ_BOTH_WAYS
    both_ways = book.bidirectional() if long_enough else None
    why = ("before concluding: a rule a model has not found (a parity, a product of two steps, a label in the first "
           "steps) is memorised just as labels without signal are, and a permuted-label control cannot tell them apart")
    return tuple(replace(remedy, action=f"{remedy.action}, {why}") for remedy in present(wider, both_ways))


def _gave_back_its_fit(evidence: RunEvidence) -> bool:
    """True when the train loss (the class-weighted one of a weighted run) ended more than GAVE_BACK of the way from its
    lowest back to the prior's entropy (a constant guess's weighted loss)."""
    _, train_loss, _, fit = evidence.stability_loss
    last = float(train_loss[-1])
    gained = fit.prior_entropy - fit.train_loss_min
    return bool(gained > 0 and np.isfinite(last) and last - fit.train_loss_min > GAVE_BACK * gained)


CAUSE = Cause(
    code="no_signal",
    title="the labels are not predictable from the inputs: val accuracy stays at the majority baseline",
    rule=rule,
    explains=("overfitting", "label_noise", "confidence_refinement"),
)
