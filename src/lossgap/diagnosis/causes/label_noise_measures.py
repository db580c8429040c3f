"""What label_noise's routes measure on the training records (see :mod:`lossgap.diagnosis.causes.label_noise`).

Pure numpy on the recorded splits: how well the suspects' class-mates are fitted, how decisively the suspects are
contradicted (their AUM while the model fits the rest, and its depth against the rest's), and whether their
confusions run one way between two classes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossgap.analysis.samples import masked_mean
from lossgap.analysis.signal import binomial_tail

#: Share of the unflagged samples right from which an epoch counts as one where the model fits the rest (the depth's
#: window, see aum_while_fitted).
WINDOW_FIT = 0.7


def rest_of_class_fit(train, flagged: np.ndarray, index: int) -> float:
    """Accuracy of the unflagged samples of the suspects' classes at epoch ``index``, weighted by suspects."""
    if not flagged.any():
        return 0.0
    correct = train.correct[index]
    total, weight = 0.0, 0
    for cls, count in zip(*np.unique(train.labels[flagged], return_counts=True)):
        mates = (train.labels == cls) & ~flagged & train.seen[index]
        if mates.any():
            total += count * float(correct[mates].mean())
            weight += count
    return total / weight if weight else 0.0


def sign_test(count: int, reverse: int) -> float:
    """One-sided p-value of ``count`` or more of ``count + reverse`` confusions going one way when either way is
    as likely: the binomial tail at 1/2 (1.0 without confusions)."""
    trials = count + reverse
    return float(binomial_tail(count, trials, 0.5)) if trials else 1.0


#: A (given label, rival class) pair other than the most common one joins the one-way confusion when its own sign
#: test against its reverse pair is at most FURTHER_PAIR_P and the reverse holds at most FURTHER_PAIR_REVERSE as many
#: (a labeller can mix up two pairs of classes: JapaneseVowels with 11 of class 1 labelled 2 and 11 of class 3 labelled
#: 4, all 16 suspects in the two pairs, 9 and 7 of them, had counted only the larger one, 56% of them, and read
#: overfitting 0.56 with label noise at 0.30). The test keeps chance out: 3 of 10 scattered hard samples sharing a
#: pair one way (p = 0.125) had joined a genuine pair as a second one. The reverse may be up to half as many: heavy
#: one-way noise makes its own reverse errors (40% of class 2 labelled 3 left 10 suspects one way and 3 the other,
#: 0.3; at 0.15, trial 11's 20-class runs with five such pairs counted only two, 44% of their suspects, and read
#: overfitting or imbalance with label noise at 0.00); a pair confused about equally both ways fails the sign test.
FURTHER_PAIR_P, FURTHER_PAIR_REVERSE = 0.05, 0.5


@dataclass(frozen=True)
class OneWay:
    """The suspects' one-way confusion: ``pairs``, the (given label, rival class) pairs it holds, the most common
    first (empty without any); ``share``, the share (0..1) of the suspects in them; ``reverse``, the reverse pairs'
    count over theirs; ``p``, the sign test of the two counts (:func:`sign_test`)."""

    pairs: tuple[tuple[int, int], ...]
    share: float
    reverse: float
    p: float

    @property
    def top(self) -> tuple[int, int] | None:
        """The most common pair, or None."""
        return self.pairs[0] if self.pairs else None


