"""confidence_refinement: an explanation of the curves, not a fault.

Accuracy is flat within its noise while the loss falls, the fall coming from samples that do not change
class: right answers grow more confident, wrong ones move toward the right class without crossing the
boundary (the article's 30% -> 49% case). It is only claimed when accuracy has room to rise (a run at 100%
val accuracy has nothing left to plateau below) and never from the first epochs of learning.
"""

from __future__ import annotations

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.cause import Cause
from lossgap.diagnosis.causes.underfitting_stopped import far_from_fitting
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import REPORT_THRESHOLD, Verdict
from lossgap.diagnosis.wording import clip, pct

#: A plateau may not start at the first epoch (a fresh network is learning, not refining) ...
EARLIEST_START = 2
#: ... nor lie wholly within the first epochs: five epochs of a new run's fall say nothing about a plateau.
EARLIEST_END = 8
#: Noise units (standard errors) of train accuracy by which it must rise over the window for a model far from fitting
#: to count as still learning its training set.
TRAIN_RISE_NOISE = 2.0
#: ... and by at least this much (on a training set of thousands, two standard errors are a drift of a percent).
TRAIN_RISE_MIN = 0.02
#: Share of the fall from wrong samples moving closer to their class from which the sentence names them.
CLOSER_NAMED = 0.1


