"""underfitting's ``stopped_early`` form: training ended while the model was still improving, so more epochs (or a
higher learning rate) would help; and the readings of "still improving" the capacity form shares."""

from __future__ import annotations

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.causes.underfitting_classes import majority_at_slow_rate
from lossgap.diagnosis.constraints import (ADAM_FAMILY, averaging_decay, below_range, fast_learning_rate,
                                           fast_rate_figures, held_back, low_in_range, narrow_layer_advice,
                                           rate_and_range)
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import (LAG_GAP, SHORT_RUN, at_ceiling, ended_by_early_stopping,
                                             evaluation_gap, lag_words, train_fitted)
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import Verdict
from lossgap.diagnosis.wording import (clip, guess_loss, new_lows, pct, rate_pct, recovery_words,
                                      share_below_prior)

#: A model with a train error of at least UNFITTED_ERROR whose right answers are unsure (their mean true-class
#: probability less than UNSURE_RIGHT of the way from chance to 1) is far from fitting: a falling loss there is
#: learning, not refinement (see _far_from_fitting).
UNFITTED_ERROR, UNSURE_RIGHT = 0.1, 0.5
#: Factor on the form's confidence when the model already fits its training set: train accuracy within FITTED_ROOM
#: (or one sample) of 1 (learning_state.train_fitted, without its noise units).
FITTED_FACTOR, FITTED_ROOM = 0.7, 0.01
#: Confidence of the form when batch norm's lag hid a descent the training pass shows (RunEvidence.lagged_learning).
LAGGED_CONFIDENCE = 0.8
#: Confidence for a run early stopping ended after a spike it had no patience to recover from
#: (learning_state.cut_short_by_spike), before the spike's own verdict (unstable_optimization, named beside it) discounts
#: it to about 0.55-0.6: waiting longer comes first, since a lower rate under the same short patience stops the slower
#: descent sooner (trial 31: a tenth of the rate reached balanced test 0.200 against the run's 0.476).
CUT_SHORT_CONFIDENCE = 0.9

def loss_steepness(evidence: RunEvidence) -> float:
    """0..1: how steeply the val loss still falls at the end (1% of its level per epoch counts fully); 0 unless
    it clearly falls or the run is still learning (a new low at the end of a jittery val loss)."""
    health = evidence.optimization
    falls = health.val_still_falling or evidence.still_learning
    return clip(-health.val_slope_end / 0.01) if falls else 0.0