def one_way_pair(labels: np.ndarray, rivals: np.ndarray, num_classes: int, *, chains: bool = True) -> OneWay:
    """The most common (given label, rival class) pair among the suspects, with every other pair that runs one way
    beyond chance (its sign test at most FURTHER_PAIR_P, its reverse pair at most FURTHER_PAIR_REVERSE as many: a
    further confusion of the labeller's, not a hard pair confused both ways) and does not share a chosen pair's label,
    as a :class:`OneWay`; with ``chains`` False, nor one that chains onto a chosen pair (see below). A suspect's rival
    is the class the model predicted most often for it over the epochs its AUM counts
    (:attr:`SampleDynamics.rival_class`), not at one epoch: a model that memorises late predicts the wrong label by
    then."""
    none = OneWay((), 0.0, 1.0, 1.0)
    if len(labels) == 0:
        return none
    labels = np.asarray(labels, dtype=np.int64)
    rivals = np.asarray(rivals, dtype=np.int64)
    off = (rivals >= 0) & (rivals != labels)
    if not off.any():
        return none
    values, counts = np.unique(labels[off] * num_classes + rivals[off], return_counts=True)
    tally = dict(zip(values.tolist(), counts.tolist()))

    def reverse_of(code: int) -> int:
        given, rival = divmod(code, num_classes)
        return tally.get(rival * num_classes + given, 0)

    order = sorted(tally, key=lambda code: (-tally[code], code))
    # A pair and its own reverse never both join: each would need the other under FURTHER_PAIR_REVERSE of itself.
    # Nor does a pair that shares its label with a chosen one: one class's samples going to two others are a hard
    # class between them (a blurred little-data run, its middle frequency class called its two neighbours, had read
    # label noise 0.92 over its overfitting). Pairs that chain (C's called A, A's called B) or run round the classes
    # do join: a labeller who calls 40% of each class the next one makes exactly that (trial 11's JapaneseVowels with
    # such flips read "No problem found" 0.70 at val 0.495, where clean labels reach 0.984), unless ``chains`` is False:
    # a slow learner's unlearned classes run round the same way (train accuracy 0.74, its right answers a third of
    # the way from chance to certain, had read label noise 0.85 over "still improving" from such a cycle).
    chosen = [order[0]]
    for code in order[1:]:
        given, rival = divmod(code, num_classes)
        givens, rivals_chosen = ({divmod(other, num_classes)[side] for other in chosen} for side in (0, 1))
        chained = given in rivals_chosen or rival in givens
        if (sign_test(tally[code], reverse_of(code)) <= FURTHER_PAIR_P
                and reverse_of(code) <= FURTHER_PAIR_REVERSE * tally[code] and given not in givens
                and (chains or not chained)):
            chosen.append(code)
    own = sum(tally[code] for code in chosen)
    reverse = sum(reverse_of(code) for code in chosen)
    return OneWay(tuple(divmod(code, num_classes) for code in chosen), own / len(labels), reverse / own,
                  sign_test(own, reverse))


def aum_while_fitted(train, samples, flagged: np.ndarray, index: int) -> np.ndarray:
    """Each sample's mean margin (logits) over the epochs of its AUM window in which the model already fitted
    the unflagged samples (at least WINDOW_FIT of them right), up to epoch ``index`` (0-based); its AUM where
    no epoch of the window qualifies. float64 (N,).

    The AUM window starts at the epoch its class began to be fitted, which on two classes is epoch 1 (chance
    is already half-way to the peak): a fresh network's first epochs, before it fits anything, then count as
    much as the rest. On a two-class set with 30% of labels flipped and the val-loss minimum at epoch 8, those
    epochs left the suspects' depth at 0.69 (label noise "considered"), against 0.8-0.9 once the model fitted
    the rest; the flips were 99% of the suspects."""
    aum = np.asarray(samples.aum, dtype=np.float64)
    seen, correct = train.seen[:index + 1], train.correct[:index + 1]
    rest = ~flagged[None, :] & seen
    rest_accuracy = (correct & rest).sum(axis=1) / np.maximum(rest.sum(axis=1), 1)
    fitted = np.flatnonzero(rest_accuracy >= WINDOW_FIT)
    if fitted.size == 0:
        return aum
    epochs = np.arange(index + 1)[:, None]
    class_start = np.asarray(samples.class_start_epoch, dtype=np.int64) - 1      # 0-based, per class
    counted = seen & (epochs >= fitted[0]) & (epochs >= class_start[np.asarray(train.labels)][None, :])
    margin = np.asarray(train.margin[:index + 1], dtype=np.float32)
    counted &= np.isfinite(margin)
    count = counted.sum(axis=0)
    return np.where(count > 0, masked_mean(margin, counted, count), aum)


def contradiction_depth(aum: np.ndarray, flagged: np.ndarray) -> float:
    """-median AUM of the suspects / median AUM of the rest: 1 = as sure against them as for the rest."""
    rest = aum[~flagged & np.isfinite(aum)]
    mine = aum[flagged & np.isfinite(aum)]
    if mine.size == 0 or rest.size == 0 or np.median(rest) <= 0:
        return 0.0
    return float(min(2.0, -np.median(mine) / np.median(rest)))


