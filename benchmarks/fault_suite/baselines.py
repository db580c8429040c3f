"""Two published rule sets, re-implemented from their thresholds, scored on the same runs as lossgap.

AutoTrainer (Zhang et al., ICSE 2021), as its reference implementation decides (``AutoTrainer/utils/
monitor.py`` in github.com/shiningrain/AUTOTRAINER, default parameters), from the run's per-epoch figures:

- ``nan``: a non-finite train or val loss, or a val loss of 1e5 or more, or a non-finite gradient;
- ``explode_gradient`` / ``vanish_gradient``: its gradient ratio, the gradient norm of the first weight tensor
  over that of the last (``optimization.csv``; the tool reads the gradient of one batch per check, here the
  epoch's mean over the measured steps), above 70 in any epoch / below 1e-3 with the first norm below 1e-4;
- ``unstable_loss``: train accuracy's local maxima and minima, paired in order, differ by 0.03 or more in at
  least 20% as many pairs as there are epochs;
- ``not_converge``: the best train or val accuracy below 0.7;
- ``sc_accuracy`` (slow convergence): no epoch raised train accuracy, nor val accuracy, by 0.01 or more;
- the loss features (the last three) are only judged once 30% of the configured epochs have run.

Its decision logic (``IssueMonitor.determine``): a non-finite value is "explode"; else, when the model did
not converge or converges slowly, the first of "explode" (gradient ratio), "vanish", and "not_converge" (only
with slow convergence); otherwise "unstable" when the loss is unstable; else no problem. The tool's fifth
problem, dying ReLUs (70% zero gradients), needs gradient values the runs do not store, and the suite's
recurrent models have no ReLU before their head; it is left out. Problems map to lossgap causes: explode and
unstable -> ``unstable_optimization``; vanish and not_converge -> ``underfitting``.

Besides that decision, the suite also scores AutoTrainer's monitors in the priority order that suits the
suite best (``autotrainer_any_order``: explode, unstable, not converged, slow convergence, every order tried).

SageMaker Debugger's built-in rules with their documented defaults: Overfit ((val - train) / train > 0.1 for
1 step), Overtraining (no val-loss improvement of 0.01 in 10 steps, or no train-loss improvement in 5),
LossNotDecreasing (the loss fell by less than 0.1% over 10 steps) and ClassImbalance (largest / smallest
class count above 10, or a class mispredicted more than 70% of the time).

Both work on per-epoch figures (a "step" is an epoch here, since that is what every run records). Each
problem maps to the lossgap cause it corresponds to. SageMaker's rules have no published order, so
:func:`best_order` tries every order and keeps the one that scores best on the suite, as it does for
``autotrainer_any_order``: that favours the baselines, which keeps lossgap's margin honest.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

HEALTHY = "healthy"

#: AutoTrainer's default parameters (``default_param`` and ``loss_issue``'s defaults in its monitor.py).
RATIO_HIGH = 70.0          # beta_3
RATIO_LOW = 1e-3           # beta_1
FIRST_GRADIENT_LOW = 1e-4  # beta_2
SWING = 0.03               # zeta
SWING_RATE = 0.2           # eta
SLOW_GAIN = 0.01           # delta
SATISFIED_ACCURACY = 0.7   # Theta
JUDGMENT_POINT = 0.3
NAN_VAL_LOSS = 1e5
#: AutoTrainer's problems -> the lossgap cause each stands for.
AUTOTRAINER_CAUSES = {"explode": "unstable_optimization", "unstable": "unstable_optimization",
                      "vanish": "underfitting", "not_converge": "underfitting"}


@dataclass(frozen=True)
class AutoTrainerFeatures:
    """AutoTrainer's features of one run (see the module docstring)."""

    nan: bool
    explode_gradient: bool
    vanish_gradient: bool
    unstable_loss: bool
    not_converge: bool
    sc_accuracy: bool


