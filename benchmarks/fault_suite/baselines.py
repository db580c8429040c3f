"""Two published rule sets, re-implemented from their thresholds, scored on the same runs as lossgap.

AutoTrainer (Zhang et al., ICSE 2021) monitors training for five problems; the thresholds used here are
the ones the issue quotes from the paper: a non-finite loss or a gradient ratio above 70 is an explosion;
accuracy swings of at least 0.03 in at least 20% of the epochs are unstable training; a best per-epoch
accuracy gain below 0.01 is slow convergence; a maximum accuracy below 0.7 is "not converged".

SageMaker Debugger's built-in rules with their documented defaults: Overfit ((val - train) / train > 0.1 for
1 step), Overtraining (no val-loss improvement of 0.01 in 10 steps, or no train-loss improvement in 5),
LossNotDecreasing (the loss fell by less than 0.1% over 10 steps) and ClassImbalance (largest / smallest
class count above 10, or a class mispredicted more than 70% of the time).

Both work on per-epoch figures (a "step" is an epoch here, since that is what every run records). Each
problem maps to the lossgap cause it corresponds to; a rule set names one cause per run, the first that
fires in a priority order. The order is not published, so :func:`best_order` tries every order and keeps
the one that scores best on the suite: that favours the baselines, which keeps lossgap's margin honest.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

HEALTHY = "healthy"


def _finite(values) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64)
    return array[np.isfinite(array)]


def autotrainer_findings(metrics: dict[str, np.ndarray]) -> dict[str, str]:
    """AutoTrainer's problems found in a run, each mapped to a lossgap cause ({problem: cause})."""
    found = {}
    losses = np.asarray(metrics["train_loss"], dtype=np.float64)
    grads = _finite(metrics.get("grad_norm", []))
    # The gradient ratio: the largest per-epoch gradient norm over the run's median one.
    if not np.isfinite(losses).all() or (grads.size and np.median(grads) > 0
                                         and grads.max() / np.median(grads) > 70):
        found["explode"] = "unstable_optimization"
    accuracy = np.asarray(metrics["train_accuracy"], dtype=np.float64)
    steps = np.diff(accuracy)
    if steps.size and np.mean(steps <= -0.03) >= 0.2:
        found["unstable"] = "unstable_optimization"
    if accuracy.size and np.nanmax(accuracy) < 0.7:
        found["not_converged"] = "underfitting"
    if steps.size and np.nanmax(steps) < 0.01:
        found["slow_convergence"] = "underfitting"
    return found


def sagemaker_findings(metrics: dict[str, np.ndarray], train_class_counts: np.ndarray,
                       val_error_by_class: np.ndarray) -> dict[str, str]:
    """SageMaker Debugger's rules that fire on a run, each mapped to a lossgap cause ({rule: cause})."""
    found = {}
    counts = np.asarray(train_class_counts, dtype=np.float64)
    present = counts[counts > 0]
    if (present.size and present.max() / present.min() > 10) or (np.nanmax(val_error_by_class) > 0.7):
        found["ClassImbalance"] = "class_imbalance_bias"
    train = np.asarray(metrics["train_loss"], dtype=np.float64)
    val = np.asarray(metrics["val_loss"], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (val - train) / train
    if np.any(ratio > 0.1):
        found["Overfit"] = "overfitting"
    if _stalled(val, 10, 0.01) or _stalled(train, 5, 0.01):
        found["Overtraining"] = "overfitting"
    if any(math.isfinite(train[t - 10]) and train[t - 10] > 0 and (train[t - 10] - train[t]) / train[t - 10] < 0.001
           for t in range(10, train.size)):
        found["LossNotDecreasing"] = "underfitting"
    return found


def _stalled(loss: np.ndarray, patience: int, delta: float) -> bool:
    """True when ``loss`` went ``patience`` epochs without improving on its best by ``delta``."""
    best, waited = math.inf, 0
    for value in loss:
        if math.isfinite(value) and value < best - delta:
            best, waited = value, 0
        else:
            waited += 1
            if waited >= patience:
                return True
    return False


def verdict(findings: dict[str, str], order: tuple[str, ...]) -> str:
    """The cause of the first problem in ``order`` that fired, or "healthy"."""
    for problem in order:
        if problem in findings:
            return findings[problem]
    return HEALTHY


AUTOTRAINER_PROBLEMS = ("explode", "unstable", "not_converged", "slow_convergence")
SAGEMAKER_RULES = ("ClassImbalance", "Overfit", "Overtraining", "LossNotDecreasing")


def best_order(rows: list[dict], key: str, problems: tuple[str, ...], is_correct) -> tuple[tuple[str, ...], float]:
    """The priority order of ``problems`` that maximises top-1 accuracy over ``rows`` (each holding its
    findings under ``key``), and that accuracy. ``is_correct(row, cause)`` judges one answer."""
    best = (problems, -1.0)
    for order in itertools.permutations(problems):
        accuracy = float(np.mean([is_correct(row, verdict(row[key], order)) for row in rows])) if rows else 0.0
        if accuracy > best[1]:
            best = (order, accuracy)
    return best