def stopped_early(evidence: RunEvidence, book: RemedyBook, facts: dict,
                   trend: tuple[bool, float, float]) -> Verdict:
    """The stopped-early form; ``trend`` is the run's :attr:`RunEvidence.accuracy_trend`."""
    health, curves = evidence.optimization, evidence.curves
    rising, rise, val_rise = trend
    # The val loss is what more epochs would lower; the train loss must at least not be rising, and the
    # lowest val loss must be recent (a run stopped early by patience made no new minimum for a while).
    early_learning = evidence.early_learning
    # Or one that the current fall would carry below its lowest within a few epochs: early stopping can run out of
    # patience while the model wins back a setback.
    reach = low_within_reach(evidence)
    falling = ((health.val_still_falling or early_learning or evidence.still_learning)
               and not health.train_slope_end > 0 and (evidence.val_low_is_recent or reach is not None))
    details = {**facts, "form": "stopped_early", "train_accuracy_rise_over_tail": rise,
               "val_accuracy_rise_over_tail": val_rise, "low_within_reach": reach}
    if evidence.lagged_learning and not held_back(evidence.settings):
        # Batch norm's lag hides the descent from the evaluated figures early stopping and the rules read
        # (learning_state.lagged_learning): the weights were still learning. Unless the model the run delivers is
        # already within two samples of all right on val and train: learning more can only make it surer (trial 21's
        # LSTM-FCN on GunPoint delivered val and train 1.000, test 0.980, and read 0.66 with --ema 0 first, which
        # delivered test 0.980 again).
        delivered = evidence.delivered_epoch - 1
        if at_ceiling(evidence, delivered):
            details["delivered_at_ceiling"] = True
            return Verdict("underfitting", 0.0, f"{_stopped_by(evidence)} while {lag_words(evidence)}, but the model "
                           f"it delivers (epoch {delivered + 1}) already gets val "
                           f"{evidence.curves.val_accuracy[delivered]:.3f} and train "
                           f"{evidence.curves.train_accuracy[delivered]:.3f} right: within two samples of all right, "
                           "learning more would mostly make the same answers surer", details)
        # Nor where the run delivers an earlier model that already fits its training set and whose own evaluation did
        # not lag: the lag came after it (trial 30: an LSTM-FCN that restored epoch 28, train 1.000 and val 0.970,
        # its evaluated loss jumping only in later epochs, read 0.80 "still learning" with --ema 0 first, which took
        # balanced test 0.963 -> 0.919; the run was above its reference's 0.895).
        if (delivered < evidence.num_epochs - 1 and _fitted(evidence, delivered)
                and evaluation_gap(evidence, delivered) < LAG_GAP * evidence.fit.prior_entropy):
            details["lag_after_delivered"] = True
            return Verdict("underfitting", 0.0, f"{_stopped_by(evidence)} while {lag_words(evidence)}, but the model "
                           f"it delivers (epoch {delivered + 1}) already gets "
                           f"{evidence.curves.train_accuracy[delivered]:.3f} of its training samples right, and its "
                           "own evaluated figures do not lag its training pass: the lag came after it, and learning "
                           "more would mostly make the same answers surer", details)
        details["lagged_learning"] = True
        details["averaging_lag"] = bool(averaging_decay(evidence.settings))
        return Verdict("underfitting", LAGGED_CONFIDENCE, f"{_stopped_by(evidence)}, but {lag_words(evidence)}; the model was "
                       "still learning", details,
                       present(book.shorter_average(), book.recompute_batch_norm(), book.more_epochs(evidence.num_epochs)))
    # A val loss on its way back below its lowest has left that turn behind it; and a run still learning
    # (RunEvidence.still_learning: a recent low, a falling trend, accuracy rising) has not turned, whatever its
    # last epoch did (an ArrowHead LSTM with its lowest val loss at epoch 39 of 40, one epoch's rise after it, had
    # read "levelled off or turned" and "No problem found"; 80 epochs took test 0.594 -> 0.72).
    cut = evidence.cut_short_by_spike
    if cut is not None:
        details["cut_short_by_spike"] = cut
        return Verdict("underfitting", CUT_SHORT_CONFIDENCE, f"both losses were still falling up to epoch "
                       f"{cut['best_epoch']} (train loss {cut['before']:.3f}, its lowest), then the train loss spiked to "
                       f"{cut['peak']:.3f} at epoch {cut['spike_epoch']} and {_stopped_by(evidence)}, before the model "
                       "could win the setback back: the run stopped while it was still learning", details,
                       present(book.more_epochs(evidence.num_epochs), book.lower_lr()))
    turned = evidence.generalization.onset_epoch is not None and reach is None and not evidence.still_learning
    if not falling or turned:
        return Verdict("underfitting", 0.0, "the losses have levelled off or turned, so more epochs alone would not "
                       "help", details)
    # A falling loss with accuracy flat is confidence refinement, which more epochs would only prolong; but a
    # model whose train loss is still near the prior's has nothing to refine yet: it is still learning. So is
    # one far from fitting its own training set whose right answers are still unsure: refinement is answers
    # that are already sure growing surer, while unsure ones are what a model still on its way gives.
    # So is a model that still predicts the majority class for (nearly) every training sample at a rate far below its
    # optimizer's range: it has not learned the other classes yet (trial 13's 80/10/10 data at Adam 3e-5, its loss
    # falling 3% per epoch at epoch 30, had read "more epochs would mostly make the same answers surer" beside class
    # imbalance 1.00; at Adam 0.01, unweighted, balanced accuracy 0.937, weighted at 3e-5 0.634).
    collapsed, slow = majority_at_slow_rate(evidence) or (None, "")
    details["collapsed_at_slow_rate"] = collapsed
    # At a rate below its optimizer's range a gentle slope under rising accuracy is that rate's pace, not a descent
    # levelling off (trial 18: SGD 0.0005 on JapaneseVowels, train 0.49 and rising 0.13 over its last 10 epochs, its
    # val loss falling 0.3% per epoch, had read "too small" with --hidden 64 first; SGD 0.05 reached test 0.976).
    slow_rate = below_range(evidence.settings)
    steepness = 1.0 if early_learning or collapsed or (slow_rate and rising) else loss_steepness(evidence)
    # A model its own settings hold back (a tiny recurrent layer, heavy regularisation) is unsure by
    # construction: its flat accuracy is the capacity form's case, not a slow pace.
    unfitted, sureness = far_from_fitting(evidence)
    unsure = unfitted
    unfitted = (unfitted or evidence.unfitted_descent) and not held_back(evidence.settings)
    # Val accuracy within two samples of all right has nothing left to gain: a loss still falling there makes the
    # same answers surer (a 300-step task at val 1.000, still falling 27% per epoch, had read 0.90 "has not fitted
    # what it could").
    ceiling = at_ceiling(evidence, evidence.num_epochs - 1)
    rising = rising and not ceiling
    details.update({"far_from_fitting": unfitted, "right_answer_sureness": sureness, "val_at_ceiling": ceiling})
    confidence = steepness * (0.9 if rising or early_learning or unfitted or collapsed else 0.35)
    # A model already right on (nearly) all of its training samples can gain from more epochs only what val trails it
    # by, and its answers mostly grow surer (trials 23 and 29: runs at train 0.98-1.00 read 0.90 "stopped too early";
    # of those judged, one was right and three gained 0.014 or less on test from more epochs, and a 5-epoch run at
    # train 0.996, val 0.933, already at its reference, lost 0.096 over 15 epochs).
    fitted = (rising and not early_learning and not collapsed
              and _fitted(evidence, evidence.num_epochs - 1))
    details["train_fitted"] = fitted
    if fitted:
        confidence *= FITTED_FACTOR
    stopped_by = _stopped_by(evidence)
    if health.val_still_falling:
        pace = (f"{rate_pct(-health.val_slope_end)} of its level per epoch over the last {health.tail_epochs} epochs"
                f"{recovery_words(health)}; train loss {rate_pct(-health.train_slope_end)}")
    elif evidence.still_learning and health.val_slope_end < 0 and not health.val_still_improving:
        pace = (f"unevenly, {rate_pct(-health.val_slope_end)} of its level per epoch over the last "
                f"{health.tail_epochs} epochs with its lowest value at epoch {evidence.val_loss_min_epoch}; train loss "
                f"{rate_pct(-health.train_slope_end)}")
    else:
        pace = f"slowly, but {new_lows(health, evidence.num_epochs)}"
    if reach is not None and not evidence.val_low_is_recent:
        pace += (f"; it ended only {pct(reach['above'])} above its lowest, {reach['lowest']:.3f} at epoch "
                 f"{evidence.val_loss_min_epoch}, about {reach['epochs']:.0f} epoch(s) of that fall")
    summary = (f"val loss was still falling when {stopped_by} ({pace})"
               # The rise is the tail's least-squares trend, said as such: one epoch's dip in it (a trial's val 0.523 ->
               # 0.497 in the last epoch of a rise from 0.423) had read as "still rising (val 0.497)" alone.
               + (f" and accuracy was still rising over the last {evidence.trend_tail} epochs (trend: train "
                  f"{rise:+.3f}, val {val_rise:+.3f}; at the end train {curves.train_accuracy[-1]:.3f}, val "
                  f"{curves.val_accuracy[-1]:.3f})" if rising else "")
               + (", but with its training set fitted, more epochs can add only what val trails train by, and mostly "
                  "make the same answers surer" if fitted
                  else ": training stopped too early" if rising
                  else f", the {evidence.stability_loss[0]} {_objective_below_guess(evidence)}: "
                       "the model is still early in learning" if early_learning
                  else f"; accuracy did not rise over the last {evidence.trend_tail} epochs, but the model still "
                       f"predicts class {evidence.class_label(collapsed['class'])} for "
                       f"{pct(collapsed['predicted_share'])} of its training samples, the class that makes up "
                       f"{pct(collapsed['class_share'])} of them, and {slow}: it has not learned the other classes yet, "
                       "not refining answers it already has" if collapsed
                  else f"; accuracy did not rise over the last {evidence.trend_tail} epochs, but the model is far from "
                       f"fitting its training set (train accuracy {curves.train_accuracy[-1]:.3f}) and even its right "
                       f"answers are unsure ({pct(sureness)} of the way from chance to certain): it is still learning, "
                       "not refining answers it already has" if unfitted and unsure
                  else f"; accuracy did not rise over the last {evidence.trend_tail} epochs beyond its noise, but the "
                       f"model still gets {pct(1.0 - curves.train_accuracy[-1])} of its training samples wrong while its "
                       "val loss still falls: it is still learning, not refining answers it already has"
                       if unfitted
                  else f", but val accuracy is already {curves.val_accuracy[-1]:.3f}, within two samples of all right: "
                       "more epochs would mostly make the same answers surer" if ceiling
                  else ", but accuracy was no longer rising: more epochs would mostly make the same answers surer"))
    details["below_range"] = slow_rate
    if slow_rate and rising and not early_learning:
        _, rate, (bottom, top) = rate_and_range(evidence.settings)
        summary += (f"; its learning rate {rate:g} lies below the bottom of its optimizer's usual range ({bottom:g}-"
                    f"{top:g}), which sets this pace")
    # Learning that has barely begun after all the planned epochs wants a much faster pace first: ten times,
    # and at least the middle of the optimizer family's usual range.
    # On long sequences a recurrent layer that has barely begun may not reach the signal at any pace: reading both
    # directions, or a convolution branch, comes first (a plain LSTM on ArrowHead's 251 steps, told to raise its rate
    # and train longer, stayed at train 0.40-0.43 either way).
    # Not after a handful of epochs at a rate in the upper half of its range: there the run has only just begun (an
    # LSTM-FCN at AdamW 0.003 stopped after 3 epochs, where 150 reached test 0.74, had been told to raise its rate
    # first).
    short = evidence.num_epochs < SHORT_RUN and not low_in_range(evidence.settings)
    details["short_run"] = short
    # A rate below the bottom of its range is the likelier brake whatever the sequences' length (trial 18: OSULeaf's
    # 427 steps at Adam 3e-5, still at chance after 40 epochs, had been told to read both ways first, which reached
    # test 0.20, then to switch to an LSTM-FCN at the same rate, 0.42; --lr 0.001 alone reached 0.67).
    faster, longer = book.higher_lr(10.0, usual=True), book.more_epochs(evidence.num_epochs)
    if early_learning and not short:
        reach = architecture(evidence, book)
        remedies = present(faster, *reach, longer) if slow_rate else present(*reach, faster, longer)
    elif collapsed:
        remedies = present(faster, longer, book.class_weights())
    elif slow_rate:
        remedies = present(faster, longer)
    else:
        remedies = present(longer, book.higher_lr())
    if unsure and not early_learning:
        # Still improving but far from fitting sequences that long, a recurrent layer's reach is the likelier limit
        # than the epochs (trial 13's plain LSTM on ACSF1's 1460 steps, train 0.31 at epoch 40, had been told only to
        # train longer: 80 epochs reached test 0.38, the recommended LSTM-FCN 0.68).
        # After the epochs, though, for a run of a handful of them or at a rate below its range: there the run has
        # barely begun (trial 18: 4 epochs on BasicMotions had been told to read both ways first, at 4 epochs still).
        reach = architecture(evidence, book)
        summary += architecture_clause(evidence, reach)
        remedies = present(*remedies, *reach) if short or slow_rate else present(*reach, *remedies)
    if unfitted and not rising:
        # A model far from fitting whose own Linear layer is narrower than the classes may never get further
        # however long it trains (an own MLP through Linear(90, 1) to 4 classes, train accuracy 0.53, had been
        # told "train for more epochs" alone; 60 more took val from 0.525 to 0.485).
        narrow, widen = narrow_layer_advice(evidence.settings, evidence.val.num_classes, book)
        summary += narrow
        remedies = present(widen, *remedies)
    starved = clipped_far_below(evidence)
    details["clip_starved"] = starved
    if starved is not None:
        clip_at, norm = starved
        summary += (f"; the gradient clip ({clip_at:g}) lies far below the gradients' median norm before clipping "
                    f"({norm:.3g}), so every step is cut to about 1/{norm / clip_at:.0f} of its size: that, not the "
                    "number of epochs, sets the pace")
        remedies = present(book.loosen_clip(norm), *remedies)
    # A rate far above its optimizer's range descends in jumps, and more epochs at it keep jumping (trial 11's LSTM-FCN
    # at Adam 0.5, its train loss bouncing between 0.16 and 0.85 over its last 15 epochs at val 0.915, had been told
    # only to train longer at that rate; Adam 0.01 reaches val 0.998).
    fast = fast_learning_rate(evidence.settings)
    details["fast_learning_rate"] = bool(fast)
    if fast and short and evidence.short_and_learning:
        # A run of a handful of epochs has not shown yet whether its steps overshoot: the longer run tells, and lowering
        # the rate for as few epochs slows what little learning it had (trial 29: a GRU at AdamW 0.059 for 3 epochs went
        # test 0.625 -> 0.900 in 9 epochs at that rate, 0.650 at a tenth of it; an LSTM at AdamW 0.17 for 7 epochs,
        # told to lower the rate first, went 0.354 -> 0.180).
        summary += (f"; {fast_rate_figures(evidence.settings)}, where steps often overshoot, but a run this short has "
                    "not shown whether its own do: train longer first, and lower the rate if the longer run bounces")
        rest = [remedy for remedy in remedies if remedy not in (longer, faster) and remedy.name != "higher_lr"]
        remedies = present(longer, book.lower_lr(10.0), *rest)
    elif fast:
        summary += f"; but {fast}, so lower it before training longer"
        remedies = present(book.lower_lr(10.0), *remedies)
    return Verdict("underfitting", confidence, summary, details, remedies)