def gradient_ratios(observations) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per observed epoch: first weight tensor's gradient norm / last one's, the first one's norm, and whether
    any observed gradient norm was non-finite. Empty arrays without observations."""
    if observations is None:
        return np.zeros(0), np.zeros(0), False
    names = [index for index, name in enumerate(observations.tensor_names) if "weight" in name.rsplit(".", 1)[-1]
             and "norm" not in name and "bn" not in name]
    observed = np.asarray(observations.measured_steps) > 0
    grads = np.asarray(observations.grad_norm, dtype=np.float64)[observed]
    non_finite = bool(np.any(~np.isfinite(grads))) if grads.size else False
    if len(names) < 2 or not grads.size:
        return np.zeros(0), np.zeros(0), non_finite
    first, last = grads[:, names[0]], grads[:, names[-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = first / last
    keep = np.isfinite(ratio)
    return ratio[keep], first[keep], non_finite


def _max_gain(accuracy: np.ndarray) -> float:
    """The largest rise between consecutive epochs, at least 0 (AutoTrainer's ``max_delta_acc``)."""
    steps = np.diff(accuracy)
    steps = steps[np.isfinite(steps)]
    return float(max(0.0, steps.max())) if steps.size else 0.0


def _unstable(accuracy: np.ndarray) -> bool:
    """AutoTrainer's ``ol_judge``: interior local maxima and minima paired in order, enough pairs >= SWING apart."""
    maxima, minima = [], []
    for i in range(1, accuracy.size - 1):
        before, here, after = accuracy[i - 1], accuracy[i], accuracy[i + 1]
        if here - before >= 0 and here - after >= 0:
            maxima.append(here)
        if here - before <= 0 and here - after <= 0:
            minima.append(here)
    swings = sum(1 for high, low in zip(maxima, minima) if high - low >= SWING)
    return swings >= SWING_RATE * accuracy.size


def autotrainer_features(metrics: dict[str, np.ndarray], observations=None,
                         configured_epochs: int | None = None) -> AutoTrainerFeatures:
    """AutoTrainer's features of a finished run (its last check): ``metrics`` as metrics.csv holds them,
    ``observations`` the run's optimization.csv (None: no gradient features), ``configured_epochs`` the
    epochs asked for (the loss features wait for 30% of them; None: judged at any length)."""
    train_loss = np.asarray(metrics["train_loss"], dtype=np.float64)
    val_loss = np.asarray(metrics["val_loss"], dtype=np.float64)
    train_accuracy = np.asarray(metrics["train_accuracy"], dtype=np.float64)
    val_accuracy = np.asarray(metrics["val_accuracy"], dtype=np.float64)
    ratio, first, non_finite_gradient = gradient_ratios(observations)
    nan = (not np.isfinite(train_loss).all() or not np.isfinite(val_loss).all()
           or bool(val_loss.size and val_loss[-1] >= NAN_VAL_LOSS) or non_finite_gradient)
    judged = configured_epochs is None or train_loss.size >= JUDGMENT_POINT * configured_epochs
    best = max(np.nanmax(train_accuracy, initial=0.0), 0.0), max(np.nanmax(val_accuracy, initial=0.0), 0.0)
    return AutoTrainerFeatures(
        nan=bool(nan),
        explode_gradient=bool(np.any(ratio > RATIO_HIGH)),
        vanish_gradient=bool(np.any((ratio < RATIO_LOW) & (first < FIRST_GRADIENT_LOW))),
        unstable_loss=bool(judged and _unstable(train_accuracy)),
        not_converge=bool(judged and min(best) < SATISFIED_ACCURACY),
        sc_accuracy=bool(judged and _max_gain(train_accuracy) < SLOW_GAIN and _max_gain(val_accuracy) < SLOW_GAIN))


def autotrainer_decision(features: AutoTrainerFeatures) -> str:
    """The lossgap cause AutoTrainer's own decision logic names (``IssueMonitor.determine``), or "healthy"."""
    problem = None
    if features.nan:
        problem = "explode"
    elif features.not_converge or features.sc_accuracy:
        if features.explode_gradient:
            problem = "explode"
        elif features.vanish_gradient:
            problem = "vanish"
        elif features.sc_accuracy:
            problem = "not_converge"
    elif features.unstable_loss:
        problem = "unstable"
    return AUTOTRAINER_CAUSES[problem] if problem else HEALTHY


def autotrainer_findings(features: AutoTrainerFeatures) -> dict[str, str]:
    """AutoTrainer's monitors that fired, each mapped to a lossgap cause ({monitor: cause}), for
    ``autotrainer_any_order``."""
    fired = {"explode": features.nan or features.explode_gradient, "unstable": features.unstable_loss,
             "not_converged": features.not_converge, "slow_convergence": features.sc_accuracy}
    causes = {"explode": "unstable_optimization", "unstable": "unstable_optimization",
              "not_converged": "underfitting", "slow_convergence": "underfitting"}
    return {monitor: causes[monitor] for monitor, on in fired.items() if on}


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
