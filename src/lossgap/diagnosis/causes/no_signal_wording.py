"""The sentences of no_signal: how far the model fitted train, the tests that decided, and what shows signal."""

from __future__ import annotations

import math

import numpy as np

from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.wording import guess_loss, pct

#: Best train accuracy under which a model whose train loss moved is said to have learned much of its training set,
#: not to have fitted it.
PARTLY_FITTED = 0.9


def fitted_words(evidence: RunEvidence, fit) -> str:
    """How far the model fitted its training set, by ``fit`` (the class-weighted objective's for a weighted run: its
    loss against a constant guess's, balanced accuracy against chance)."""
    if not fit.train_recorded:
        return "with no train loss recorded"
    weighted = evidence.objective is not None
    loss = "class-weighted train loss" if weighted else "train loss"
    guess = guess_loss(weighted)
    # Its epoch where it is not the judged one: "down to 0.529" had been read as the judged epoch 10's train loss
    # (0.657).
    lowest_at = (f" at epoch {fit.train_loss_min_epoch}" if fit.train_loss_min_epoch != evidence.judged_epoch else "")
    down = (f"{loss} down to {fit.train_loss_min:.3f}{lowest_at}, {pct(fit.moved_share)} below {guess} "
            f"{fit.prior_entropy:.3f}")
    if fit.moved_share >= 0.2 and fit.train_accuracy_max - fit.train_baseline < (1 - fit.train_baseline) / 2:
        # Not "fitted" of a model that predicts little beyond the majority on train (0.957 against a share of 0.952).
        best = (f"a balanced accuracy of {fit.train_accuracy_max:.1%} at best against chance's {fit.train_baseline:.1%}"
                if weighted else f"{fit.train_accuracy_max:.1%} right at best against a majority share of "
                                 f"{fit.train_baseline:.1%}")
        return f"the model learned something on its training set ({down}, though it got {best})"
    if fit.moved_share >= 0.2 and not fit.train_accuracy_max < PARTLY_FITTED:
        return f"the model fitted its training set ({down})"
    if fit.moved_share >= 0.2:
        # "Fitted" had been said of an ArrowHead LSTM that got 77% of its training samples right at best.
        best = (f"balanced accuracy {fit.train_accuracy_max:.0%} at best" if weighted
                else f"{fit.train_accuracy_max:.0%} right at best")
        return f"the model learned much of its training set ({best}, {down})"
    return f"the model learned something on its training set ({down})"


def weighted_balanced_words(evidence: RunEvidence) -> str:
    """"nor is balanced accuracy, what its class-weighted loss aims at, significantly above chance at any epoch (0.678
    at epoch 6, the best; ...)" for a weighted run."""
    balanced = evidence.val_per_class.balanced_accuracy
    best = int(np.nanargmax(balanced)) + 1
    return (f"nor is its balanced accuracy, what its class-weighted loss aims at, significantly above chance at any "
            f"epoch ({balanced[best - 1]:.3f} at epoch {best}, the best, against "
            f"{1 / max(evidence.val.num_classes, 1):.3f}; one-sided test of mean per-class recall against predictions "
            f"independent of the labels, p={evidence.balanced_signal_p:.2g} after correcting for picking the best of "
            f"the epochs)")


def control_words(control) -> str:
    """How the permuted-label control compares, for the sentence."""
    if control.significant and control.difference > 0:
        return ", significant: the true labels do carry signal, so this is not a lack of signal"
    return ", not significantly better" if control.difference > 0 else ", no better"


def balanced_words(evidence: RunEvidence) -> str:
    """Balanced accuracy beating what predictions that ignore the labels get, while accuracy does not beat
    the majority share (imbalanced data, or a class-weighted loss trading accuracy for recall)."""
    signal, index = evidence.signal, evidence.judged_epoch - 1
    balanced = evidence.val.epoch_balanced_accuracy()[index]
    weighted = " (the loss was class-weighted, which trades accuracy for the rare classes' recall)" if (
        evidence.class_weights is not None) else ""
    return (f"val accuracy {signal.accuracy:.3f} at epoch {evidence.judged_epoch} does not beat the majority share "
            f"{signal.baseline_accuracy:.3f}{weighted}, but balanced accuracy {balanced:.3f} beats the "
            f"{1 / max(evidence.val.num_classes, 1):.3f} of answers that ignore the inputs (one-sided test of mean "
            f"per-class recall against predictions independent of the labels, p={evidence.balanced_signal_p:.2g} "
            f"after correcting for picking the best of the epochs; significant below {signal.alpha:g})")


def unweighted_words(evidence: RunEvidence) -> str:
    """A class-weighted run whose outputs, with the weights' shift taken out, beat the constant answers."""
    signal, unweighted = evidence.signal, evidence.unweighted_signal
    shown = []
    if unweighted.accuracy_shows_signal:
        shown.append(f"they are right on {unweighted.signal.accuracy:.3f} of val at epoch {evidence.judged_epoch}, "
                     f"above the best constant answer {unweighted.signal.baseline_accuracy:.3f} "
                     f"({test_words(unweighted.any_epoch_p, unweighted.signal.alpha)})")
    if unweighted.loss_clearly_below_prior:
        shown.append("their val loss is clearly below predicting the class shares, sample by sample")
    return (f"the loss was class-weighted, which moves the outputs toward the up-weighted classes (val accuracy "
            f"{signal.accuracy:.3f} against the best constant answer {signal.baseline_accuracy:.3f}); with the "
            "weights' shift taken out of the outputs (logit adjustment), " + " and ".join(shown))


def test_words(p_value: float, alpha: float) -> str:
    """The test as the rule decided it: val accuracy at the last and at the best epoch, corrected, against alpha."""
    return (f"one-sided binomial tests of val accuracy at the last epoch and at the best one, p={p_value:.2g} after "
            f"correcting for picking the best of the epochs and for the two tests; significant below {alpha:g}")


def not_above(signal) -> str:
    """"is not significantly above" for an accuracy above the baseline, "is not above" for one at or below it (an
    accuracy of 0.515 had been "not significantly above" a baseline of 0.545)."""
    return "is not significantly above" if signal.accuracy > signal.baseline_accuracy else "is not above"


def number(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) and math.isfinite(value) else "n/a"
