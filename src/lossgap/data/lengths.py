"""How much of the labels a sequence's length alone gives away, in train and in the other splits.

A model reads every step it is given, and a sequence's length is one of the easiest things it can learn: where the
classes were recorded with different lengths, it can score by the length instead of by what was measured. When train
was drawn so (a trial: one class's training sequences 10-59 steps long, the other's 150-200, val and test drawn with
lengths of either class alike) a model fits train by the length and val measures only what is left (read overfitting
0.75 with "raise dropout"); when val was drawn the same way, val accuracy 1.000 hid a test accuracy of 0.513 (read "No
problem found" 0.95).

The measure is the simplest rule on length alone: train's lengths cut into up to MAX_BINS bins of equal counts (at
least MIN_PER_BIN training samples each), each bin predicting the class most of its training samples carry (the
training majority class where a bin holds none). Its accuracy on each split, beside that split's majority share, says
how much the length alone predicts; fitted on train, it cannot flatter val or test.
"""

from __future__ import annotations

import numpy as np

from lossgap.data.sequence import DatasetSplits

#: Most bins of train's lengths, and fewest training samples per bin (fewer samples, fewer bins; under two bins'
#: worth of training samples, or lengths that do not vary, nothing is measured).
MAX_BINS, MIN_PER_BIN = 10, 20


def length_shortcut(splits: DatasetSplits) -> dict | None:
    """config.json's ``data.length_shortcut``: per split (train, val, test when present) ``{"accuracy", "majority",
    "samples"}``, the accuracy (0-1) of the length-only rule fitted on train and the split's majority share, and
    ``bins``, the rule's number of bins; None when train's lengths do not vary or train has fewer than 2 x MIN_PER_BIN
    samples."""
    train = splits.train
    lengths, labels = np.asarray(train.lengths), np.asarray(train.labels)
    bins = min(MAX_BINS, len(lengths) // MIN_PER_BIN)
    if bins < 2 or lengths.min() == lengths.max():
        return None
    edges = np.unique(np.quantile(lengths, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    num_classes = int(max(part.labels.max(initial=0) for part in splits.splits().values())) + 1
    counts = np.zeros((len(edges) + 1, num_classes))
    np.add.at(counts, (np.searchsorted(edges, lengths, side="right"), labels), 1)
    fallback = int(np.bincount(labels, minlength=num_classes).argmax())
    predicted = np.where(counts.sum(axis=1) > 0, counts.argmax(axis=1), fallback)
    payload: dict = {"bins": int(len(edges) + 1)}
    for name, part in splits.splits().items():
        part_labels = np.asarray(part.labels)
        if not len(part_labels):
            continue
        guesses = predicted[np.searchsorted(edges, np.asarray(part.lengths), side="right")]
        payload[name] = {"accuracy": float((guesses == part_labels).mean()),
                         "majority": float(np.bincount(part_labels).max() / len(part_labels)),
                         "samples": int(len(part_labels))}
    return payload
