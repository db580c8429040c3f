"""Per-sample training dynamics (suspected mislabelled samples are built on them in :mod:`.suspects`).

Three published views of what each training sample does over the epochs, all from the recorded arrays:

- data maps (Swayamdipta et al. 2020): confidence = mean true-class probability, variability = its standard
  deviation, correctness = fraction of epochs predicted correctly;
- forgetting events (Toneva et al. 2019): how often a sample goes from correct to wrong;
- area under the margin, AUM (Pleiss et al. 2020): mean over epochs of the true-class logit minus the largest
  other logit. A mislabelled sample fights the rest of its (true) class, so its margin stays negative until
  the network memorises it late; a correctly labelled one turns positive early.

Everything is computed on (E, N) arrays at once; no Python loop runs over samples. Epochs are 1-based.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossgap.plain import to_plain
from lossgap.dynamics import SplitDynamics
from lossgap.errors import ConfigError, DataError

#: ``learned_epoch`` value of a sample that is never learned (wrong, or unseen, at its last seen epoch).
NEVER_LEARNED = 0


@dataclass(frozen=True, eq=False)
class SampleDynamics:
    """Per-sample statistics of one split; every array is over the N samples in recorded order.

    Statistics marked (*) use only the seen epochs in the window burn_in + 1 .. until_epoch (1-based); a
    sample with no such epoch has NaN there (and 0 forgetting events).

    Attributes:
        split: name of the split.
        sample_ids: (N,) ids.
        labels: int (N,) given (possibly wrong) labels.
        confidence: float (N,) mean true-class probability (*).
        variability: float (N,) population standard deviation of the true-class probability (*).
        correctness: float (N,) fraction of epochs predicted correctly (*).
        forgetting_events: int (N,) correct -> wrong transitions between consecutive seen epochs (*).
        aum: float (N,) area under the margin, mean logit margin, logits (*), counted from the epoch the
            model began to fit the sample's class (``class_start_epoch``), not before.
        learned_epoch: int (N,) 1-based first epoch from which the sample is correct in every seen epoch to
            the end, over all epochs (burn-in does not apply); NEVER_LEARNED (0) if it is wrong at its
            last seen epoch or never seen.
        seen_epochs: int (N,) seen epochs counted in (*).
        num_epochs: epochs recorded E.
        burn_in: leading epochs left out of (*).
        until_epoch: last epoch (1-based) counted in (*).
        num_classes: classes C of the split (labels and predictions lie in 0..C-1).
        rival_class: int (N,) the class other than the label that the model predicted most often over the
            epochs AUM counts (*, from the class's start epoch), the lowest such class on ties; -1 if the sample
            was never predicted as another class there.
        class_start_epoch: int (C,) 1-based first epoch of each class's AUM window: the first epoch of the
            window in which the share of the class predicted correctly reached ``class_onset`` x its highest
            share in the window (burn_in + 1 for a class fitted from the start, or never fitted).
    """

    split: str
    sample_ids: np.ndarray
    labels: np.ndarray
    confidence: np.ndarray
    variability: np.ndarray
    correctness: np.ndarray
    forgetting_events: np.ndarray
    aum: np.ndarray
    learned_epoch: np.ndarray
    seen_epochs: np.ndarray
    num_epochs: int
    burn_in: int
    until_epoch: int
    num_classes: int = 0
    rival_class: np.ndarray | None = None
    class_start_epoch: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def num_samples(self) -> int:
        """Samples N."""
        return int(self.labels.shape[0])

    @property
    def learned(self) -> np.ndarray:
        """bool (N,) whether each sample is learned by the end (learned_epoch > 0)."""
        return self.learned_epoch != NEVER_LEARNED

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (NaN -> None)."""
        return {field.name: to_plain(getattr(self, field.name)) for field in dataclasses.fields(self)}


def masked_mean(values: np.ndarray, mask: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Mean over axis 0 of ``values`` where ``mask``; NaN where ``count`` is 0. float64 (N,)."""
    # Summing in the input dtype (float32) is several times faster than casting to float64, and numpy's
    # pairwise summation keeps the error far below what these statistics are read at.
    total = np.where(mask, values, values.dtype.type(0)).sum(axis=0).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _learned_epoch(seen: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """1-based first epoch after the last wrong seen epoch that is itself seen; 0 if there is none."""
    num_epochs = seen.shape[0]
    wrong = seen & ~correct
    last_wrong = np.where(wrong.any(axis=0), num_epochs - 1 - np.argmax(wrong[::-1], axis=0), -1)
    stays_correct = seen & (np.arange(num_epochs)[:, None] > last_wrong[None, :])
    return np.where(stays_correct.any(axis=0), np.argmax(stays_correct, axis=0) + 1, NEVER_LEARNED)


def _forgetting_events(seen: np.ndarray, correct: np.ndarray) -> np.ndarray:
    """Correct -> wrong transitions between consecutive seen epochs (unseen epochs are skipped), int (N,)."""
    num_epochs = seen.shape[0]
    if num_epochs < 2:
        return np.zeros(seen.shape[1], dtype=np.int64)
    # Index of the last seen epoch up to each epoch (-1 before the first): carries the status over gaps.
    if seen.all():  # the usual train split: every sample in every epoch
        return (correct[:-1] & ~correct[1:]).sum(axis=0)
    # int32: accumulate along axis 0 is several times faster than in int64.
    epoch_index = np.arange(num_epochs, dtype=np.int32)[:, None]
    last_seen = np.maximum.accumulate(np.where(seen, epoch_index, np.int32(-1)), axis=0)
    previous = last_seen[:-1]
    previous_correct = np.take_along_axis(correct, np.maximum(previous, 0), axis=0) & (previous >= 0)
    return (seen[1:] & ~correct[1:] & previous_correct).sum(axis=0)


def _class_start(seen: np.ndarray, correct: np.ndarray, labels: np.ndarray, num_classes: int,
                 onset: float) -> np.ndarray:
    """0-based index, within the (E, N) window, of the first epoch at which each class's correct share reached
    ``onset`` x its highest share in the window, and no earlier than the first epoch at which the split's
    balanced accuracy rose ``onset`` of the way from chance to its peak; 0 for a class never fitted or with
    onset 0. int (C,)."""
    one_hot = np.zeros((labels.size, num_classes), dtype=np.float32)
    one_hot[np.arange(labels.size), labels] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (correct.astype(np.float32) @ one_hot) / (seen.astype(np.float32) @ one_hot)  # (E, C)
    present = np.isfinite(share).any(axis=0)
    share = np.nan_to_num(share, nan=0.0)
    peak = share.max(axis=0)
    reached = (share >= onset * peak[None, :]) & (peak[None, :] > 0)
    start = np.where(reached.any(axis=0), np.argmax(reached, axis=0), 0)
    # Nor before the model tells the classes apart at all: a fresh network that puts every sample in one class
    # gets that class's share right at once, samples flipped into it included, which then read as agreeing with
    # their label (40% of one class flipped into the largest: 38 of 56 flips went unfound).
    balanced = share[:, present].mean(axis=1)
    chance = 1.0 / max(int(present.sum()), 1)
    lift = balanced - chance
    if onset > 0 and lift.max() > 0:
        start = np.maximum(start, int(np.argmax(lift >= onset * lift.max())))
    return start


def _rival_class(wrong: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Most frequent predicted class over the (E, N) entries where ``wrong``; lowest on ties, -1 if none.

    Works on the wrong entries only (memory grows with them, not with N x C).
    """
    epochs, samples = np.nonzero(wrong)
    rival = np.full(wrong.shape[1], -1, dtype=np.int64)
    if samples.size == 0:
        return rival
    keys, counts = np.unique(samples.astype(np.int64) * num_classes + predicted[epochs, samples], return_counts=True)
    owner = keys // num_classes
    order = np.lexsort((-counts, owner))  # by sample, then most frequent first; keys sorted: lowest class on ties
    first = order[np.r_[True, owner[order][1:] != owner[order][:-1]]]
    rival[owner[first]] = keys[first] % num_classes
    return rival


def sample_dynamics(dynamics: SplitDynamics, *, burn_in: int = 0, until_epoch: int | None = None,
                    class_onset: float = 0.5) -> SampleDynamics:
    """Data-map coordinates, forgetting events, AUM and learned epoch of every sample of one split.

    The averaged statistics use epochs ``burn_in + 1`` to ``until_epoch`` (1-based, default the last).
    ``burn_in`` drops the first epochs of a fresh network, which say little about the sample. ``until_epoch``
    stops before memorisation: Pleiss et al. measure AUM only until the learning rate first decays, because a
    network that goes on to memorise mislabelled samples lifts their late margins and with them their AUM.
    Passing the val-loss minimum (the epoch early stopping picks) does the same here.

    AUM assumes every class is learned from the first epochs. A class the model takes up late (a rare class
    learned after the majority) has all its samples contradicted until then, so an AUM counted from epoch 1
    makes its correctly labelled samples look mislabelled (on an 80/10/10 set with 10% flips, 37 of 75 clean
    samples of a rare class). Each sample's AUM therefore starts at its class's ``class_start_epoch``: the
    first epoch at which the class's correct share reached ``class_onset`` x its peak in the window (0.5:
    half-way up its learning curve), and not before the split's balanced accuracy rose ``class_onset`` of the
    way from chance to its peak: a fresh network that puts every sample in one class gets that class "right"
    from epoch 1, samples mislabelled into it included (so a window should end before memorisation lifts that
    peak, as the diagnosis's ends at the val-loss minimum). A class learned at once keeps the whole window;
    ``class_onset=0`` turns this off (Pleiss et al.'s AUM). Meant for the train
    split; works on any split. Returns a :class:`SampleDynamics`; probabilities are fractions, AUM is in logits.
    """
    num_epochs = dynamics.num_epochs
    if num_epochs == 0:
        raise DataError(f"{dynamics.split}: no epoch recorded; train at least one epoch before analysing samples")
    until_epoch = num_epochs if until_epoch is None else until_epoch
    if int(until_epoch) != until_epoch or not 1 <= until_epoch <= num_epochs:
        raise ConfigError(f"until_epoch must be an integer in 1..{num_epochs}, got {until_epoch}")
    until_epoch = int(until_epoch)
    if not 0 <= class_onset <= 1:
        raise ConfigError(f"class_onset must be in [0, 1], got {class_onset}; use e.g. 0.5")
    if int(burn_in) != burn_in or not 0 <= burn_in < until_epoch:
        raise ConfigError(f"burn_in must be an integer in 0..{until_epoch - 1} (below until_epoch), got {burn_in}")
    burn_in = int(burn_in)
    window = slice(burn_in, until_epoch)

    seen_all = dynamics.seen
    correct_all = dynamics.correct & seen_all
    seen = seen_all[window]
    correct = correct_all[window]
    seen_epochs = seen.sum(axis=0)

    # float32 keeps the (E, N) temporaries small for 100k-sample runs; sums are accumulated in float64.
    log_prob = dynamics.true_log_prob[window].astype(np.float32, copy=False)
    prob_usable = seen & np.isfinite(log_prob)
    true_prob = np.exp(np.where(prob_usable, log_prob, np.float32(0.0)))
    prob_count = prob_usable.sum(axis=0)
    confidence = masked_mean(true_prob, prob_usable, prob_count)
    deviation = true_prob - confidence[None, :].astype(np.float32)
    variability = np.sqrt(masked_mean(deviation * deviation, prob_usable, prob_count))

    num_classes = max(int(dynamics.num_classes), int(dynamics.labels.max(initial=-1)) + 1)
    labels = np.asarray(dynamics.labels, dtype=np.int64)
    class_start = _class_start(seen, correct, labels, num_classes, class_onset)
    # AUM and the rival class are read over the same epochs: from the epoch each class began to be fitted.
    # Before it, a fresh network that predicts one class for everything would make that class every sample's
    # rival.
    counted = seen
    if class_start.any():
        counted = seen & (np.arange(seen.shape[0])[:, None] >= class_start[labels][None, :])
    rival = _rival_class(counted & ~correct, dynamics.predicted[window].astype(np.int64), num_classes)
    margin = dynamics.margin[window].astype(np.float32, copy=False)
    margin_usable = counted & np.isfinite(margin)
    aum = masked_mean(margin, margin_usable, margin_usable.sum(axis=0))

    return SampleDynamics(
        split=dynamics.split,
        sample_ids=np.asarray(dynamics.sample_ids),
        labels=np.asarray(dynamics.labels),
        confidence=confidence,
        variability=variability,
        correctness=np.where(seen_epochs > 0, correct.sum(axis=0) / np.maximum(seen_epochs, 1), np.nan),
        forgetting_events=_forgetting_events(seen, correct),
        aum=aum,
        learned_epoch=_learned_epoch(seen_all, correct_all),
        seen_epochs=seen_epochs,
        num_epochs=num_epochs,
        burn_in=burn_in,
        until_epoch=until_epoch,
        num_classes=num_classes,
        rival_class=rival,
        class_start_epoch=class_start + burn_in + 1,
    )
