"""Doubts that keep class_imbalance_bias low where a rare class's shortfall has another likely cause."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

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
