"""overfitting where val never showed anything the model learned: a model that fitted little has little to overfit, and
one that fitted train draws the curves labels without signal draw, unless its first training pass showed the labels
carry signal, when val itself differs from train."""

from __future__ import annotations

from dataclasses import replace

from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import fitted_little, val_could_show, val_showed_learning
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import Verdict
from lossgap.diagnosis.wording import pct

#: Highest confidence when nothing learned ever showed on val and the model fitted little of train (see
#: nothing_learned_shown): considered.
LEARNED_LITTLE_CAP = 0.45
#: Highest confidence when nothing learned ever showed on val while the model fitted train (see nothing_learned_shown):
#: memorising labels without signal draws the same curves. Over trials 22-30 such runs were overfitting by construction
#: 5 times and random labels 6 times, all read overfitting 0.73-0.82. No signal's doubt (0.45 on a small val) then
#: leaves about 0.53, still named, since stopping early is right in one case and harmless in the other.
SIGNAL_UNSHOWN_CAP = 0.65
#: The remedies of a model that may not reach over long sequences (RemedyBook.reach_far), kept together.
REACH_NAMES = ("switch_model", "bidirectional")


def nothing_learned_shown(evidence: RunEvidence, book: RemedyBook, verdict: Verdict) -> Verdict:
    """``verdict`` capped when nothing the model learned ever showed on val (no epoch's accuracy, balanced accuracy or
    loss beat the constant answer): at LEARNED_LITTLE_CAP when it fitted little of its training set too
    (learning_state.fitted_little), since a model that learned so little has little to overfit (ItalyPowerDemand with
    shuffled labels, train 0.588 at best, had read overfitting 0.54 with early stopping first); at SIGNAL_UNSHOWN_CAP
    when it fitted train, since a model memorising labels that carry no signal draws the same curves (trial 29's random
    labels on 39 and 60 val samples read overfitting 0.77 and 0.79), with a permuted-label control offered to tell them
    apart; at LEARNED_LITTLE_CAP, val's preparation checked first, when the first training pass predicted train above
    chance (learning_state.first_pass_lead): the labels carry signal, so a val that never showed any differs from
    train."""
    if val_showed_learning(evidence):
        return verdict
    way = fitted_little(evidence)
    if way is not None:
        if verdict.confidence <= LEARNED_LITTLE_CAP:
            return verdict
        return replace(verdict, confidence=LEARNED_LITTLE_CAP,
                       summary=verdict.summary + f"; but val never showed anything learned, and the model got only "
                       f"{pct(way)} of the way from a constant answer to all right on its training set: a model that "
                       "learned so little has little to overfit",
                       evidence={**verdict.evidence, "learned_little_anywhere": True})
    if evidence.first_pass_lead is not None:
        # The labels carry signal (the model predicted train above chance before it trained on it): on a val too small
        # to show it, that answers the doubt below; on one that could have, val itself differs from train.
        if not val_could_show(evidence) or verdict.confidence <= LEARNED_LITTLE_CAP:
            return verdict
        return replace(verdict, confidence=LEARNED_LITTLE_CAP,
                       remedies=present(book.check_val_inputs(), *verdict.remedies),
                       summary=verdict.summary + "; but val never showed anything learned although the model predicted "
                       "its training samples above chance in its first epoch, before it had trained on them: the "
                       "labels carry signal, so val differs from train, and its figures measure that difference",
                       evidence={**verdict.evidence, "signal_unshown": True, "first_pass_lead": True})
    if verdict.confidence <= SIGNAL_UNSHOWN_CAP:
        return verdict
    check = None if evidence.control is not None else book.permuted_control(
        "to see whether the labels carry signal: a model memorising labels that carry none draws these curves too")
    # Second, after the first fix; on long sequences after the models that reach further, which come first as a pair.
    names = [remedy.name for remedy in verdict.remedies]
    lead = next((index for index, name in enumerate(names) if name not in REACH_NAMES), len(names)) or 1
    remedies = present(*verdict.remedies[:lead], check, *verdict.remedies[lead:])
    return replace(verdict, confidence=SIGNAL_UNSHOWN_CAP, remedies=remedies,
                   summary=verdict.summary + "; but val never showed anything learned (no epoch's accuracy "
                   "significantly above the constant answer's, nor its loss clearly below the prior's), so what the "
                   "model memorised may be labels that carry no signal: this run cannot tell the two apart",
                   evidence={**verdict.evidence, "signal_unshown": True})