def _fitted(evidence: RunEvidence, index: int) -> bool:
    """True when train accuracy at 0-based epoch ``index`` is within FITTED_ROOM or one sample of 1."""
    return train_fitted(evidence, index, FITTED_ROOM, noise_units=0)


def _stopped_by(evidence: RunEvidence) -> str:
    """What ended the run, for the sentence: early stopping (with its patience) or the planned epochs."""
    return (f"early stopping (patience {evidence.patience}) ended training at epoch {evidence.num_epochs}"
            if ended_by_early_stopping(evidence) else f"training ended at epoch {evidence.num_epochs}")


#: Most epochs of its current fall that may separate a val loss from its lowest for the run to count as still on
#: its way down (see low_within_reach).
REACH_EPOCHS = 3
#: ... and the least the val loss must have fallen over the tail, in epoch-to-epoch jitters of it.
REACH_JITTERS = 5.0


def low_within_reach(evidence: RunEvidence) -> dict | None:
    """The lowest val loss, when it is not recent but the val loss still falls clearly at the end and would pass it
    within REACH_EPOCHS epochs at its current pace, having fallen REACH_JITTERS times its jitter or more over the
    tail, else None: {"lowest" (nats), "above" (the last val loss over it, minus 1), "epochs" (of the current fall
    that covers that)}. A BasicMotions LSTM thrown back by a spike at epoch 50 was winning it back, val loss falling
    4% per epoch and 5% above its epoch-49 low, when early stopping's patience ran out at epoch 69; it had read "more
    epochs alone would not help", and the same run continued reached test accuracy 0.95 against 0.68."""
    health = evidence.optimization
    val_loss = evidence.curves.val_loss
    lowest, last = float(val_loss[evidence.val_loss_min_epoch - 1]), float(val_loss[-1])
    pace = -float(health.val_slope_end)
    if evidence.val_low_is_recent or not health.val_still_falling or not (pace > 0 and lowest > 0):
        return None
    above = last / lowest - 1.0
    if not np.isfinite(above) or above / pace > REACH_EPOCHS:
        return None
    # A descent, not a jitter's last swing down: the tail's fall many times the val loss's epoch-to-epoch jitter (a
    # plateau jumping between 0.23 and 0.32 "fell" 0.05 nats over its last 6 epochs, 2.3 jitters).
    tail = val_loss[-health.tail_epochs:]
    fall = pace * health.tail_epochs * float(np.nanmean(tail))
    if not fall >= REACH_JITTERS * evidence.generalization.val_jitter:
        return None
    return {"lowest": lowest, "above": above, "epochs": max(1.0, above / pace)}


