"""Where a model that does not fit its training set gets it wrong: in one class, between two, or across them.

The capacity form of ``underfitting`` reads a level that train and val share as a model too small for the task. When
nothing in the run's settings holds the model back and its training errors sit in one class while it fits every
other class, a second reading is as likely from the curves alone: many of that class's labels are wrong, and the
model, rightly, predicts those samples as the class they belong to. Growing the model cannot tell the two apart
quickly; looking at a few of that class's most contradicted samples can. (A new-user trial's
ItalyPowerDemand run with 20% of its labels flipped on an 85/15 split, so that 68 of the rare class's 114 labels
were flips, read "too small or too regularised" 0.65 with "grow the hidden size 32 -> 64" only; the 64-unit twin
fitted exactly as much, and the model got 98% of the unflipped samples right and 5% of the flipped ones.)

Errors that sit between two classes the model does not tell apart even on its training set, while it fits every
other class, say something else again: the inputs may not separate those two (or their labels are mixed), which a
larger model cannot fix. (A new-user trial's five frequency classes, two of them generated identically, read "too
small or too regularised" 0.65 with "grow the hidden size" first; a GRU of 128 units fitted exactly as much.)
"""

from __future__ import annotations

import numpy as np

from lossgap.diagnosis.constraints import slow_learning_rate
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.wording import pct
from lossgap.plain import to_plain

#: The class must hold at least this share of the training errors and have an error above CLASS_WRONG while the
#: other classes are fitted (their error at most OTHERS_WRONG, and under half the class's), and not be one of the
#: run's rare classes (those are class imbalance's to judge). 40% of one GunPoint class labelled as the other leaves
#: the receiving class 23-27% wrong.
ERROR_SHARE, CLASS_WRONG, OTHERS_WRONG = 0.5, 0.2, 0.1
#: Samples the advice names, and the most the evidence lists (diagnosis.json stays small on large data sets).
SHOWN, LISTED = 5, 100
#: A pair is not told apart when, on the training samples of its two classes that the model assigns to one of them,
#: it is right less often than halfway from always naming the larger class to perfect, with at least
#: PAIR_MIN_ERRORS errors between them. Not a test against chance: a model memorises some training samples of two
#: classes generated alike (a 128-unit GRU got 59% of such a pair right on train, p=0.003 against 50%).
PAIR_MIN_ERRORS = 10


