"""unstable_optimization's collapse to a constant guess: a model that had learned something thrown back to where every
input gets the same answer, through the delivered epoch, after it (early stopping kept the model from before), or
learned back only to where it was. Split from :mod:`lossgap.diagnosis.causes.unstable_spikes`."""

from __future__ import annotations

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.constraints import regularisation_notes
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import at_ceiling

#: A collapse to a constant guess (see collapse_to_constant): how close the train loss must stay to the prior's
#: entropy (share of it), for how many epochs, how far below it the loss must have been before (share of it),
#: and how far above the majority share the train accuracy (at least, and 3 noise units).
COLLAPSE_AT_PRIOR, COLLAPSE_EPOCHS, COLLAPSE_MOVED, COLLAPSE_LEARNED = 0.03, 3, 0.15, 0.1
#: Confidence of a collapse to a constant guess on its own; and of one that came after the epoch the run delivers
#: (early stopping kept the model from before it) and lasted to the end: the delivered model escaped it, but
#: it is what stopped the learning.
COLLAPSE_CONFIDENCE, COLLAPSE_AFTER_DELIVERED = 0.85, 0.6
#: A fall of the train loss into an epoch, as a share of the prior's entropy, from which the model counts as
#: still learning fast there (see collapse_to_constant).
STILL_FALLING = 0.03


def collapse_to_constant(evidence: RunEvidence) -> dict | None:
    """The collapse of a model that had learned something back to a constant guess, or None: from some epoch
    through the one the run delivers (at least COLLAPSE_EPOCHS of them) its train loss stays within
    COLLAPSE_AT_PRIOR of the prior's entropy (its outputs no longer tell the inputs apart), after the loss had
    been COLLAPSE_MOVED below it and the train accuracy COLLAPSE_LEARNED (and 3 noise units) above the majority
    share. Descent never gives back everything it learned: the optimiser threw the weights to where every input
    gets the same answer (a 2-layer LSTM at Adam 0.002 on little data fell from 0.51 train accuracy to the
    majority share 0.27 at epoch 59 and stayed there; read as "too small" 0.65, growing it was the first
    remedy). Not for a model its own regularisation holds back: heavy weight decay pulls a fitted model back to
    the constant guess by design (underfitting names it). Returns the collapse's first epoch, the delivered
    epoch (``until``), the best earlier train accuracy and its epoch, the train loss at the delivered epoch, and
    the share of training samples predicted as one class there."""
    delivered = evidence.delivered_epoch
    collapse = _collapse_through(evidence, delivered)
    if collapse is None and delivered < evidence.num_epochs and _still_falling_at(evidence, delivered):
        # Early stopping delivered an epoch before the collapse, which then lasted to the end of the run, while
        # the model was still learning fast: the delivered model escaped the collapse, but the collapse is what
        # stopped the learning (an 80/10/10 run with class weights at lr 0.01 fell to a constant guess at epoch 4
        # and stayed there; epoch 3's model was delivered, and its imbalance, three epochs into learning, was all
        # the diagnosis had named). A model that had converged before it lost nothing: no collapse then.
        collapse = _collapse_through(evidence, evidence.num_epochs)
        if collapse is not None and collapse["epoch"] > delivered:
            collapse["after_delivered"] = delivered
        else:
            collapse = None
    return collapse if collapse is not None else _collapse_relearned(evidence)


def _collapse_relearned(evidence: RunEvidence) -> dict | None:
    """A collapse (as :func:`collapse_to_constant`'s, COLLAPSE_EPOCHS or more at the constant guess after the model had
    learned) that ended before the delivered epoch, the model learning again from there but never below its lowest
    train loss before the collapse by the delivered epoch: the collapse cost the run every epoch since (trial 26: an
    AdamW LSTM thrown to the prior at epoch 10, there for 15 epochs, back at val 0.739 by epoch 40 as at epoch 8, had
    read "No cause found" with unstable 0.48; test 0.708 against 0.955). Returns collapse_to_constant's keys for the
    collapse's window ("until" its last epoch), "relearned" (the delivered epoch), "delivered_loss" and
    "lowest_before" (train losses); None without one."""
    _, train_loss, _, _ = evidence.stability_loss
    delivered = evidence.delivered_epoch
    near_prior = _near_prior(evidence, delivered)
    if near_prior is None:
        return None
    end = delivered - 1    # 1-based last epoch of a window, before the delivered one
    while end > COLLAPSE_EPOCHS:
        if not near_prior[end - 1]:
            end -= 1
            continue
        start = _window_start(near_prior, end)
        if end - start + 1 >= COLLAPSE_EPOCHS and start > 1 and learned_before(evidence, start):
            lowest_before = float(np.nanmin(train_loss[:start - 1]))
            if float(np.nanmin(train_loss[end:delivered])) <= lowest_before or at_ceiling(evidence, delivered - 1):
                return None   # it got further than before the collapse (outgrown), or has nothing left to learn
            return {**_collapse_facts(evidence, start, end), "relearned": delivered,
                    "delivered_loss": float(train_loss[delivered - 1]), "lowest_before": lowest_before}
        end = start - 1
    return None