#: A run clipping its gradients at a norm this many times below their median norm is starved by the clip.
CLIP_STARVED = 10.0


def clipped_far_below(evidence: RunEvidence) -> tuple[float, float] | None:
    """(clip norm, median gradient norm before clipping) when the run clips at CLIP_STARVED times or more below
    the gradients' median norm over its epochs (metrics.csv's grad_norm), else None. SGD at lr 0.05 clipped at
    0.01, its gradients 10-36 times that, read "still early in learning: train longer", and 120 epochs later
    "train for 240"; unclipped it fitted by epoch 31."""
    optimizer = (evidence.settings or {}).get("optimizer") or {}
    clip_at = optimizer.get("clip_grad")
    norms = evidence.curves.grad_norm
    # Adam-like optimizers divide each step by the gradients' own running size, so a clip that scales them all
    # down leaves their steps as they were (an own GRU at Adam 0.003 clipped at 1e-4, 2000x below its gradients,
    # fitted JapaneseVowels to val 0.963 like its unclipped twin).
    if not clip_at or norms is None or optimizer.get("name") in ADAM_FAMILY:
        return None
    norms = np.asarray(norms, dtype=np.float64)
    norms = norms[np.isfinite(norms)]
    if not norms.size or float(np.median(norms)) < CLIP_STARVED * float(clip_at):
        return None
    return float(clip_at), float(np.median(norms))