def rule(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """The noise-aware plateau and its loss ledger: how much of the loss fall came from unchanged samples."""
    plateau, ledger = evidence.main_plateau, evidence.ledger
    split = "val"
    if plateau is None or ledger is None or ledger.start_epoch != plateau.start_epoch:
        return Verdict("confidence_refinement", 0.0,
                       f"no window where {split} accuracy stays within its noise while the loss falls",
                       {"plateaus": [p.to_dict() for p in evidence.plateaus.get("val", ())]})
    shares = {group.name: group.loss_change for group in ledger.groups}
    # The refining groups' share of everything that lowered the loss, not of the net fall: when samples crossing
    # from wrong to right lowered it more than the already-right ones did while others pushed it back up, the
    # already-right can exceed the net fall without being the story (a run whose ledger read "149% came from
    # samples that changed from wrong to right" had been told "they only grew more confident").
    lowered = -sum(change for change in shares.values() if change < 0)
    refining = -(min(shares["stayed_correct"], 0.0) + min(shares["stayed_wrong_closer"], 0.0))
    refined = refining / lowered if ledger.loss_change < 0 and lowered > 0 else 0.0
    length = plateau.end_epoch - plateau.start_epoch + 1
    onset = evidence.generalization.onset_epoch
    # Epochs of the plateau after overfitting set in are memorisation, not refinement.
    overlap = 0.0 if onset is None else max(0, plateau.end_epoch - max(onset, plateau.start_epoch)) / length
    headroom = clip((1.0 - plateau.accuracy_mean - 2 * plateau.accuracy_noise) / 0.05)
    # The plateau must be where the run ends up (it reaches the best epoch): a stall on the way to a model
    # that later learned more is not what the curves end on.
    # "Learned more" is judged on accuracy: a best epoch chosen later by val loss whose accuracy lies within the
    # plateau's noise is more of the same refinement (an LSTM on a task with 30% unknowable labels, val accuracy
    # 0.713 over epochs 19-40 and 0.728 at its loss-best epoch 50, had its refinement rejected as "a stall on
    # the way").
    best_accuracy = float(evidence.curves.val_accuracy[evidence.best_epoch - 1])
    learned_more = (plateau.end_epoch < evidence.best_epoch - 2
                    and not best_accuracy <= plateau.accuracy_mean + plateau.accuracy_noise)
    early = plateau.start_epoch < EARLIEST_START or plateau.end_epoch < EARLIEST_END or learned_more
    # A model far from fitting its training set that gets more of it right over the window is learning there, and
    # what val does meanwhile is no refinement (trial 33: a plain LSTM on PickupGestureWiimoteZ, train 0.33 -> 0.55
    # over the window and its loss still falling fast, val at 0.2 on 10 samples, had read refinement 0.82 "nothing is
    # broken"). A model at its ceiling, unsure answers growing surer while train accuracy stays level, still refines.
    train_rise = _train_accuracy_rise(evidence, plateau.start_epoch, plateau.end_epoch)
    learning_train = (not early and train_rise is not None and far_from_fitting(evidence)[0]
                      and train_rise[0] > max(TRAIN_RISE_NOISE * train_rise[1], TRAIN_RISE_MIN))
    confidence = (0.0 if early or learning_train
                  else clip(refined) * (1.0 - overlap) * clip(0.5 + length / 20) * headroom)
    already_right = ledger.group("stayed_correct")
    if already_right.share > 1:
        source = (f"the {already_right.count} samples that were already right lowered it by "
                  f"{-already_right.loss_change:.3f}, more than the whole fall (others pushed it up)")
    else:
        source = (f"{pct(clip(already_right.share))} of the fall came from {already_right.count} samples that were "
                  "already right")
    # Wrong samples moving toward their class without crossing refine too: name them when they carry the fall
    # (a random-label run had read "0% of the fall came from 23 samples that were already right: they only grew
    # more confident", its fall all from wrong samples moving closer).
    closer = ledger.group("stayed_wrong_closer")
    closer_named = closer.count > 0 and closer.share >= CLOSER_NAMED
    if closer_named:
        source += (f", and {pct(clip(closer.share))} from {closer.count} wrong ones moving toward their true class "
                   "without crossing over")
    # Float noise in the mean of equal values (0.9125 x 41 -> 0.91250000000000002) must not round otherwise
    # than the values themselves do in the tables.
    level = round(plateau.accuracy_mean, 12)
    raw = evidence.curves.val_accuracy[plateau.start_epoch - 1:plateau.end_epoch]
    low, high = float(np.nanmin(raw)), float(np.nanmax(raw))
    # The band is judged on a 3-epoch median; single epochs outside it are shown, so "stayed" is never hidden.
    spread = (f"; single epochs ranged {low:.3f}-{high:.3f}, judged on their 3-epoch median"
              if low < level - plateau.accuracy_noise or high > level + plateau.accuracy_noise else "")
    facts = {"plateau": plateau.to_dict(), "ledger": ledger.to_dict(), "refined_share": refined,
             "overlap_with_overfitting": overlap, "headroom": headroom, "starts_too_early": early}
    # "On average": the level is the window's mean, which 8 val samples cannot hit in any single epoch.
    summary = (f"{split} accuracy stayed at {level:.3f} on average (within its noise of "
               f"+-{plateau.accuracy_noise:.3f}{spread}) from epoch {plateau.start_epoch} to {plateau.end_epoch} while "
               f"{split} loss fell {-plateau.loss_change:.3f} ({pct(-plateau.loss_change / plateau.loss_start)}); "
               f"{source}")
    if confidence >= REPORT_THRESHOLD:
        summary += (": the fall came from answers that did not change class" if closer_named
                    else ": they only grew more confident")
    else:
        # A rejected explanation says why it does not hold here, not only what it looked at.
        factors = {"refined": clip(refined), "overlap": 1.0 - overlap, "length": clip(0.5 + length / 20),
                   "headroom": headroom}
        reason = "early" if early else "learning_train" if learning_train else min(factors, key=factors.get)
        facts_reason = {
            "early": ("but that window starts at the first epoch, where a fresh network is learning, not refining"
                      if plateau.start_epoch < EARLIEST_START else
                      f"but that window ends by epoch {plateau.end_epoch}, within the first epochs of learning"
                      if plateau.end_epoch < EARLIEST_END else
                      f"but the run learned more after it (its best epoch is {evidence.best_epoch}): a stall on the "
                      "way, not where the curves end"),
            "learning_train": (f"but the model is far from fitting its training set and got more of it right "
                               f"meanwhile (train accuracy {train_rise[0]:+.3f}, beyond its noise of "
                               f"+-{train_rise[1]:.3f}): it is still learning, not refining" if learning_train else ""),
            "refined": ("but most of the fall came from samples that changed class, not from answers growing more "
                        "confident"),
            "overlap": (f"but the window lies after overfitting set in (epoch {onset}): memorisation, not refinement"),
            "length": f"but the window is only {length} epochs long",
            "headroom": (f"but val accuracy {level:.3f} has no room to rise beyond its noise: there is nothing to "
                         "plateau below" if level + plateau.accuracy_noise >= 0.99 else
                         f"but with {evidence.val.num_samples} val samples its noise (+-{plateau.accuracy_noise:.3f}) "
                         f"leaves val accuracy {level:.3f} no room to show a rise: a plateau cannot be told from noise "
                         "here"),
        }
        summary += "; " + facts_reason[reason]
        facts["rejected_because"] = reason
    remedies = present(book.monitor_accuracy(),
                       book.advice("nothing_to_fix", "nothing is broken: the falling loss is confidence; more accuracy "
                                   "needs more informative inputs, more data or a different model"))
    return Verdict("confidence_refinement", confidence, summary, facts, remedies)


def _train_accuracy_rise(evidence: RunEvidence, start: int, end: int) -> tuple[float, float] | None:
    """(rise, noise) of train accuracy over epochs ``start``..``end`` (1-based): the median of the window's last 3
    epochs minus that of its first 3, and one standard error of train accuracy at their mean level; None without
    train records or with a window under 4 epochs."""
    accuracy = evidence.curves.train_accuracy[start - 1:end]
    if evidence.train is None or accuracy.size < 4 or not np.isfinite(accuracy).all():
        return None
    first, last = float(np.median(accuracy[:3])), float(np.median(accuracy[-3:]))
    return last - first, float(accuracy_noise((first + last) / 2, evidence.train.num_samples))


CAUSE = Cause(
    code="confidence_refinement",
    title="loss falls because right answers grow more confident, not because more are right",
    rule=rule,
    kind="explanation",
)
