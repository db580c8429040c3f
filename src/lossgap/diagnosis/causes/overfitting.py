"""overfitting: train loss keeps falling while val loss turns up after its minimum; the gap grows."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.cause import Cause
from lossgap.diagnosis.causes.overfitting_unshown import nothing_learned_shown
from lossgap.diagnosis.causes.overfitting_cost import (SHOWN, accuracy_cost_words, accuracy_rose_after,
                                                      copies_carry_the_rise, few_samples_carry_the_rise,
                                                      memorised_suspects,
                                                      untrained_classes_carry_the_rise, val_inputs_carry_the_rise,
                                                      wrong_from_the_start)
from lossgap.diagnosis.constraints import tiny_hidden
from lossgap.diagnosis.evidence import MIN_TREND_EPOCHS, RunEvidence
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import little_data, present
from lossgap.diagnosis.verdict import REPORT_THRESHOLD, Verdict
from lossgap.diagnosis.wording import change, clip, guess_loss, pct, share_below_prior

#: What is left of the confidence when early stopping already stopped at, and restored, the val-loss minimum.
HANDLED_FACTOR = 0.3
#: Highest confidence without an onset: the val loss did not clearly turn up (within its noise, or the train
#: loss stopped falling). A large rise its noise covers still keeps "nothing wrong" from being claimed surely.
NO_ONSET_CAP = 0.3
#: A final val loss this share above its minimum is named in the sentence even when it is not a clear turn.
NOTABLE_RISE = 0.1
#: A rise smaller than this (nats) is also given in nats: a share of a tiny loss reads larger than it is.
TINY_RISE_NATS = 0.01
#: The accuracy gap (train minus val) at the val-loss minimum: from GAP_FLOOR, which counts nothing, to GAP_FULL,
#: which counts GAP_CAP. Early stopping restores the epoch before the val loss turns up, but the
#: model there can already fit its training set far better than val, and no stopping epoch closes that gap
#: (a 2x128 LSTM on 150 samples delivered train 0.967 and val 0.801 and read "No problem found"). The suite's
#: healthy runs deliver gaps of -0.03 to +0.06.
GAP_FLOOR = 0.03
GAP_FULL = 0.08
GAP_CAP = 0.75
#: The gap counts only when it is most of the val error (train error at most this share of val error: a model
#: that gets 40% of its training samples wrong and 53% of val is not fitting either) and beyond its noise.
GAP_SHARE_OF_ERROR = 0.5
GAP_NOISE_MULTIPLE = 2.0
#: A gap beyond this many standard errors (but not GAP_NOISE_MULTIPLE) keeps overfitting at up to NO_ONSET_CAP.
UNRESOLVED_GAP_NOISE_MULTIPLE = 1.0


#: The headline's title when the finding is the accuracy gap at the val-loss minimum.
GAP_TITLE = "the model fits its training samples far better than val, whatever epoch it stops at"


#: Most overfitting reaches when the model never got its train loss clearly below the prior's entropy: a model that
#: learned nothing from its training set has memorised none of it (a 92/8 LSTM predicting the majority class for every
#: sample, its train loss 1% below the prior's, had read overfitting 0.62 beside "did not fit even its training set",
#: from a val loss lowest at epoch 1 only because val was 97.5% majority).
UNFITTED_TRAIN_CAP = 0.3
#: Highest confidence when one val sample (or a few) carries the rise and val accuracy held, or when val's errors were
#: there from the first epoch (overfitting_cost): considered, so the sentence that explains the rising val loss is still
#: shown.
ONE_SAMPLE_CAP = 0.45


def rule(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """The val loss's rise after its minimum (beyond its own noise) while the train loss fell, and the gap; at most
    UNFITTED_TRAIN_CAP when the model never fitted its training set."""
    verdict = copies_carry_the_rise(evidence, _rule(evidence, book), NO_ONSET_CAP)
    if verdict.evidence.get("title") != GAP_TITLE:
        # The rise's form only; a clear accuracy gap beside it still counts for what it is worth alone.
        gap_worth = GAP_CAP * float(verdict.evidence.get("accuracy_gap_strength") or 0.0)
        verdict = few_samples_carry_the_rise(evidence, verdict, max(ONE_SAMPLE_CAP, gap_worth))
        verdict = wrong_from_the_start(evidence, verdict, ONE_SAMPLE_CAP)
        verdict = untrained_classes_carry_the_rise(evidence, verdict, ONE_SAMPLE_CAP)
    # Either form: a gap to val or a rise on val measures a val unlike train too.
    verdict = val_inputs_carry_the_rise(evidence, verdict, ONE_SAMPLE_CAP, book.check_val_inputs())
    verdict = nothing_learned_shown(evidence, book, verdict)
    verdict = _tiny_layer_first(evidence, book, verdict)
    verdict = memorised_suspects(evidence, verdict, book.advice)
    # A class-weighted run fitted what it minimised or nothing: weighting keeps its plain loss above the shares'.
    loss_name, _, _, fit = evidence.stability_loss
    if fit.train_moved or verdict.confidence <= UNFITTED_TRAIN_CAP:
        return verdict
    below = share_below_prior(fit.moved_share, guess_loss(evidence.objective is not None))
    return replace(verdict, confidence=UNFITTED_TRAIN_CAP,
                   summary=verdict.summary + f"; but the model never fitted its training set (its {loss_name} got at "
                   f"best {below}): a model that learned nothing from it cannot have memorised it",
                   evidence={**verdict.evidence, "train_unfitted": True})


def _restored_words(evidence: RunEvidence, lowest: int) -> str:
    """The clause saying what early stopping did: restored the val-loss minimum ``lowest`` or an epoch as low within
    the val loss's jitter, or stopped within its patience of the minimum while keeping later weights."""
    best = evidence.best_epoch
    if best == lowest and evidence.delivered_epoch != best:
        # A loop that stops early may keep its last weights (own loops and Lightning do unless they restore a
        # checkpoint): it stopped the rise, but restored nothing.
        waited = evidence.num_epochs - lowest
        return (f"; early stopping already stopped the run {waited} epoch{'s' if waited != 1 else ''} after the val-loss "
                f"minimum, within its patience of {evidence.patience}")
    if best == lowest:
        return f"; early stopping already restored epoch {lowest}, from before the val loss rose"
    return (f"; early stopping already restored epoch {best}, its val loss "
            f"({evidence.curves.val_loss[best - 1]:.3f}) within its epoch-to-epoch jitter of the lowest")


