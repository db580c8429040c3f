"""Val accuracy split between the val samples whose inputs are copies of training samples' and the others: the copies
measure memory, the others generalisation (which samples are copies is found by
:func:`lossgap.data.overlap.inputs_shared_with_train` when the run is written)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lossgap.analysis.signal import SignalTest, signal_test
from lossgap.dynamics import SplitDynamics

#: Copies beyond this share of val put a warning before the headline (fewer go into a note only): a tenth of val
#: answered from memory moves val accuracy by up to a tenth.
WARN_SHARE = 0.1


@dataclass(frozen=True)
class CopiedValSamples:
    """Val accuracy at ``epoch`` on the ``copies`` val samples whose inputs a training sample has too (of
    ``num_val``; ``same_label`` of them carry that sample's label) and on the others (``fresh``: the signal test of
    their accuracy against their majority share; None when every val sample is a copy); ``mask`` (N,) marks the copies
    in val's recorded order."""

    num_val: int
    copies: int
    same_label: int
    epoch: int
    copies_accuracy: float
    accuracy: float
    fresh: SignalTest | None
    mask: np.ndarray = field(default=None, compare=False, repr=False)

    @property
    def warns(self) -> bool:
        """True when the copies are a large enough share of val to move its figures (WARN_SHARE)."""
        return self.copies >= WARN_SHARE * self.num_val


def copied_val_samples(val: SplitDynamics, copied_ids, same_label: int, epoch: int,
                       train_class_counts: np.ndarray) -> CopiedValSamples | None:
    """How the model did at ``epoch`` (1-based) on the val samples whose ids are in ``copied_ids`` and on the
    others; None when no recorded val sample is among ``copied_ids``."""
    ids = np.asarray(val.sample_ids)
    wanted = np.asarray(list(copied_ids))
    if wanted.size == 0:
        return None
    # Ids read back from JSON can differ in kind from the recorded ones (1 against "1"): compare as text then.
    copied = (np.isin(ids, wanted) if ids.dtype.kind == wanted.dtype.kind
              else np.isin(ids.astype(str), wanted.astype(str)))
    if not copied.any():
        return None
    index = epoch - 1
    predicted, labels = np.asarray(val.predicted[index], dtype=np.int64), np.asarray(val.labels)
    right = predicted == labels
    fresh = ~copied
    fresh_test = (signal_test(labels[fresh], predicted[fresh], num_classes=val.num_classes,
                              train_class_counts=train_class_counts) if fresh.any() else None)
    return CopiedValSamples(num_val=int(ids.size), copies=int(copied.sum()), same_label=int(same_label),
                            epoch=epoch, copies_accuracy=float(right[copied].mean()),
                            accuracy=float(right.mean()), fresh=fresh_test, mask=copied)
