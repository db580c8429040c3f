"""unstable_optimization's measure of accuracy that keeps dropping back: train accuracy falling beyond its noise in
epoch after epoch while the loss rises with it, as weights that jump throw both back. Split from
:mod:`lossgap.diagnosis.causes.unstable_optimization`."""

from __future__ import annotations

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.evidence import RunEvidence

#: Share of epochs whose train accuracy drops back by more than 3 noise units (and 0.03) from which that
#: counts, and counts fully (AutoTrainer's "unstable": swings in 20% of the epochs). A model limited by its
#: size plateaus smoothly; one whose weights jump loses and regains accuracy.
DROPS_START, DROPS_FULL = 0.08, 0.25
#: The fewest drops that count at all (see accuracy_drop_share).
MIN_DROPS = 2
#: A drop counts only when the train loss rose by more than this share of its level in the same epoch.
DROP_LOSS_RISE = 0.05


def accuracy_drop_share(evidence: RunEvidence, running: np.ndarray | None = None) -> float:
    """Share of epochs whose train accuracy fell below the previous epoch's by more than 3 noise units and 0.03
    while the train loss rose by more than DROP_LOSS_RISE of its level (and, with ``running``, the training pass's
    loss too: see RunEvidence.training_pass_loss; an LSTM-FCN early-stopped after 11 epochs, its evaluated accuracy
    dropping back in two of them while the training pass's loss fell in every one, had read 0.71): weights that
    jump throw both back. A model crossing its decision boundaries for the first time loses a few answers while its
    loss still falls (two such wobbles in 12 epochs had read unstable_optimization 0.60 where training longer was
    the fix)."""
    _, loss, accuracy, _ = evidence.stability_loss
    if accuracy.size < 3 or evidence.train is None:
        return 0.0
    noise = accuracy_noise(np.nan_to_num(accuracy[:-1], nan=0.5), evidence.train.num_samples)
    steps = np.diff(accuracy)
    with np.errstate(invalid="ignore", divide="ignore"):
        loss_rise = np.diff(loss) / np.abs(loss[:-1])
        running_rise = (np.diff(running) / np.abs(running[:-1]) if running is not None
                        else np.full(loss_rise.shape, np.nan))
    # A loss that is not recorded (NaN) cannot contradict the drop.
    rose = ~(loss_rise <= DROP_LOSS_RISE) & ~(running_rise <= DROP_LOSS_RISE)
    dropped = (steps < -np.maximum(3 * noise, 0.03)) & rose
    # "Keeps dropping back" takes more than one drop: a single one is a spike, judged by what it undid (a GRU stopped
    # after 4 epochs, its one drop a third of its epochs, had read 1.00 "lower the learning rate", which left it
    # further from fitting).
    return float(np.mean(dropped)) if int(dropped.sum()) >= MIN_DROPS else 0.0
