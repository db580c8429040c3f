"""The loss ledger: where a change in mean loss between two epochs came from (lossgap's core idea).

Between epochs a and b of one split, every sample recorded in both epochs falls in exactly one group:

- ``stayed_correct``: right at a and at b;
- ``stayed_wrong_closer``: wrong at both, and its true-class probability strictly rose;
- ``stayed_wrong_further``: wrong at both, and its true-class probability did not rise;
- ``became_correct``: wrong at a, right at b;
- ``became_wrong``: right at a, wrong at b.

A group's contribution is the sum of its samples' loss changes divided by N (the samples in both epochs),
so the contributions add up to the change in mean loss, and the accuracy change is exactly
(became_correct - became_wrong) / N. Losses are computed in float64 from the recorded float32 log-probs.
Epochs are 1-based everywhere in this module's inputs and results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from lossgap.plain import dataclass_to_plain
from lossgap.dynamics import MISSING_PREDICTION, SplitDynamics
from lossgap.errors import ConfigError

if TYPE_CHECKING:
    from lossgap.analysis.plateaus import Plateau

#: The ledger's groups, in the order used by every array of this module.
LEDGER_GROUPS = ("stayed_correct", "stayed_wrong_closer", "stayed_wrong_further", "became_correct", "became_wrong")

_STAYED_CORRECT, _CLOSER, _FURTHER, _BECAME_CORRECT, _BECAME_WRONG = range(5)
_EXCLUDED = len(LEDGER_GROUPS)

# How each group reads in a sentence.
_GROUP_PHRASES = {
    "stayed_correct": "samples that were already right",
    "stayed_wrong_closer": "wrong samples moving toward their true class without crossing over",
    "stayed_wrong_further": "wrong samples moving away from their true class",
    "became_correct": "samples that changed from wrong to right",
    "became_wrong": "samples that changed from right to wrong",
}


@dataclass(frozen=True)
class LedgerGroup:
    """One group of a ledger.

    Attributes:
        name: one of :data:`LEDGER_GROUPS`.
        count: samples in the group.
        loss_change: the group's contribution to the change in mean loss (nats): the sum of its samples'
            loss changes divided by the ledger's N.
        share: loss_change / the ledger's total loss change (NaN when the total is 0); shares add up to 1.
    """

    name: str
    count: int
    loss_change: float
    share: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (NaN -> None)."""
        return dataclass_to_plain(self)