def confused_pair(evidence: RunEvidence, index: int) -> dict | None:
    """The two classes the model mixes up most at epoch ``index`` (0-based) on its training set, when it does not
    tell them apart there while it fits the other classes, else None: {"classes" (the two class indices),
    "samples" (their training samples assigned to one of the two), "pair_accuracy", "chance" (the larger class's
    share of those), "others_error", "error_share" (the pair's share of the training errors)}. Needs three classes or more (with two, the pair is the whole task)."""
    train = evidence.train
    if train is None or train.num_classes < 3:
        return None
    seen = train.seen[index]
    labels, predicted = train.labels[seen], np.asarray(train.predicted[index], dtype=np.int64)[seen]
    matrix = np.zeros((train.num_classes, train.num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    errors = int(matrix.sum() - np.trace(matrix))
    mixed = np.triu(matrix + matrix.T, k=1)
    first, second = (int(cls) for cls in np.unravel_index(int(np.argmax(mixed)), mixed.shape))
    pair_errors = int(mixed[first, second])
    if errors == 0 or pair_errors < max(PAIR_MIN_ERRORS, ERROR_SHARE * errors):
        return None
    in_pair = np.isin(labels, (first, second))
    if not (~in_pair).any() or first in evidence.rare_classes or second in evidence.rare_classes:
        return None
    others_error = float((labels[~in_pair] != predicted[~in_pair]).mean())
    right = int(matrix[first, first] + matrix[second, second])
    samples = right + pair_errors
    sizes = matrix[[first, second]][:, [first, second]].sum(axis=1)
    chance = float(sizes.max() / sizes.sum())
    accuracy = right / samples
    if others_error > OTHERS_WRONG or accuracy >= (1.0 + chance) / 2:
        return None
    return {"classes": [first, second], "samples": samples, "pair_accuracy": accuracy, "chance": chance,
            "others_error": others_error, "error_share": pair_errors / errors}


def pair_words(evidence: RunEvidence, pair: dict) -> str:
    """The capacity sentence's clause (after "the model getting N% of its own training samples wrong") on errors
    that sit between two classes the model does not tell apart."""
    first, second = (evidence.class_label(cls) for cls in pair["classes"])
    return (f": its errors sit between two classes: of the {pair['samples']} training samples of classes {first} and "
            f"{second} that it puts in one of the two, it gets {pct(pair['pair_accuracy'])} right, against the "
            f"{pct(pair['chance'])} of always naming the larger class, while it gets "
            f"{pct(pair['others_error'])} of the other classes' samples wrong: these inputs may not tell the two "
            "classes apart (or their labels are mixed), and then a larger model mixes them as much")


def pair_advice(evidence: RunEvidence, pair: dict) -> str:
    """The advice to check whether the inputs separate the two classes."""
    first, second = (evidence.class_label(cls) for cls in pair["classes"])
    return (f"check whether the inputs tell class {first} from class {second}: compare samples of the two; if nothing "
            "separates them, merge the two classes or add a feature that does; if their labels are mixed, relabel")


def one_class_errors(evidence: RunEvidence, index: int) -> dict | None:
    """The class holding most of the training errors at epoch ``index`` (0-based), when its error is high and the
    others are fitted, else None: {"class", "count", "class_error", "others_error", "error_share" (errors as
    fractions of the samples seen in that epoch), "wrong_count", "sample_ids": the class's wrong samples there, the
    LISTED most contradicted first (lowest area under the margin, else lowest margin at that epoch)}."""
    train = evidence.train
    if train is None or train.num_classes < 2:
        return None
    seen = train.seen[index]
    wrong = ~train.correct[index] & seen
    total = int(wrong.sum())
    if total == 0:
        return None
    labels = train.labels
    errors = np.bincount(labels[wrong], minlength=train.num_classes)
    cls = int(np.argmax(errors))
    mine, others = seen & (labels == cls), seen & (labels != cls)
    if not mine.any() or not others.any():
        return None
    class_error = float(errors[cls] / mine.sum())
    others_error = float((wrong & others).sum() / others.sum())
    share = float(errors[cls] / total)
    if (share < ERROR_SHARE or class_error <= CLASS_WRONG or others_error > min(OTHERS_WRONG, class_error / 2)
            or cls in evidence.rare_classes):
        return None
    positions = np.flatnonzero(wrong & (labels == cls))
    samples = evidence.train_samples
    score = (np.asarray(samples.aum, dtype=np.float64)[positions] if samples is not None
             else np.asarray(train.margin[index], dtype=np.float64)[positions])
    order = positions[np.argsort(np.nan_to_num(score, nan=np.inf), kind="stable")]
    return {"class": cls, "count": int(mine.sum()), "class_error": class_error, "others_error": others_error,
            "error_share": share, "wrong_count": int(order.size),
            "sample_ids": [to_plain(i) for i in train.sample_ids[order[:LISTED]]]}


def one_class_words(evidence: RunEvidence, found: dict) -> str:
    """The capacity sentence's clause on errors that sit in one class."""
    return (f"; but its errors sit in one class: {pct(found['class_error'])} of the {found['count']} training "
            f"samples of class {evidence.class_label(found['class'])} wrong, against "
            f"{pct(found['others_error'])} of the others, which is also what wrong labels in that class look like (the "
            "model then rightly predicts those samples as the class they belong to)")


def one_class_advice(evidence: RunEvidence, found: dict) -> str:
    """The advice to look at that class's most contradicted samples, naming the first few."""
    ids = ", ".join(str(i) for i in found["sample_ids"][:SHOWN])
    listed = len(found["sample_ids"])
    where = "all" if listed == found["wrong_count"] else f"the {listed} most contradicted"
    return (f"look at the most contradicted samples of class {evidence.class_label(found['class'])} ({ids}, ...; {where} "
            "in diagnosis.json): if their labels are wrong, relabel them; a larger model cannot fix that")


def contradicted_advice(evidence: RunEvidence) -> str | None:
    """Advice to look at the training samples the model contradicts most, across classes (None without suspects, or
    when the model contradicts so many labels that the list was capped): wrong labels near the class boundary hold a
    model at the same level as a size too small for the task (a new-user trial's sign-of-sum task with 17.5% of its
    labels flipped among the hardest samples read "too small" 0.65 with "grow the hidden size", which gained nothing;
    its 20 most contradicted training samples were all flips)."""
    suspects = evidence.suspects
    if suspects is None or suspects.capped or len(suspects.sample_ids) == 0:
        return None
    ids = ", ".join(str(to_plain(i)) for i in suspects.sample_ids[:SHOWN])
    return (f"look at the {len(suspects.sample_ids)} training samples the model contradicts most ({ids}, ...; "
            "suspected_mislabeled in diagnosis.json): wrong labels near the class boundary hold a model at the same "
            "level as a size too small; if they are wrong, relabel them, if they are right, a larger model is the test")


#: A model at the prior that predicts one class for at least this share of its training samples, a class that makes
#: up at least MAJORITY_SHARE of them, has collapsed onto it (see :func:`majority_collapse`).
COLLAPSED_SHARE, MAJORITY_SHARE = 0.98, 0.75
#: The least share of the majority class at which a model still predicting only it at a learning rate far too low is
#: still learning the others (underfitting_stopped, class_imbalance_bias): any majority, as on 70/15/15 data.
SLOW_MAJORITY_SHARE = 0.5


def majority_collapse(evidence: RunEvidence, min_class_share: float = MAJORITY_SHARE) -> dict | None:
    """The class a model that did not fit predicts for (nearly) every training sample at the delivered epoch, when
    it is the majority of imbalanced data (``min_class_share`` of the samples or more) and the loss is not weighted by
    class: {"class", "predicted_share", "class_share"} (fractions), else None.

    On 92/8 data a model that learns nothing else still lowers the unweighted loss by predicting the majority, and
    stays there: weighting the classes is then the first thing to try, before a larger model (a new-user trial's
    Lightning LSTM at train accuracy 0.908 against a majority share of 0.907 had been told to grow 32 -> 128 and
    raise its learning rate; with class weights it recalled the rare class 0.5, balanced accuracy 0.72)."""
    train = evidence.train
    if train is None or evidence.objective is not None:
        return None
    index = evidence.delivered_epoch - 1
    seen = train.seen[index]
    if not seen.any():
        return None
    predicted = np.bincount(train.predicted[index][seen], minlength=train.num_classes)
    counts = np.bincount(train.labels[seen], minlength=train.num_classes)
    cls = int(np.argmax(predicted))
    predicted_share, class_share = float(predicted[cls] / seen.sum()), float(counts[cls] / seen.sum())
    if cls != int(np.argmax(counts)) or predicted_share < COLLAPSED_SHARE or class_share < min_class_share:
        return None
    return {"class": cls, "predicted_share": predicted_share, "class_share": class_share}


def majority_at_slow_rate(evidence: RunEvidence) -> tuple[dict, str] | None:
    """(:func:`majority_collapse` with any majority, SLOW_MAJORITY_SHARE, and the words on the rate) when the run's
    learning rate is far below its optimizer's usual range (:func:`lossgap.diagnosis.constraints.slow_learning_rate`)
    and its model still predicts the majority class for (nearly) every training sample; None otherwise. Read by the
    stopped-early form and by class_imbalance_bias alike."""
    slow = slow_learning_rate(evidence.settings)
    collapse = majority_collapse(evidence, SLOW_MAJORITY_SHARE) if slow else None
    return (collapse, slow) if collapse is not None else None


def collapse_words(evidence: RunEvidence, found: dict) -> str:
    """The no-fit sentence's clause on a model collapsed onto the majority class."""
    return (f"; it predicts class {evidence.class_label(found['class'])} for {pct(found['predicted_share'])} of its "
            f"training samples, the class that makes up {pct(found['class_share'])} of them: on imbalanced data that "
            "is where an unweighted loss settles when nothing else is learned, so weight the classes first")