def _tiny_layer_first(evidence: RunEvidence, book: RemedyBook, verdict: Verdict) -> Verdict:
    """``verdict`` with growing the recurrent layer first, and no shrinking, when that layer has a few units
    (constraints.tiny_hidden), fewer than the classes: such a model fits its training set by memorising it rather than
    by what tells the classes apart, and regularising it further holds it back more (trial 23: an LSTM of 4 units on
    JapaneseVowels' 9 classes, train 0.977 against val 0.889, read overfitting 0.75 with "raise dropout" first, which
    reached test 0.886; 32 units reach 0.965)."""
    units = tiny_hidden(evidence.settings)
    if units is None or units >= evidence.val.num_classes or verdict.confidence < REPORT_THRESHOLD:
        return verdict
    kept = tuple(remedy for remedy in verdict.remedies if remedy.name != "smaller_hidden")
    return replace(verdict, remedies=present(book.larger_hidden(4), *kept),
                   evidence={**verdict.evidence, "tiny_recurrent_layer": units},
                   summary=verdict.summary + f"; but its recurrent layer of {units} unit{'s' if units != 1 else ''}, "
                   f"fewer than its {evidence.val.num_classes} classes, fits its training set by memorising it rather "
                   "than by what tells the classes apart: grow it before regularising it")


