"""What a class-weighted model's outputs say once the weights' shift is taken out of them (logit adjustment).

A loss weighted by w_c is minimised by outputs whose softmax is proportional to w_c p(c | x): the weights add
log w_c to each logit, moving the decision boundary toward the up-weighted (usually rare) classes. Such a model
trades accuracy for the rare classes' recall by design, so its val accuracy can sit below always answering the
majority class, and its plain val loss above the prior's, while its outputs carry plenty of signal (an
80/10/10 run with balanced weights and balanced val accuracy 0.59 had read "no signal" 0.95). Subtracting log w_c
from every logit recovers outputs proportional to p(c | x) (Menon et al., "Long-tail learning via logit
adjustment", 2021), on which the plain signal tests are fair again. Pure numpy: arrays in, a SplitDynamics out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from lossgap.analysis.samples import SampleDynamics
from lossgap.analysis.signal import SignalTest, any_epoch_p_value, loss_clearly_below_prior, signal_test
from lossgap.dynamics import MISSING_PREDICTION, SplitDynamics


@dataclass(frozen=True)
class UnweightedSignal:
    """The signal tests of a class-weighted run, read on its val outputs with the weights' shift taken out:
    the test at the judged epoch (:func:`lossgap.analysis.signal.signal_test`), its p-value over epochs
    (:func:`lossgap.analysis.signal.any_epoch_p_value`), and whether the val loss is clearly below the prior's
    (:func:`lossgap.analysis.signal.loss_clearly_below_prior`)."""

    signal: SignalTest
    any_epoch_p: float
    loss_clearly_below_prior: bool

    @property
    def accuracy_shows_signal(self) -> bool:
        """True when the unweighted outputs' accuracy beats the best constant answer."""
        return bool(self.any_epoch_p < self.signal.alpha)

    @property
    def shows_signal(self) -> bool:
        """True when either test finds signal."""
        return self.accuracy_shows_signal or self.loss_clearly_below_prior


def unweighted_view(split: SplitDynamics, class_weights) -> SplitDynamics | None:
    """``split`` as the model's outputs read with log ``class_weights`` (C,) subtracted from every logit: per
    epoch and sample the true class's log-probability (nats), argmax class, its probability and the margin
    recomputed from the adjusted logits; the logits stored are the adjusted ones. None when the split kept no
    full logits (train, by default) or a weight is not positive (a class weighted 0 has no shift to undo)."""
    weights = np.asarray(class_weights, dtype=np.float64).reshape(-1)
    if split.logits is None or weights.shape != (split.num_classes,) or not np.all(weights > 0):
        return None
    from scipy.special import log_softmax  # on use: scipy costs ~0.5 s that importing lossgap should not

    seen = split.seen
    adjusted = np.where(seen[:, :, None], split.logits.astype(np.float64), 0.0) - np.log(weights)[None, None, :]
    log_probs = log_softmax(adjusted, axis=2)
    labels = split.labels
    true_log_prob = np.take_along_axis(log_probs, labels[None, :, None], axis=2)[:, :, 0]
    predicted = adjusted.argmax(axis=2)
    others = adjusted.copy()
    np.put_along_axis(others, labels[None, :, None], -np.inf, axis=2)
    margin = np.take_along_axis(adjusted, labels[None, :, None], axis=2)[:, :, 0] - others.max(axis=2)
    return SplitDynamics(
        split=split.split, sample_ids=split.sample_ids, labels=labels,
        true_log_prob=np.where(seen, true_log_prob, np.nan).astype(np.float32),
        predicted=np.where(seen, predicted, MISSING_PREDICTION).astype(np.int16),
        max_prob=np.where(seen, np.exp(log_probs.max(axis=2)), np.nan).astype(np.float16),
        margin=np.where(seen, margin, np.nan).astype(np.float32),
        num_classes=split.num_classes,
        logits=np.where(seen[:, :, None], adjusted, np.nan).astype(np.float16),
    )


def unweighted_signal(val: SplitDynamics, class_weights, index: int,
                      train_counts: np.ndarray) -> UnweightedSignal | None:
    """The :class:`UnweightedSignal` of a run whose loss was weighted by ``class_weights`` (C,): the tests on
    ``val`` with the weights' shift taken out, at 0-based epoch ``index``, the prior from ``train_counts`` (C,);
    None when val kept no full logits."""
    view = unweighted_view(val, class_weights)
    if view is None:
        return None
    signal = signal_test(view.labels, view.predicted[index], num_classes=view.num_classes,
                         val_loss=view.loss[index], train_class_counts=train_counts)
    return UnweightedSignal(signal, any_epoch_p_value(view, signal.baseline_accuracy),
                            loss_clearly_below_prior(view, index, train_counts))


def samples_with_weights_undone(samples: SampleDynamics, class_weights) -> SampleDynamics:
    """``samples`` with each sample's AUM (nats of logit margin) the larger of the margin as recorded and the
    margin it would have against its rival class with the weights' shift taken out of the logits (AUM +
    log(w_rival / w_label)): a label counts as contradicted only when the model contradicts it both ways.

    A class-weighted loss pushes the frequent classes' borderline samples into the up-weighted ones (an own
    loop with 80/10/10 classes and balanced weights, every label clean, had read label noise 0.89 from 61 such
    samples); taking the shift out lifts them back. The other way round, taking it out would sink a rare
    class's hard samples toward the frequent class, which the weighted outputs (a prior-free view) do not
    contradict as much; those keep their recorded AUM. Train splits keep no full logits, so the shift is read
    against the class the model predicted most often for the sample (``rival_class``); samples never
    predicted as another class keep their AUM."""
    weights = np.asarray(class_weights, dtype=np.float64).reshape(-1)
    rival = samples.rival_class
    if rival is None or not np.all(weights > 0):
        return samples
    rival = np.asarray(rival, dtype=np.int64)
    labels = np.asarray(samples.labels, dtype=np.int64)
    has_rival = rival >= 0
    shift = np.zeros(labels.shape, dtype=np.float64)
    shift[has_rival] = np.maximum(0.0, np.log(weights[rival[has_rival]]) - np.log(weights[labels[has_rival]]))
    return dataclasses.replace(samples, aum=np.asarray(samples.aum, dtype=np.float64) + shift)