#: A one-way pair (a -> b) the model once lumped together, putting LUMP_PEAK or more of class a's training samples in
#: class b at an epoch where it fitted the other classes (WINDOW_FIT of their samples right: not a fresh model's one
#: answer for all), and had told apart by the judged epoch on train and val alike (each split's a -> b share at most
#: LUMP_LEFT of its peak), was learned late, not mislabelled (see pair_learned_late).
LUMP_PEAK, LUMP_LEFT = 0.5, 0.25


def pair_learned_late(train, val, pair, judged: int) -> dict | None:
    """For ``pair`` (given class, rival class), the epoch (1-based) and share at which the model put most of the given
    class's training samples in the rival class while it fitted the other classes, and the shares of train and val left so at epoch ``judged``, when it had
    told the two apart on both splits by then (LUMP_PEAK, LUMP_LEFT); None otherwise or without val samples of the
    given class. Labels moved between two classes keep their share confused on a split they are in (val's moved labels
    cannot be memorised), and a model that memorises its training labels does so after the val-loss minimum."""
    given, rival = pair
    shares = []
    for split in (train, val):
        members = split.labels == given
        if not members.any():
            return None
        seen = split.seen[:judged][:, members]
        wrong_way = (split.predicted[:judged][:, members] == rival) & seen
        shares.append(wrong_way.sum(axis=1) / np.maximum(seen.sum(axis=1), 1))
    train_share, val_share = shares
    others = ~np.isin(train.labels, pair)
    if not others.any():
        return None
    rest = (train.correct[:judged][:, others] & train.seen[:judged][:, others]).sum(axis=1) / np.maximum(
        train.seen[:judged][:, others].sum(axis=1), 1)
    lumped = np.where(rest >= WINDOW_FIT, train_share, 0.0)
    peak = int(np.argmax(lumped))
    if lumped[peak] < LUMP_PEAK:
        return None
    if train_share[-1] > LUMP_LEFT * train_share[peak] or val_share[-1] > LUMP_LEFT * max(val_share.max(), LUMP_PEAK):
        return None
    return {"epoch": peak + 1, "train_share": float(train_share[peak]), "train_left": float(train_share[-1]),
            "val_left": float(val_share[-1])}


@dataclass(frozen=True)
class WrongAtJudged:
    """The training samples the model gets wrong at the judged epoch: how many (``count``) of the samples seen then
    (``seen``), their ids most contradicted first (lowest margin), and the share of them predicted as their label in
    more than half of the earlier epochs in which they were seen (``right_before``, in [0, 1])."""

    count: int
    seen: int
    ids: np.ndarray
    right_before: float

    @property
    def share(self) -> float:
        """count / seen, in [0, 1]."""
        return self.count / max(1, self.seen)


def wrong_at_judged(train, index: int) -> WrongAtJudged:
    """:class:`WrongAtJudged` of the train split at epoch ``index`` (0-based)."""
    wrong = train.seen[index] & ~train.correct[index]
    positions = np.flatnonzero(wrong)
    ids = train.sample_ids[positions[np.argsort(train.margin[index][positions], kind="stable")]]
    right_before = 0.0
    if index >= 1 and positions.size:
        seen = train.seen[:index][:, positions]
        right = (train.correct[:index][:, positions] & seen).sum(axis=0)
        right_before = float(np.mean(right * 2 > seen.sum(axis=0)))
    return WrongAtJudged(int(positions.size), int(train.seen[index].sum()), ids, right_before)


def leaning_share(given: np.ndarray, rivals: np.ndarray, rare: list[int], class_counts: np.ndarray) -> float:
    """Share of the suspects (their ``given`` labels and the ``rivals`` the model takes them for, -1 unknown) that
    class imbalance explains: a rare class on either side, or taken for a class at least as frequent as their label
    (the lean). Not those taken for a less frequent class, which is what labels moved from one class to another make
    (40% of classes 0, 2, 4, 6, 8 of 20 labelled 1, 3, 5, 7, 9, which left two of them under half an equal share, had
    read imbalance 1.00 with label noise 0.00 beside a one-way route of 0.87: its suspects, labelled 1 and taken for 0,
    were taken for classes half as frequent as their labels')."""
    leaning = (np.isin(given, rare) | np.isin(rivals, rare)
               | ((rivals >= 0) & (class_counts[np.maximum(rivals, 0)] >= class_counts[given])))
    return float(leaning.mean())