def _rule(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    general, curves = evidence.generalization, evidence.curves
    lowest = evidence.val_loss_min_epoch
    last = evidence.num_epochs
    facts = {"onset_epoch": general.onset_epoch, "val_loss_min_epoch": lowest,
             "min_val_loss": float(curves.val_loss[lowest - 1]), "final_val_loss": float(curves.val_loss[-1]),
             "gap_at_min": float(general.gap[lowest - 1]), "gap_at_end": general.gap_at_end,
             "early_stopping_epoch": general.early_stopping_epoch,
             "val_accuracy_at_min": float(curves.val_accuracy[lowest - 1]),
             "final_val_accuracy": float(curves.val_accuracy[-1]), "strength": general.overfitting_strength}
    if evidence.num_epochs < MIN_TREND_EPOCHS:
        return Verdict("overfitting", 0.0, "too few epochs to see val loss turn up", facts)
    confidence = general.overfitting_strength if general.onset_epoch is not None \
        else min(NO_ONSET_CAP, general.unmargined_strength)
    # A run that stopped early on val loss and restored its best epoch has applied the remedy already: the
    # rise is only the patience it waited through, and the delivered model is the one before it. The restored
    # epoch need not be the plain val loss's lowest, only as low within its jitter: a class-weighted run stops on
    # its weighted val loss (JapaneseVowels, weighted, restored epoch 13 at 0.0959 beside the plain minimum 0.0949
    # at epoch 15, jitter 0.003, had read overfitting 0.78 on a healthy run).
    # Such a neighbour counts only when it is the model the run delivers (a run that kept its last weights delivers
    # the rise), and the run stopped within its patience of it, as an early stopper watching it would.
    best = evidence.best_epoch
    level = lowest == best or (evidence.delivered_epoch == best and curves.val_loss[best - 1]
                               <= curves.val_loss[lowest - 1] + general.val_jitter)
    handled = evidence.patience is not None and level and last <= best + evidence.patience
    facts["handled_by_early_stopping"] = handled
    if handled:
        confidence *= HANDLED_FACTOR
    gap = accuracy_gap(evidence)
    if gap is not None:
        facts.update(accuracy_gap=gap.gap, accuracy_gap_epoch=gap.epoch, accuracy_gap_strength=gap.strength)
    # A gap beyond one standard error but not two is no finding on its own, but, like a rise its noise
    # covers, it keeps "nothing wrong" from being claimed surely.
    unresolved = accuracy_gap(evidence, UNRESOLVED_GAP_NOISE_MULTIPLE) if gap is None else None
    if unresolved is not None:
        facts.update(unresolved_accuracy_gap=unresolved.gap, accuracy_gap_epoch=unresolved.epoch)
        confidence = max(confidence, min(NO_ONSET_CAP, GAP_CAP * unresolved.strength))
    # A clear gap in a model that fits its training set poorly too is no finding either (it fits neither well),
    # but it keeps "nothing wrong" from being claimed surely: a model at train 0.793 and val 0.642 on 200 val
    # samples (a gap of 4 standard errors) had read "No problem found" 0.76 without a word on it.
    unfitted = (accuracy_gap(evidence, share_of_error=1.0) if gap is None and unresolved is None else None)
    if unfitted is not None:
        facts.update(unfitted_accuracy_gap=unfitted.gap, accuracy_gap_epoch=unfitted.epoch)
        confidence = max(confidence, min(NO_ONSET_CAP, GAP_CAP * unfitted.strength))
    # Class imbalance explains a rising val loss through the rare classes' samples only: the engine discounts
    # by it no more than the share of the rise they carry (a 2-sample class carried 0.087 of a 0.229 rise, and
    # imbalance had explained the whole overfit away).
    rare_share = _rare_share_of_rise(evidence, lowest, last)
    if rare_share is not None:
        facts["rare_share_of_rise"] = rare_share
        facts["explainable_share"] = {"class_imbalance_bias": rare_share}
    # On little data the other answer to overfitting is more of it: the learning curve tells whether it pays.
    # Stopping at the val-loss minimum where val accuracy rose clearly after it would cost right answers: the
    # epoch is then better chosen by val accuracy.
    stop = (book.monitor_accuracy() if accuracy_rose_after(evidence, lowest)
            else book.early_stopping(curves.val_loss))
    remedies = present(stop, book.dropout(), book.weight_decay(), book.smaller_hidden(), book.fewer_layers(),
                       book.more_data() if little_data(evidence.train_class_counts) else None)
    if gap is not None and GAP_CAP * gap.strength > confidence:
        # The gap at the best epoch is the finding: a rise after it (if any) is what early stopping or the end
        # of the run cut off. It says nothing about why the val loss fell under a flat accuracy, so it
        # explains no confidence refinement away.
        facts["explains_share"] = {"confidence_refinement": 0.0}
        facts["title"] = GAP_TITLE  # the val loss need not have turned up at all
        return Verdict("overfitting", clip(GAP_CAP * gap.strength), gap.sentence(evidence), facts,
                       remedies)
    if general.onset_epoch is None or lowest >= last:
        lowest_loss, final_loss = float(curves.val_loss[lowest - 1]), float(curves.val_loss[-1])
        if lowest < last and final_loss > lowest_loss and final_loss >= (1 + NOTABLE_RISE) * lowest_loss:
            # On a near-perfect model a rise of a thousandth of a nat is many per cent: say how little it is.
            tiny = (f" (only {final_loss - lowest_loss:.4f} nats)" if final_loss - lowest_loss < TINY_RISE_NATS
                    else "")
            # A val loss of exactly 0 (every answer certain in float32) has no per cent to rise by.
            higher = f"{pct(final_loss / lowest_loss - 1)} higher" if lowest_loss > 0 else "higher"
            summary = (f"{_val_loss(evidence)} was lowest at epoch {lowest} ({lowest_loss:.3f}) and ended at {final_loss:.3f}, "
                       f"{higher}{tiny}, but that is not a clear turn: "
                       + ((f"the train loss fell only {general.train_fall_after_best:.3f} after it, not clearly "
                           "beyond its own jitter" if general.train_fall_after_best > 0
                           # "Stopped falling" had been said of a train loss that rose 0.015 -> 0.295.
                           else f"the train loss rose after it too, by {-general.train_fall_after_best:.3f}"
                           if general.train_fall_after_best < 0
                           else "the train loss stopped falling too") if general.val_rose_clearly
                          else f"the val loss jitters from epoch to epoch by about {general.val_jitter:.3f}"))
        elif lowest >= last:
            # "Did not turn up clearly afterwards" had been said of a minimum at the last epoch, which has no after.
            summary = f"{_val_loss(evidence)} was lowest at the last epoch, {lowest} ({lowest_loss:.3f}): it never turned up"
        else:
            summary = (f"{_val_loss(evidence)} was lowest at epoch {lowest} ({lowest_loss:.3f}) and did not turn up "
                       "clearly afterwards")
        return Verdict("overfitting", clip(confidence),
                       summary + _unresolved_words(evidence, unresolved) + _unfitted_words(unfitted), facts, remedies)
    # A train loss that ended above its level at the val minimum rose in a late spike or bounce after falling
    # further: say where it got to, so that "rose" is not read as the model failing to fit (a run whose train
    # loss reached 0.00005 at epoch 146 read "train loss rose from 0.018 to 0.124" and nothing more).
    train_after = curves.train_loss[lowest - 1:]
    lowest_after = int(np.nanargmin(train_after)) + lowest if np.isfinite(train_after).any() else lowest
    dip = (f" (after falling to {curves.train_loss[lowest_after - 1]:.3g} at epoch {lowest_after})"
           if curves.train_loss[-1] > curves.train_loss[lowest - 1] and lowest_after not in (lowest, last) else "")
    summary = (f"{_val_loss(evidence)} was lowest at epoch {lowest} ({curves.val_loss[lowest - 1]:.3f}); by epoch {last} "
               f"{change('val loss', curves.val_loss[lowest - 1], curves.val_loss[-1])} while "
               f"{change('train loss', curves.train_loss[lowest - 1], curves.train_loss[-1])}{dip}; "
               f"{change('the gap', general.gap[lowest - 1], general.gap_at_end)}"
               # "So the delivered model is not overfitted" had been said of one at train 1.000 and val 0.600.
               + (_restored_words(evidence, lowest) if handled
                  else accuracy_cost_words(evidence, lowest, facts))
               + _unresolved_words(evidence, unresolved) + _unfitted_words(unfitted))
    # On long sequences a recurrent model whose val accuracy never beat the majority share memorised its training set
    # without reaching anything that carries over: regularising what it memorised cannot help (a 300-step LSTM at 98%
    # train, val at the majority share, had read overfitting 0.82 with "stop at epoch 1" first, where --bidirectional
    # reached val 1.000).
    reach = _reach_remedies(evidence, book)
    facts["never_above_baseline_on_long_sequences"] = bool(reach)
    if reach:
        summary += (f"; but val accuracy never beat the majority share, and on sequences of {evidence.sequence_length} "
                    "steps a recurrent layer read at its last step may memorise its training set without ever reaching "
                    "what carries over: try a model that can reach it first")
        remedies = present(*reach, *remedies)
    contradicted = facts.get("contradicted_val_ids")
    if contradicted:
        shown = ", ".join(str(sample) for sample in contradicted[:SHOWN])
        inspect = book.advice(
            "inspect_val_labels", f"look at the val samples it contradicts most surely ({shown}"
            f"{', ...' if len(contradicted) > SHOWN else ''}; in diagnosis.json): the rise in val loss is theirs, and "
            "if their labels are wrong, it measures those labels rather than the model")
        # First where the whole rise is theirs and accuracy held (trial 19: val labels shifted by one in 18 of 129
        # samples read overfitting 1.00 with this check sixth; the model gets 0.953 of the true val labels right).
        remedies = (present(inspect, *remedies) if facts.get("rise_all_in_val_errors")
                    else present(*remedies, inspect))
    return Verdict("overfitting", clip(confidence), summary, facts, remedies)


def _reach_remedies(evidence: RunEvidence, book: RemedyBook) -> tuple:
    """The LSTM-FCN switch and reading both directions, for a recurrent model on long sequences whose val accuracy
    was never significantly above the majority share (nor its val loss clearly below the prior's); () otherwise."""
    signal = evidence.signal
    if (not evidence.long_sequences or signal.p_value < signal.alpha or evidence.signal_best_p < signal.alpha
            or evidence.loss_clearly_below_prior):
        return ()
    return present(*book.reach_far())


def _val_loss(evidence: RunEvidence) -> str:
    """"val loss", or "the unweighted val loss" for a class-weighted run, whose best epoch its weighted loss chose (a
    run that delivered epoch 24 by its weighted val loss had read "val loss was lowest at epoch 37")."""
    return "the unweighted val loss" if evidence.objective is not None else "val loss"


def _unfitted_words(unfitted) -> str:
    """The sentence on a clear accuracy gap in a model that fits its training set poorly too ("" without one)."""
    if unfitted is None:
        return ""
    return (f"; at epoch {unfitted.epoch} the model got {unfitted.train_accuracy:.1%} of its training samples right "
            f"and {unfitted.val_accuracy:.1%} of val, a gap of {unfitted.gap:.3f} beyond its noise, but it gets "
            f"{1 - unfitted.train_accuracy:.1%} of its training samples wrong too, more than half its val error: it "
            "fits neither split well, and what it does fit carries over only in part")


def _unresolved_words(evidence: RunEvidence, unresolved) -> str:
    """The sentence on an accuracy gap beyond one standard error but not two ("" without one)."""
    if unresolved is None:
        return ""
    return (f"; at epoch {unresolved.epoch} the model got {unresolved.train_accuracy:.1%} of its training samples "
            f"right and {unresolved.val_accuracy:.1%} of val, a gap of {unresolved.gap:.3f} that is not clear on this "
            f"many samples (it needs {GAP_NOISE_MULTIPLE * gap_noise(evidence, unresolved.epoch):.3f}), so it cannot "
            "be said that the model generalises as well as it fits")


@dataclass(frozen=True)
class AccuracyGap:
    """Train and val accuracy at the val-loss minimum, their gap (fraction) and its strength in [0, 1]."""

    epoch: int
    train_accuracy: float
    val_accuracy: float
    gap: float
    strength: float

    def sentence(self, evidence: RunEvidence) -> str:
        """What the gap is and why no stopping epoch closes it."""
        restored = (evidence.patience is not None and evidence.delivered_epoch == self.epoch
                    and self.epoch < evidence.num_epochs)
        where = (f"early stopping restored epoch {self.epoch}, before the val loss turned up, but the model there "
                 "already got" if restored else f"at epoch {self.epoch}, the run's best, the model already got")
        return (f"{where} {self.train_accuracy:.1%} of its training samples right and only {self.val_accuracy:.1%} "
                f"of val: a gap of {self.gap:.3f} in accuracy, {self.gap / (1 - self.val_accuracy):.0%} of the val "
                "error, that no stopping epoch closes: it learned its training samples beyond what carries over "
                "to new ones")


def accuracy_gap(evidence: RunEvidence, noise_multiple: float = GAP_NOISE_MULTIPLE,
                 share_of_error: float = GAP_SHARE_OF_ERROR) -> AccuracyGap | None:
    """The train-val accuracy gap at the run's best epoch (and no smaller at the epoch it delivers) when it is
    clear: beyond ``noise_multiple`` standard errors, the train error at most ``share_of_error`` of the val error;
    else None."""
    curves = evidence.curves
    best, delivered = evidence.best_epoch, evidence.delivered_epoch
    gaps = [_clear_gap(evidence, epoch, noise_multiple, share_of_error) for epoch in sorted({best, delivered})]
    if any(gap is None for gap in gaps):
        return None
    train_accuracy, val_accuracy = float(curves.train_accuracy[best - 1]), float(curves.val_accuracy[best - 1])
    gap = min(gaps)
    strength = min(1.0, max(0.0, (gap - GAP_FLOOR) / (GAP_FULL - GAP_FLOOR)))
    return AccuracyGap(best, train_accuracy, val_accuracy, train_accuracy - val_accuracy, strength) \
        if strength > 0 else None


def _clear_gap(evidence: RunEvidence, epoch: int, noise_multiple: float, share_of_error: float) -> float | None:
    """Train minus val accuracy at ``epoch`` (fraction) when beyond ``noise_multiple`` standard errors, the train
    error at most ``share_of_error`` of the val error."""
    train_accuracy = float(evidence.curves.train_accuracy[epoch - 1])
    val_accuracy = float(evidence.curves.val_accuracy[epoch - 1])
    if not (np.isfinite(train_accuracy) and np.isfinite(val_accuracy)) or val_accuracy >= 1:
        return None
    gap = train_accuracy - val_accuracy
    if (gap < noise_multiple * gap_noise(evidence, epoch)
            or (1 - train_accuracy) > share_of_error * (1 - val_accuracy)):
        return None
    return gap


def gap_noise(evidence: RunEvidence, epoch: int) -> float:
    """Standard error (fraction) of train minus val accuracy at ``epoch``: binomial, both splits."""
    train_accuracy = float(evidence.curves.train_accuracy[epoch - 1])
    val_accuracy = float(evidence.curves.val_accuracy[epoch - 1])
    return math.hypot(accuracy_noise(train_accuracy, max(1, evidence.train_count)),
                      accuracy_noise(val_accuracy, max(1, evidence.val.num_samples)))


def _rare_share_of_rise(evidence: RunEvidence, lowest: int, last: int) -> float | None:
    """Share (0..1) of the val loss's rise from epoch ``lowest`` to ``last`` carried by the rare classes' samples
    (those seen in both epochs); None without rare classes or without a rise."""
    rare = evidence.rare_classes
    if not rare or last <= lowest:
        return None
    val = evidence.val
    both = val.seen[lowest - 1] & val.seen[last - 1]
    if not both.any():
        return None
    change = (val.loss[last - 1] - val.loss[lowest - 1])[both]
    total = float(change.sum())
    if not total > 0:
        return None
    in_rare = np.isin(val.labels[both], rare)
    return float(min(1.0, max(0.0, change[in_rare].sum() / total)))


CAUSE = Cause(
    code="overfitting",
    title="train loss keeps falling while val loss turns up after its minimum",
    rule=rule,
    explains=("confidence_refinement",),
)
