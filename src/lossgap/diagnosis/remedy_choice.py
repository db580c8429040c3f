"""Which remedies a diagnosis gives: none that repeats or contradicts one of a higher-ranked verdict, and the
learning curve where a plateau on little data is all that is left to explain."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import MORE_DATA, Remedy, little_data
from lossgap.diagnosis.verdict import Verdict

#: Remedies that move one quantity, with their direction: more dropout or weight decay regularises more,
#: less_regularisation less (a field-by-field check misses "add dropout" against "lower the weight decay"); and
#: by name, since an own loop's remedies carry no config changes to compare (a Lightning run had been told to grow
#: the hidden size 32 -> 128 and to shrink it 32 -> 16, and to train longer and to stop at epoch 1).
QUANTITY_DIRECTION = {"dropout": ("regularisation", 1), "weight_decay": ("regularisation", 1),
                      "less_regularisation": ("regularisation", -1),
                      "larger_hidden": ("width", 1), "smaller_hidden": ("width", -1),
                      "higher_lr": ("learning rate", 1), "lower_lr": ("learning rate", -1),
                      "more_epochs": ("training length", 1), "early_stopping": ("training length", -1)}


def consistent_remedies(findings, explanations, considered, book: RemedyBook):
    """Drop remedies that repeat or contradict one given for a higher-ranked verdict (grow and shrink the
    hidden size; regularise more and less); findings first, then explanations, then the causes only
    considered."""
    kept: dict[str, object] = {}
    seen: set[str] = set()
    moved: set[tuple[str, int]] = set()

    def keep(remedy: Remedy) -> bool:
        if remedy.name in seen:
            return False
        for path, value in remedy.changes.items():
            if path in kept and _direction(book, path, kept[path]) != _direction(book, path, value):
                return False
        quantity = QUANTITY_DIRECTION.get(remedy.name)
        if quantity is not None and (quantity[0], -quantity[1]) in moved:
            return False
        seen.add(remedy.name)
        kept.update(remedy.changes)
        if quantity is not None:
            moved.add(quantity)
        return True

    out = []
    for group in (findings, explanations, considered):
        out.append([replace(v, remedies=tuple(r for r in v.remedies if keep(r))) for v in group])
    return out


def offer_more_data(findings: list[Verdict], explanations: list[Verdict], evidence: RunEvidence,
                     book: RemedyBook) -> list[Verdict]:
    """The explanations, the first one also offering the learning curve (more_data) when the run's val
    accuracy plateaued on little data and no fault was found: with nothing to fix, whether more data would
    lift the plateau is the question left, and the curve answers it. (A fault's own remedies come first;
    overfitting offers the curve itself.)"""
    if findings or not explanations or not evidence.plateaus.get("val") \
            or not little_data(evidence.train_class_counts):
        return explanations
    first = explanations[0]
    if any(remedy.name == MORE_DATA for remedy in first.remedies):
        return explanations
    return [replace(first, remedies=(*first.remedies, book.more_data())), *explanations[1:]]


def _direction(book: RemedyBook, path: str, value) -> object:
    """+1 / -1 for a numeric change up / down from the run's value; the value itself otherwise."""
    current = book.setting(path)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(current, (int, float)):
        return int(np.sign(value - current))
    return value
