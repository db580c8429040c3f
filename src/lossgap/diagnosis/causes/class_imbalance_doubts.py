"""Doubts that keep class_imbalance_bias low where a rare class's shortfall has another likely cause (few samples of every
class; a class-weighted run whose balanced accuracy is still rising)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import Verdict

#: Where the frequent classes themselves hold a median of FEW_PER_CLASS training samples or fewer, every class has
#: little data, and the rare classes' shortfall is as much that as a lean on the others: class_imbalance_bias stays at
#: most FEW_PER_CLASS_CAP and the learning curve comes first (trial 32: 40 training samples for 9 classes, 2 for each
#: of the two rare ones and about 4.5 for the rest, read imbalance 1.00 with class weights first; val accuracy 0.698
#: and balanced accuracy 0.700, every class short of its perfect train fit, and the full training set gained 0.16).
FEW_PER_CLASS, FEW_PER_CLASS_CAP = 10, 0.6
#: Noise units a weighted run's balanced val accuracy must rise by over its tail to count as still rising.
RISING_NOISE = 2.0


def few_of_every_class(evidence: RunEvidence, book: RemedyBook, verdict: Verdict) -> Verdict:
    """``verdict`` at most FEW_PER_CLASS_CAP, the learning curve first, when every class has few training samples (see
    FEW_PER_CLASS); unchanged otherwise."""
    counts = np.asarray(evidence.train_class_counts)
    rare = set(evidence.rare_classes)
    frequent = [int(counts[c]) for c in range(counts.size) if c not in rare and counts[c] > 0]
    if not frequent or np.median(frequent) > FEW_PER_CLASS or verdict.confidence <= FEW_PER_CLASS_CAP:
        return verdict
    return replace(verdict, confidence=FEW_PER_CLASS_CAP, remedies=present(book.more_data(), *verdict.remedies),
                   summary=verdict.summary + f"; but the other classes have few training samples too (a median of "
                   f"{np.median(frequent):g}): with so little of every class, the rare ones' shortfall may be the "
                   "data's size as much as its balance, and a learning curve tells",
                   evidence={**verdict.evidence, "few_of_every_class": float(np.median(frequent))})


def weighted_rare_still_rising(evidence: RunEvidence, rare: list[int]) -> tuple[int, float, float] | None:
    """For a class-weighted run: (epoch, balanced val accuracy then, at the last epoch) when its balanced val accuracy
    rose over the run's last trend_tail epochs by more than RISING_NOISE noise units of the rare classes' share of it
    and ended within one unit of its best, else None. Trial 25: a 10:1 weighted run at Adam 5e-4, balanced accuracy
    0.46 at epoch 31 and 0.61 at its last, 40, read imbalance 1.00 with "collect more rare samples"; 120 epochs of the
    same command reached a balanced test accuracy of 0.937."""
    if evidence.objective is None or not rare:
        return None
    per_class = evidence.val_per_class
    balanced = per_class.balanced_accuracy
    start = max(0, evidence.num_epochs - evidence.trend_tail)
    if evidence.num_epochs - start < 3 or not np.isfinite(balanced[[start, -1]]).all():
        return None
    present_classes = int((per_class.support > 0).sum())
    # Each rare class's recall noise, as its share of balanced accuracy (a mean over the present classes).
    noise = sum(accuracy_noise(np.nan_to_num(per_class.recall[start, c]), int(per_class.support[c]))
                for c in rare if per_class.support[c] > 0) / max(1, present_classes)
    rise = float(balanced[-1] - balanced[start])
    if rise <= RISING_NOISE * noise or balanced[-1] < np.nanmax(balanced) - noise:
        return None
    return start + 1, float(balanced[start]), float(balanced[-1])
