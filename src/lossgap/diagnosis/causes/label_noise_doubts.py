"""Doubts that lower label_noise after its routes have spoken (see :mod:`lossgap.diagnosis.causes.label_noise`): a one-way
pair the model lumped together early and has told apart since, and a val whose inputs look unlike train's. Each takes
the rule's verdict and returns it capped, with its own sentence and remedies."""

from __future__ import annotations

from dataclasses import replace

from lossgap.diagnosis.causes.label_noise_measures import pair_learned_late
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.split_checks import val_inputs_differ
from lossgap.diagnosis.verdict import Verdict
from lossgap.diagnosis.wording import pct

#: Highest confidence when the suspects' one-way pair was learned late (see learned_late_doubt): trial 15's own loops
#: on clean labels, a pair of classes told apart at epoch 25 of 30, read label noise 0.50 with "check ... relabel"
#: first, and trial 12's class drawn near another (labels clean) 0.65-0.67; no suite noise run lumps a pair so.
LEARNED_LATE_CAP = 0.3
#: Highest confidence when val's inputs look unlike train's (:func:`lossgap.diagnosis.split_checks.val_inputs_differ`):
#: considered, not found.
VAL_INPUTS_CAP = 0.45


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