def _still_falling_at(evidence: RunEvidence, epoch: int) -> bool:
    """True when the train loss (the stability loss) fell by at least STILL_FALLING of the prior's entropy into
    1-based ``epoch``: the model was still learning fast there."""
    _, train_loss, _, fit = evidence.stability_loss
    if epoch < 2 or not fit.prior_entropy > 0:
        return False
    return bool(train_loss[epoch - 2] - train_loss[epoch - 1] >= STILL_FALLING * fit.prior_entropy)


def _collapse_through(evidence: RunEvidence, delivered: int) -> dict | None:
    """:func:`collapse_to_constant` with the collapse lasting through epoch ``delivered`` (1-based)."""
    near_prior = _near_prior(evidence, delivered)
    if near_prior is None or not near_prior[delivered - 1]:
        return None
    start = _window_start(near_prior, delivered)
    if delivered - start + 1 < COLLAPSE_EPOCHS or start <= 1 or not learned_before(evidence, start):
        return None
    return _collapse_facts(evidence, start, delivered)


def _near_prior(evidence: RunEvidence, last: int) -> np.ndarray | None:
    """Whether each epoch's train loss (the stability loss) through 1-based ``last`` lies within COLLAPSE_AT_PRIOR of
    the prior's entropy; None where no collapse can be judged (no train records up to ``last``, or a model its own
    regularisation holds back)."""
    train = evidence.train
    _, train_loss, _, fit = evidence.stability_loss
    if train is None or last > train.num_epochs or regularisation_notes(evidence.settings):
        return None
    return np.abs(train_loss[:last] - fit.prior_entropy) <= COLLAPSE_AT_PRIOR * fit.prior_entropy


def _window_start(near_prior: np.ndarray, end: int) -> int:
    """The first 1-based epoch of the run of epochs near the prior that ends at ``end``."""
    start = end
    while start > 1 and near_prior[start - 2]:
        start -= 1
    return start


def _collapse_facts(evidence: RunEvidence, start: int, end: int) -> dict:
    """A collapse over 1-based epochs ``start``-``end``: {"epoch", "until", "best_accuracy" and "best_epoch" (the best
    train accuracy before it), "one_class_share" (of the training samples predicted as one class at ``end``),
    "train_loss" (at ``end``)}."""
    train = evidence.train
    _, train_loss, train_accuracy, _ = evidence.stability_loss
    accuracy_before = train_accuracy[:start - 1]
    best_epoch = int(np.nanargmax(accuracy_before)) + 1
    predicted = train.predicted[end - 1][train.seen[end - 1]]
    one_class = float(np.bincount(predicted).max() / predicted.size) if predicted.size else float("nan")
    return {"epoch": start, "until": end, "best_accuracy": float(accuracy_before[best_epoch - 1]),
            "best_epoch": best_epoch, "one_class_share": one_class, "train_loss": float(train_loss[end - 1])}


def learned_before(evidence: RunEvidence, epoch: int) -> bool:
    """True when, before 1-based ``epoch``, the model had clearly learned something: its train loss (the stability
    loss) had been COLLAPSE_MOVED of the prior's entropy below it, and its train accuracy COLLAPSE_LEARNED and 3 noise
    units above the majority share. Wiggles of a model at the prior (labels without signal) never get there."""
    _, train_loss, train_accuracy, fit = evidence.stability_loss
    train = evidence.train
    loss_before, accuracy_before = train_loss[:epoch - 1], train_accuracy[:epoch - 1]
    if train is None or not (np.isfinite(loss_before).any() and np.isfinite(accuracy_before).any()):
        return False
    noise = float(accuracy_noise(fit.train_baseline, train.num_samples))
    return bool(float(np.nanmin(loss_before)) <= (1.0 - COLLAPSE_MOVED) * fit.prior_entropy
                and float(np.nanmax(accuracy_before)) >= fit.train_baseline + max(COLLAPSE_LEARNED, 3 * noise))