def far_from_fitting(evidence: RunEvidence) -> tuple[bool, float]:
    """(far from fitting, sureness): the model gets at least UNFITTED_ERROR of its training samples wrong at the
    end (and 3 standard errors), and even its right answers are unsure: less than UNSURE_RIGHT of the way from
    chance to certain (:attr:`RunEvidence.right_answer_sureness`, NaN without train dynamics). Answers that are
    right but barely surer than chance are still being learned, or are all a model held back by its settings
    can give (see :func:`stopped_early` and the capacity form for which)."""
    sureness = evidence.right_answer_sureness
    if evidence.train is None or not np.isfinite(sureness):
        return False, sureness
    accuracy = float(evidence.curves.train_accuracy[-1])
    noise = float(accuracy_noise(accuracy, evidence.train.num_samples))
    return bool(1.0 - accuracy >= max(UNFITTED_ERROR, 3 * noise) and sureness < UNSURE_RIGHT), sureness


def architecture(evidence: RunEvidence, book: RemedyBook) -> tuple:
    """On long sequences, (the switch to LSTM-FCN, reading the recurrent layer both ways), each None where it does
    not apply (RemedyBook.reach_far); (None, None) on short ones and for own loops."""
    if not evidence.long_sequences or not book.has_config:
        return None, None
    return book.reach_far()


def architecture_clause(evidence: RunEvidence, reach: tuple) -> str:
    """The clause that says why :func:`architecture`'s remedies ``reach`` are offered ("" when none is)."""
    if not any(reach):
        return ""
    switch, both_ways = reach
    return (f"; on sequences of {evidence.sequence_length} steps "
            + ("a convolution branch beside the recurrent layer (LSTM-FCN) often fits what a recurrent layer alone "
               "cannot" if switch else "")
            + ("; " if switch and both_ways else "")
            + ("a recurrent layer read at its last step may not carry the first steps that far: reading both "
               "directions helps there" if both_ways else ""))


def _objective_below_guess(evidence: RunEvidence) -> str:
    """How far the loss the run minimised got below a constant guess's: the prior's entropy, or for a class-weighted
    run the weighted loss of a constant guess."""
    return share_below_prior(evidence.objective_fit.moved_share, guess_loss(evidence.objective is not None))