@dataclass(frozen=True)
class Ledger:
    """Where the change in mean loss of one split between two epochs came from.

    Attributes:
        split: name of the split.
        start_epoch, end_epoch: the two 1-based epochs compared.
        num_samples: N, samples recorded in both epochs (the only ones counted).
        loss_start, loss_end: mean loss of those N samples at each epoch (nats).
        loss_change: mean over the N samples of (loss at end - loss at start), nats; negative = fell.
        accuracy_start, accuracy_end: fraction of the N samples right at each epoch.
        accuracy_change: (became_correct - became_wrong) / N.
        groups: one :class:`LedgerGroup` per name in :data:`LEDGER_GROUPS`, in that order.
        non_finite: samples recorded in both epochs but left out because their loss was not finite (NaN or
            infinite logits) in one of them.
    """

    split: str
    start_epoch: int
    end_epoch: int
    num_samples: int
    loss_start: float
    loss_end: float
    loss_change: float
    accuracy_start: float
    accuracy_end: float
    accuracy_change: float
    groups: tuple[LedgerGroup, ...]
    non_finite: int = 0

    def group(self, name: str) -> LedgerGroup:
        """The group called ``name`` (one of :data:`LEDGER_GROUPS`); KeyError for any other name."""
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(f"no ledger group {name!r}; groups are {', '.join(LEDGER_GROUPS)}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields, groups as a list of dicts (NaN -> None)."""
        return dataclass_to_plain(self)


@dataclass(frozen=True, eq=False)
class LedgerSeries:
    """The ledger of every consecutive epoch pair (e, e + 1) of one split. Row i compares epochs i+1 and i+2.

    Attributes:
        split: name of the split.
        group_names: :data:`LEDGER_GROUPS` (the column order of ``counts`` and ``contributions``).
        start_epochs: int64 (E-1,) the 1-based first epoch of each pair.
        num_samples: int64 (E-1,) samples recorded in both epochs of each pair.
        counts: int64 (E-1, 5) samples per group.
        contributions: float64 (E-1, 5) each group's contribution to the change in mean loss (nats).
        loss_change: float64 (E-1,) change in mean loss of the pair's common samples (nats); NaN if none.
        accuracy_change: float64 (E-1,) (became_correct - became_wrong) / N; NaN if no common sample.
    """

    split: str
    group_names: tuple[str, ...]
    start_epochs: np.ndarray
    num_samples: np.ndarray
    counts: np.ndarray
    contributions: np.ndarray
    loss_change: np.ndarray
    accuracy_change: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields (arrays -> nested lists, NaN -> None)."""
        return dataclass_to_plain(self)


def _valid(dynamics: SplitDynamics) -> np.ndarray:
    """bool (E, N): the sample was recorded in the epoch and has a usable log-probability."""
    return (dynamics.predicted != MISSING_PREDICTION) & np.isfinite(dynamics.true_log_prob)


# Group of a sample indexed by (right at start) * 4 + (right at end) * 2 + (true-class probability rose).
_GROUP_OF_OUTCOME = np.array([_FURTHER, _CLOSER, _BECAME_CORRECT, _BECAME_CORRECT,
                              _BECAME_WRONG, _BECAME_WRONG, _STAYED_CORRECT, _STAYED_CORRECT], dtype=np.uint8)


def _group_codes(log_prob_start: np.ndarray, log_prob_end: np.ndarray, correct_start: np.ndarray,
                 correct_end: np.ndarray, included: np.ndarray) -> np.ndarray:
    """uint8 group index per sample (same shape as the inputs); _EXCLUDED where ``included`` is False."""
    # Log-probs are compared as stored: log is monotone, so "probability rose" is exactly "log-prob rose".
    # A table lookup on uint8 outcome codes is ~10x faster than nested np.where on (E, N) arrays.
    closer = log_prob_end > log_prob_start
    outcome = (correct_start.astype(np.uint8) << 2) | (correct_end.astype(np.uint8) << 1) | closer.astype(np.uint8)
    return np.where(included, _GROUP_OF_OUTCOME[outcome], np.uint8(_EXCLUDED))


def _check_epoch(dynamics: SplitDynamics, epoch: int, name: str) -> int:
    if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or not 1 <= epoch <= dynamics.num_epochs:
        raise ConfigError(f"{name} {epoch!r} is out of range for {dynamics.split}; "
                          f"use an epoch in 1..{dynamics.num_epochs}")
    return int(epoch)


def loss_ledger(dynamics: SplitDynamics, start_epoch: int, end_epoch: int) -> Ledger:
    """The loss ledger of ``dynamics`` between 1-based ``start_epoch`` and ``end_epoch`` (start <= end).

    Only samples recorded in both epochs count. Returns a :class:`Ledger`; with no such sample every mean
    is NaN and every group is empty.
    """
    start = _check_epoch(dynamics, start_epoch, "start_epoch")
    end = _check_epoch(dynamics, end_epoch, "end_epoch")
    if start > end:
        raise ConfigError(f"start_epoch {start} is after end_epoch {end}; pass the earlier epoch first")
    valid = _valid(dynamics)
    included = valid[start - 1] & valid[end - 1]
    seen = dynamics.seen
    non_finite = int(np.count_nonzero(seen[start - 1] & seen[end - 1] & ~included))
    log_prob_start = dynamics.true_log_prob[start - 1][included].astype(np.float64)
    log_prob_end = dynamics.true_log_prob[end - 1][included].astype(np.float64)
    labels = dynamics.labels[included]
    correct_start = dynamics.predicted[start - 1][included] == labels
    correct_end = dynamics.predicted[end - 1][included] == labels
    codes = _group_codes(log_prob_start, log_prob_end, correct_start, correct_end,
                         np.ones(labels.shape[0], dtype=bool))
    num_samples = int(labels.shape[0])
    counts = np.bincount(codes, minlength=len(LEDGER_GROUPS))[:len(LEDGER_GROUPS)]
    if num_samples == 0:
        nan = math.nan
        groups = tuple(LedgerGroup(name, 0, 0.0, nan) for name in LEDGER_GROUPS)
        return Ledger(dynamics.split, start, end, 0, nan, nan, nan, nan, nan, nan, groups, non_finite)

    # Loss = -log p; the change per sample is log p_start - log p_end.
    loss_changes = log_prob_start - log_prob_end
    sums = np.bincount(codes, weights=loss_changes, minlength=len(LEDGER_GROUPS))[:len(LEDGER_GROUPS)]
    contributions = sums / num_samples
    loss_change = float(loss_changes.sum() / num_samples)
    groups = tuple(
        LedgerGroup(name, int(counts[index]), float(contributions[index]),
                    float(contributions[index] / loss_change) if loss_change != 0 else math.nan)
        for index, name in enumerate(LEDGER_GROUPS))
    return Ledger(
        split=dynamics.split,
        start_epoch=start,
        end_epoch=end,
        num_samples=num_samples,
        loss_start=float(-log_prob_start.mean()),
        loss_end=float(-log_prob_end.mean()),
        loss_change=loss_change,
        accuracy_start=float(correct_start.mean()),
        accuracy_end=float(correct_end.mean()),
        accuracy_change=float((int(counts[_BECAME_CORRECT]) - int(counts[_BECAME_WRONG])) / num_samples),
        groups=groups,
        non_finite=non_finite,
    )


def ledger_series(dynamics: SplitDynamics) -> LedgerSeries:
    """The ledger of every consecutive epoch pair of ``dynamics``, computed for all pairs at once.

    Returns a :class:`LedgerSeries` with E - 1 rows (none for a single epoch).
    """
    num_pairs = max(dynamics.num_epochs - 1, 0)
    num_groups = len(LEDGER_GROUPS)
    valid = _valid(dynamics)
    log_prob = dynamics.true_log_prob
    correct = dynamics.predicted == dynamics.labels[None, :]
    included = valid[:-1] & valid[1:]
    codes = _group_codes(log_prob[:-1], log_prob[1:], correct[:-1], correct[1:], included)
    # Loss = -log p, so a sample's loss change is log p before - log p after (float64 from float32 inputs).
    with np.errstate(invalid="ignore"):  # -inf - -inf of an excluded sample; zeroed just below
        loss_changes = np.subtract(log_prob[:-1], log_prob[1:], dtype=np.float64)
    np.copyto(loss_changes, 0.0, where=~included)  # unseen samples hold NaN, which a masked sum would keep

    # One bincount over (pair, group) cell numbers sums every pair's groups in a single pass; excluded
    # samples land in a sixth, discarded column.
    cells = num_pairs * (num_groups + 1)
    flat = codes.astype(np.int64)
    flat += np.arange(num_pairs, dtype=np.int64)[:, None] * (num_groups + 1)
    flat = flat.ravel()
    counts = np.bincount(flat, minlength=cells).reshape(num_pairs, num_groups + 1)[:, :num_groups].astype(np.int64)
    sums = np.bincount(flat, weights=loss_changes.ravel(), minlength=cells).reshape(num_pairs, num_groups + 1)
    num_samples = counts.sum(axis=1)
    denominator = np.where(num_samples > 0, num_samples, 1)
    contributions = sums[:, :num_groups] / denominator[:, None]
    loss_change = np.where(num_samples > 0, loss_changes.sum(axis=1) / denominator, np.nan)
    accuracy_change = np.where(num_samples > 0,
                               (counts[:, _BECAME_CORRECT] - counts[:, _BECAME_WRONG]) / denominator, np.nan)
    return LedgerSeries(
        split=dynamics.split,
        group_names=LEDGER_GROUPS,
        start_epochs=np.arange(1, num_pairs + 1, dtype=np.int64),
        num_samples=num_samples.astype(np.int64),
        counts=counts,
        contributions=contributions.astype(np.float64),
        loss_change=loss_change.astype(np.float64),
        accuracy_change=accuracy_change.astype(np.float64),
    )


def main_plateau_ledger(record: SplitDynamics, plateaus: dict[str, tuple[Plateau, ...]]
                        ) -> tuple[Plateau | None, Ledger | None]:
    """The split's first plateau whose loss fell, and its ledger (``plateaus`` maps split names to
    :func:`lossgap.analysis.plateaus.find_plateaus` results, largest loss fall first); without one, (None, the
    ledger from the first to the last epoch that recorded the split), or (None, None) when fewer than two did."""
    main_plateau = next((plateau for plateau in plateaus.get(record.split, ()) if plateau.loss_change < 0), None)
    if main_plateau is not None:
        return main_plateau, loss_ledger(record, main_plateau.start_epoch, main_plateau.end_epoch)
    # Without a plateau, the ledger of the whole run still says where the loss change came from: from the first
    # to the last epoch that recorded the split (a val pass every other epoch leaves epochs without records).
    # Epochs whose loss is not finite for every sample (a run gone NaN) have nothing to trace.
    recorded = np.flatnonzero((record.seen & np.isfinite(record.true_log_prob)).any(axis=1)) + 1
    if recorded.size < 2:
        return None, None
    return None, loss_ledger(record, int(recorded[0]), int(recorded[-1]))


def _samples(count: int) -> str:
    return f"{count} sample" if count == 1 else f"{count} samples"


def _crossings(ledger: Ledger) -> str:
    became_correct = ledger.group("became_correct").count
    became_wrong = ledger.group("became_wrong").count
    if became_correct == 0 and became_wrong == 0:
        return "no sample changed between wrong and right"
    return f"{_samples(became_correct)} changed from wrong to right and {became_wrong} from right to wrong"


def describe_ledger(ledger: Ledger, *, decimals: int = 3) -> str:
    """One plain-words sentence for ``ledger``, e.g. "of the 0.12 fall in val loss between epochs 10 and 30,
    71% came from samples that were already right; 3 samples changed from wrong to right and 1 from right
    to wrong". A change that rounds to 0 at ``decimals`` significant digits is said to barely fall or rise, with
    both losses to 4 decimals; only an exact 0 (or a non-finite change) is called no change."""
    span = f"between epochs {ledger.start_epoch} and {ledger.end_epoch}"
    if ledger.num_samples == 0 and ledger.non_finite:
        return (f"{ledger.split} loss is not finite (NaN or infinite) {span} for every sample recorded in both "
                f"epochs ({_samples(ledger.non_finite)}), so no change can be traced to them")
    if ledger.num_samples == 0:
        return f"no {ledger.split} sample was recorded in both epoch {ledger.start_epoch} and epoch {ledger.end_epoch}"
    change = ledger.loss_change
    scale = max(abs(ledger.loss_start), abs(ledger.loss_end), 1e-12)
    if not math.isfinite(change) or change == 0:
        return f"{ledger.split} loss did not change {span} ({_samples(ledger.num_samples)}); {_crossings(ledger)}"
    if abs(change) < 0.5 * 10 ** (-decimals) * scale:
        # Too small for the sentence's digits, but not nothing: "did not change" beside a verdict that the loss
        # was still falling (1.1250 -> 1.1195 over 60 epochs) read as a contradiction.
        direction = "fell" if change < 0 else "rose"
        return (f"{ledger.split} loss barely {direction} {span} ({ledger.loss_start:.4f} -> {ledger.loss_end:.4f}, "
                f"{_samples(ledger.num_samples)}); {_crossings(ledger)}")
    direction = "fall" if change < 0 else "rise"
    # The group that drove the change most, in the direction of the change.
    driver = max(ledger.groups, key=lambda group: group.share)
    share = f"{driver.share:.0%}"
    offset = " (other groups pushed the other way)" if driver.share > 1.005 else ""
    left_out = (f" ({_samples(ledger.non_finite)} with a non-finite loss left out)" if ledger.non_finite else "")
    # Significant digits for the small changes; from 1 on, two decimals ("1.02", not "1"; "256.30", not "2.6e+02").
    amount = f"{abs(change):.2f}" if abs(change) >= 1 else f"{abs(change):.{decimals}g}"
    return (f"of the {amount} {direction} in {ledger.split} loss {span}{left_out}, {share} came "
            f"from {_GROUP_PHRASES[driver.name]}{offset}; {_crossings(ledger)}{_cancelling(ledger)}")


def _cancelling(ledger: Ledger) -> str:
    """", whose losses nearly cancel (-0.462 and +0.415 nats)" when both crossings moved the loss by a tenth of its
    change or more and in sum by less than a quarter of the larger: "100% came from wrong samples moving toward their true
    class" beside "33 changed from wrong to right and 31 from right to wrong" had read as a contradiction (trial 24)."""
    became_correct, became_wrong = ledger.group("became_correct"), ledger.group("became_wrong")
    shares = (became_correct.share, became_wrong.share)
    if not all(math.isfinite(share) and abs(share) >= 0.1 for share in shares):
        return ""
    if abs(sum(shares)) >= 0.25 * max(abs(share) for share in shares):
        return ""
    return (f", whose losses nearly cancel ({became_correct.loss_change:+.3g} and {became_wrong.loss_change:+.3g} "
            "nats)")


__all__ = ["LEDGER_GROUPS", "Ledger", "LedgerGroup", "LedgerSeries", "describe_ledger", "ledger_series",
           "loss_ledger"]
