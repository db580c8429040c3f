"""When label_noise cannot be judged yet (a model that has not fitted, or not finished learning, its training set), and
the doubts that lower it after its routes have spoken (see :mod:`lossgap.diagnosis.causes.label_noise`): a one-way
pair the model lumped together early and has told apart since, and a val whose inputs look unlike train's. Each doubt
takes the rule's verdict and returns it capped, with its own sentence and remedies."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lossgap.diagnosis.causes.label_noise_measures import pair_learned_late
from lossgap.diagnosis.causes.underfitting_wording import FAR_FROM_FIT
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import SHORT_RUN, ended_by_early_stopping, suspects_memorised_late
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.split_checks import val_inputs_differ
from lossgap.diagnosis.verdict import Verdict
from lossgap.diagnosis.wording import clip, pct, share_below_prior

#: Highest confidence when the suspects' one-way pair was learned late (see learned_late_doubt): trial 15's own loops
#: on clean labels, a pair of classes told apart at epoch 25 of 30, read label noise 0.50 with "check ... relabel"
#: first, and trial 12's class drawn near another (labels clean) 0.65-0.67; no suite noise run lumps a pair so.
LEARNED_LATE_CAP = 0.3
#: Highest confidence when val's inputs look unlike train's (:func:`lossgap.diagnosis.split_checks.val_inputs_differ`):
#: considered, not found.
VAL_INPUTS_CAP = 0.45
#: Highest confidence in a run of fewer than SHORT_RUN planned epochs (see short_run_doubt): considered, not found.
SHORT_RUN_CAP = 0.45


def not_yet_judgeable(evidence: RunEvidence, learned_task: bool) -> Verdict | None:
    """label_noise at 0.0 with the reason, when the model has not fitted its training set or is still learning it, so
    samples it has not learned yet look contradicted whatever their labels; None when the labels can be judged. Never
    where the val labels side with the model (``learned_task``): heavy noise is then itself what keeps train from
    fitting."""
    if learned_task:
        return None
    fit = evidence.fit
    # A class-weighted run fitted what it minimised, or nothing: weighting keeps its plain loss above the shares'.
    if not evidence.objective_fit.train_moved:
        return Verdict("label_noise", 0.0, "the model never fitted its training set, so it cannot contradict any "
                       "label: label noise cannot be judged until it does", {"train_fitted": False})
    if evidence.early_learning:
        return Verdict("label_noise", 0.0, f"the model is still early in learning (train loss "
                       f"{share_below_prior(fit.moved_share)}, the val loss still setting new lows): samples it has not "
                       "learned yet look contradicted whatever their labels, so label noise can be judged once it fits",
                       {"train_fitted": False, "early_learning": True})
    if evidence.still_learning:
        return Verdict("label_noise", 0.0, "the run ended while the model was still learning (its lowest val loss at "
                       f"epoch {evidence.val_loss_min_epoch} of {evidence.num_epochs}, train loss and accuracy still "
                       "improving): samples it is learning now were predicted as other classes until now whatever "
                       "their labels, so label noise can be judged once it has settled",
                       {"still_learning": True})
    # A run of a handful of planned epochs that ended far from fitting its training set had not learned much of it yet,
    # however jittery its last epochs (trial 23: 8 epochs on an 8-class frequency task, train accuracy 0.30 -> 0.78,
    # read label noise 0.55 with 356 suspects and no label flipped; 24 epochs reach test 0.815 against 0.734).
    train_error = 1.0 - float(evidence.curves.train_accuracy[evidence.delivered_epoch - 1])
    if evidence.num_epochs < SHORT_RUN and train_error >= FAR_FROM_FIT and not ended_by_early_stopping(evidence):
        return Verdict("label_noise", 0.0, f"the run ended after {evidence.num_epochs} epochs with the model "
                       f"{pct(train_error)} wrong on its training set: samples it has not learned yet look contradicted "
                       "whatever their labels, so label noise can be judged once it has trained longer",
                       {"short_run": True})
    return None


def learned_late_doubt(evidence: RunEvidence, book: RemedyBook, verdict: Verdict) -> Verdict:
    """``verdict`` at most LEARNED_LATE_CAP when it stands on a one-way pair the val labels do not confirm, which the
    model lumped together early and has told apart by the judged epoch, on val as on train
    (label_noise_measures.pair_learned_late)."""
    pair = verdict.evidence.get("one_way_pair")
    # Only where the pair carries the verdict and val does not side with the model (pair_unconfirmed_by_val).
    if pair is None or verdict.confidence <= LEARNED_LATE_CAP or not verdict.evidence.get("pair_unconfirmed_by_val"):
        return verdict
    late = pair_learned_late(evidence.train, evidence.val, pair, evidence.judged_epoch)
    if late is None:
        return verdict
    given, rival = (evidence.class_label(cls) for cls in pair)
    summary = (f"{verdict.evidence['suspect_count']} training samples are predicted as another class for most of "
               f"training, most of them labelled class {given} and taken for class {rival}; but the model put "
               f"{pct(late['train_share'])} of class {given}'s training samples in class {rival} at epoch {late['epoch']} "
               f"and had told the two apart by epoch {evidence.judged_epoch} ({pct(late['train_left'])} of train and "
               f"{pct(late['val_left'])} of val left so): a pair of classes learned late, not labels the model "
               "contradicts (moved labels stay confused on a split they are in, and are memorised only after the "
               "val-loss minimum)")
    shown = ", ".join(str(sample) for sample in verdict.evidence["top_suspects"][:5])
    return replace(verdict, confidence=LEARNED_LATE_CAP, summary=summary,
                   evidence={**verdict.evidence, "pair_learned_late": late},
                   remedies=present(book.advice("inspect_suspects", f"look at the most contradicted samples ({shown}, "
                                                                    "...; all in diagnosis.json)")))


def val_inputs_doubt(evidence: RunEvidence, book: RemedyBook, verdict: Verdict) -> Verdict:
    """``verdict`` at most VAL_INPUTS_CAP, the val check first, when val's inputs look unlike train's."""
    words = val_inputs_differ(evidence)
    if not words or verdict.confidence <= 0:
        return verdict
    # The suspects' window ends at the val-loss minimum, which a val unlike train sets early: clean samples the model
    # learns late look contradicted then (four level classes, val left unscaled, read label noise 0.57 on 6 samples
    # of two neighbouring levels; with val prepared as train the same weights read "No problem found").
    return replace(verdict, confidence=min(verdict.confidence, VAL_INPUTS_CAP),
                   remedies=(book.check_val_inputs(), *verdict.remedies),
                   summary=verdict.summary + f"; but val's inputs look unlike train's ({words}), and the suspects are "
                   "read up to the val-loss minimum, which such a val sets: judge them again once val is prepared as "
                   "train", evidence={**verdict.evidence, "val_inputs_differ": True})


def short_run_doubt(evidence: RunEvidence, book: RemedyBook, verdict: Verdict) -> Verdict:
    """``verdict`` at most SHORT_RUN_CAP, with training longer first, for a run of fewer than SHORT_RUN planned epochs
    that early stopping did not end, where the val labels do not side with the model: "contradicted for most of
    training" is then a few epochs, and samples a model learns late look contradicted whatever their labels (trial
    23's sum-sign task stopped at epoch 8, no label flipped, read label noise 0.60; its control learns to epoch 15-30).
    The far-from-fitting case is not judged at all (:func:`not_yet_judgeable`)."""
    if (verdict.confidence <= SHORT_RUN_CAP or evidence.num_epochs >= SHORT_RUN or ended_by_early_stopping(evidence)
            or verdict.evidence.get("val_sides_with_model")):
        return verdict
    return replace(verdict, confidence=SHORT_RUN_CAP,
                   remedies=present(book.more_epochs(evidence.num_epochs), *verdict.remedies),
                   summary=verdict.summary + f"; but the run ended after {evidence.num_epochs} planned epochs, so "
                   "\"most of training\" is a few of them and samples learned late look contradicted whatever their "
                   "labels: judge them again after training longer",
                   evidence={**verdict.evidence, "short_run": True})


def undecided_words(count: int, fraction: float, depth: float, too_few: bool, memorised_late: float) -> str:
    """The sentence of a label_noise verdict below 0.5 with ``count`` suspects (``fraction`` of train): why the
    dynamics cannot tell their labels from hard samples (too few of them, or a model not decisively against them:
    ``depth`` is its margin against them relative to its margin for the rest, 1 = as sure against them as for the
    rest), and the share of them it memorised after the val-loss minimum (``memorised_late``, named from a half)."""
    words = f"{count} training samples ({pct(fraction)}) are predicted as another class for most of training"
    if too_few:
        words += ", too few to tell wrong labels from a few hard samples"
    elif depth <= 0:
        words += (", but over the epochs in which the model fitted the rest of their classes it was not against them on "
                  "balance, so the dynamics cannot tell wrong labels from hard samples")
    else:
        # "So they read as hard samples" had been said of suspects that were nearly all flipped labels (trial 23:
        # 11 of 11 and 25 of 28, memorised later in runs without early stopping): the dynamics say neither.
        words += (f", but not decisively: the model's margin against their labels was {depth:.2f} of its margin for "
                  "the rest of their classes (a sample it takes for a clear member of another class gives about 1), "
                  "so the dynamics cannot tell wrong labels from hard samples")
    if memorised_late >= 0.5:
        words += (f"; it memorised {pct(memorised_late)} of them after the val-loss minimum, as a model memorises wrong "
                  "labels and hard samples alike: if the labels may be wrong, look at them")
    return words


#: Highest confidence of one-way pairs that chain where the val labels do not side with the model: considered (trial
#: 30: a 5-class sum-sign LSTM-FCN, no label flipped, took class 2 for 1, 1 for 0 and 3 for 4 and read 0.60; trial 27's
#: clean xcorr run at 10x Adam's rate read 0.60 the same way).
CHAIN_CAP = 0.45


def chain_doubt(verdict: Verdict) -> Verdict:
    """``verdict`` at most CHAIN_CAP, after every other doubt, when its one-way pairs chain (C's taken for B and B's for
    A) and the val labels do not side with the model: what a model short of its thresholds on ordered classes gives."""
    if not verdict.evidence.get("chained_pairs") or verdict.confidence <= CHAIN_CAP:
        return verdict
    return replace(verdict, confidence=CHAIN_CAP,
                   summary=verdict.summary + "; but its one-way pairs chain (one class taken for the next, that one for "
                   "the one after), as a model whose thresholds on ordered classes are still off confuses them with "
                   "clean labels, and the val labels do not side with it: a consideration, not a finding")


def late_told_words(wrong, epoch: int, val_accuracy: float, singled: int) -> str:
    """The sentence of label_noise's late-told route: ``wrong`` (label_noise_measures.WrongAtJudged) at the judged
    ``epoch``, where val accuracy was ``val_accuracy``, of which the suspects' margins single out ``singled``."""
    singled_words = (f"so their margins over training single out only {singled} of them" if singled
                     else "so their margins over training single out none of them")
    return (f"{wrong.count} training samples ({pct(wrong.share)} of those seen) are predicted as another class at "
            f"epoch {epoch}, where val accuracy is {val_accuracy:.3f}; most of them were predicted as their labels in "
            "most epochs before, while the model had not yet told their class from the one it now gives them, "
            + singled_words)


