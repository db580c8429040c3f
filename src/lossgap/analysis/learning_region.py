"""Where a learning curve's power law holds: the shares of the training set whose runs learned.

Before its power law a learning curve has a small-data region (Hestness et al. 2017) where runs learn nothing
and sit at chance; a power law fitted through them bends too early. Pure numpy: arrays in, arrays out.
"""

from __future__ import annotations

import math

import numpy as np


def learning_region(accuracy: np.ndarray, *, chance: float, val_samples: int) -> np.ndarray:
    """bool (F,): the sizes inside the curve's power-law region, from ``accuracy`` (F, K), each seed's delivered
    val accuracy (fraction) at ascending sizes. Before its power law a curve has a small-data region (Hestness et
    al. 2017) whose runs learn nothing and sit at ``chance`` (the val majority share, :func:`chance_runs`); a
    power law through them bends too early. The region runs down from the largest size while most of a size's
    runs learned (more data does not unlearn) and starts at its smallest size where every run learned: a run at
    chance above that failed to train (the caller leaves it out). All False when no size qualifies."""
    accuracy = np.asarray(accuracy, dtype=np.float64).reshape(len(accuracy), -1)
    finished = np.isfinite(accuracy)
    failed = chance_runs(accuracy, chance=chance, val_samples=val_samples)
    learned = (failed.sum(axis=1) < finished.sum(axis=1) / 2) & finished.any(axis=1)
    region = np.zeros(len(accuracy), dtype=bool)
    for index in range(len(accuracy) - 1, -1, -1):
        if not learned[index] and finished[index].any():
            break
        region[index] = learned[index]
    every = region & ~failed.any(axis=1)
    if not every.any():
        return np.zeros(len(accuracy), dtype=bool)
    return region & (np.arange(len(accuracy)) >= int(np.argmax(every)))


def chance_runs(accuracy: np.ndarray, *, chance: float, val_samples: int) -> np.ndarray:
    """bool (F, K): the finished runs whose val accuracy (fraction) does not beat ``chance`` by two binomial
    standard errors of ``val_samples`` (runs that learned nothing)."""
    accuracy = np.asarray(accuracy, dtype=np.float64)
    margin = 2.0 * math.sqrt(max(chance * (1.0 - chance), 1e-12) / max(val_samples, 1))
    return np.isfinite(accuracy) & ~(accuracy > chance + margin)
