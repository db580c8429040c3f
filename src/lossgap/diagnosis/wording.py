"""Small helpers that turn numbers into words the same way in every sentence.

A sentence says "fell" only when the number fell: :func:`change` picks the verb from the two numbers it
prints, so the words can never contradict the run's files (a test checks every sentence of the fault suite
against metrics.csv).
"""

from __future__ import annotations

import math

import numpy as np


def clip(value: float) -> float:
    """``value`` limited to [0, 1]; 0 for NaN or infinity."""
    return float(min(1.0, max(0.0, value))) if math.isfinite(value) else 0.0


def way_to_one(value: float, start: float) -> float:
    """How far ``value`` goes from ``start`` towards 1, as a share of that room (0 at ``start``, 1 at 1; 0 when ``start``
    is 1 already): an accuracy above the majority share, a probability above chance."""
    room = 1.0 - start
    return (value - start) / room if room > 0 else 0.0


def pct(value: float) -> str:
    """A fraction as a whole percentage ("12%")."""
    return f"{100 * value:.0f}%" if math.isfinite(value) else "n/a"


def signed(value: float, decimals: int = 3) -> str:
    """A change with its sign ("+0.095", "-0.012"); one that rounds to zero is "+0.000", never "-0.000"."""
    shown = round(value, decimals)
    return f"{0.0 if shown == 0 else shown:+.{decimals}f}"


def rate_pct(value: float) -> str:
    """A small rate as a percentage: one decimal under 1% ("0.4%", never a falling loss at "0%"), else whole."""
    if math.isfinite(value) and 0 < abs(100 * value) < 0.95:
        return f"{100 * value:.1f}%"
    return pct(value)


def guess_loss(weighted: bool) -> str:
    """What a train loss is set against in a sentence: "the prior's entropy", or for a class-weighted loss "a constant
    guess's" (weighted loss)."""
    return "a constant guess's" if weighted else "the prior's entropy"


def share_below_prior(moved_share: float, guess: str = "the prior's entropy") -> str:
    """How far below the prior's entropy (or ``guess``) a train loss is, from its share of the way to 0 (a
    FitSummary's ``moved_share``): "3% below the prior's entropy", "0.4% below ...", or "no lower than the prior's
    entropy" (never a negative or "-0%" share)."""
    if not math.isfinite(moved_share) or moved_share <= 0 or 100 * moved_share < 0.05:
        return f"no lower than {guess}"
    return f"{rate_pct(moved_share)} below {guess}"


def change(name: str, start: float, end: float, decimals: int = 3) -> str:
    """"<name> fell from a to b", "rose from a to b" or "stayed at a", with the verb read off the printed
    numbers (so rounding never makes "fell from 0.100 to 0.100")."""
    first, last = f"{start:.{decimals}f}", f"{end:.{decimals}f}"
    if first == last:
        return f"{name} stayed at {first}"
    return f"{name} {'fell' if end < start else 'rose'} from {first} to {last}"


def below_prior(fit, *, weighted: bool = False) -> str:
    """How far a run's train loss got below the prior's entropy (a FitSummary), in words that never print a
    negative share: "the train loss got at best 3% below 0.693, ...", "... never got below ...", or that no
    train loss was recorded. ``weighted``: ``fit`` is a class-weighted objective's, against a constant guess."""
    if not fit.train_recorded:
        return "no train loss was recorded"
    loss = "the class-weighted train loss" if weighted else "the train loss"
    guess = (f"{fit.prior_entropy:.3f}, " + ("a constant guess's weighted loss" if weighted
                                             else "the loss of always predicting the class shares"))
    if not fit.moved_share > 0:
        return f"{loss} never got below {guess}"
    share = rate_pct(fit.moved_share)
    if share == "0.0%":
        return f"{loss} never got even 0.1% below {guess}"
    return f"{loss} got at best {share} below {guess}"


def new_lows(health, num_epochs: int) -> str:
    """"a new low in 7 of the last 7 epochs": how often the val loss set a new lowest value over the tail of an
    OptimizationHealth (``num_epochs`` bounds the tail: the first epoch cannot be a new low)."""
    tail = min(health.tail_epochs, num_epochs - 1)
    counted = tail - len(health.val_recovery_epochs)
    return (f"a new low in {round(health.val_new_low_share * counted)} of "
            + (f"the last {tail} epochs" if counted == tail else f"{counted} of the last {tail} epochs")
            + recovery_words(health))


def recovery_words(health) -> str:
    """", not counting epochs 38-39, a spike and its recovery" when the val figures of an OptimizationHealth leave out
    epochs of a spike the loss recovered from; "" otherwise."""
    epochs = health.val_recovery_epochs
    if not epochs:
        return ""
    span = f"epoch {epochs[0]}" if len(epochs) == 1 else f"epochs {epochs[0]}-{epochs[-1]}" if (
        epochs[-1] - epochs[0] == len(epochs) - 1) else "epochs " + ", ".join(str(epoch) for epoch in epochs)
    return f", not counting {span}, a spike and its recovery"


def rate_words(lr, lr_end: float | None) -> str:
    """" (learning rate 0.003)", or " (learning rate 0.05 at the start, 0.00039 at the end)" where a schedule moved it
    (a plateau schedule's last rate alone had been quoted for spikes at the first one, 128x larger)."""
    if lr_end is None:
        return ""
    finite = np.asarray(lr, dtype=np.float64) if lr is not None else np.array([])
    finite = finite[np.isfinite(finite)]
    if finite.size and not np.isclose(finite[0], lr_end, rtol=0.01):
        return f" (learning rate {finite[0]:g} at the start, {lr_end:g} at the end)"
    return f" (learning rate {lr_end:g})"


def epochs_words(epochs: list[int], num_epochs: int) -> str:
    """``epochs`` (1-based) in words: "in every one of its 20 epochs", "at epoch(s) 3, 4", or the first five
    and how many more ("at epochs 3, 4, 5, 6, 7 and 9 more (14 of 20)")."""
    if len(epochs) == num_epochs:
        return f"in every one of its {num_epochs} epochs"
    shown = ", ".join(map(str, epochs[:5]))
    if len(epochs) <= 5:
        return f"at epoch(s) {shown}"
    return f"at epochs {shown} and {len(epochs) - 5} more ({len(epochs)} of {num_epochs})"