def undecided_summary(evidence: RunEvidence, depth: float, *, too_few: bool, strong: bool, evaluation_jumps: bool,
                      records_only: bool, crowded: bool, constraint: str) -> str:
    """The sentence of a label_noise verdict below 0.5: the suspects' count and why they are no finding (see
    :func:`undecided_words`; ``too_few`` suspects to count fully), or, where a route was ``strong`` (0.5 or more)
    before a cap, the cap's reason: an evaluated model that jumps, train records that bounce, a ``crowded`` split, or
    the settings' ``constraint``."""
    suspects = evidence.suspects
    count, fraction = len(suspects.indices), suspects.fraction
    summary = undecided_words(count, fraction, depth, too_few, suspects_memorised_late(evidence))
    if not count:
        summary = "no training sample is contradicted while the model fits the rest of its class"
    if suspects.unjudged_contradicted:
        # Contradicted samples of classes the model does not fit are not suspects: say so, not "0 samples".
        names = ", ".join(evidence.class_label(c) for c in suspects.unjudged_classes)
        summary += (f"; {suspects.unjudged_contradicted} samples of class(es) {names}, which the model does not "
                    "fit, are contradicted too, but the dynamics cannot tell their wrong labels from a class "
                    "the model cannot represent")
    lead = f"{count} training samples ({pct(fraction)}) are predicted as another class for most of training"
    if evaluation_jumps and strong:
        summary = (f"{lead}, but by a model whose end-of-epoch evaluation jumps while its training loss falls smoothly "
                   "(batch norm's statistics lag its weights): they are that jumping model's answers, so judge the "
                   "labels again once the statistics are recomputed (--ema 0)")
    if records_only and strong:
        summary = (f"{lead}, but in train records that bounce while the val loss falls smoothly far below them: "
                   "records taken on mixed or augmented inputs (mixup) or in training mode, which say nothing about "
                   "the labels")
    if crowded:
        summary = (f"{lead} while the model fits the rest of their classes, but so many, with val accuracy no higher "
                   "than train's, are also what classes whose inputs overlap give (a task at its ceiling): check a few "
                   "of them before reading them as wrong labels")
    if constraint:
        summary = (f"{lead}, but the model is held back ({constraint}): a model this constrained contradicts groups "
                   "of samples it cannot represent, so label noise can be judged only once a larger or freer model "
                   "also contradicts them")
    return summary


def marginal_pair_words(given: str, rival: str, share: float, reverse: float, p_value: float) -> str:
    """The clause of a one-way pair short of the 5% level (label_noise's marginal_pair): ``share`` of the suspects
    labelled ``given`` and predicted ``rival``, ``reverse`` as many the other way, at sign-test ``p_value``."""
    return (f"; {pct(share)} of them are labelled class {given} and predicted as class {rival} ({reverse:.2f} as many "
            f"the other way), but chance gives that lean one time in {max(2, round(1 / max(p_value, 1e-9)))} and val "
            "does not side with the model: a reason to look, not a finding")


def memorised_share(evidence: RunEvidence) -> float:
    """0..1: suspects learned late and val accuracy declining from its peak (label noise hurting)."""
    curves = evidence.curves
    decline = float(np.nanmax(curves.val_accuracy) - curves.val_accuracy[-1])
    late = suspects_memorised_late(evidence)
    return 0.5 * clip(late / 0.5) + 0.5 * clip(decline / (2 * evidence.val_noise))

