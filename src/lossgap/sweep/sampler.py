"""The sweep's sampler: TPE whose random draws follow the trial number, so commands sharing a study never
propose the same point twice, and the same command in a fresh study proposes the same trials."""

from __future__ import annotations

from typing import Any

import numpy as np
import optuna


def make_sampler(base_seed: int, worker: int, trials_before: int) -> optuna.samplers.TPESampler:
    """TPE whose random draws for each trial start from a seed of the base seed and the trial's number.

    Trial numbers come from the study's database and are never shared, so workers, and commands started at
    the same moment on several machines (or twice on one), never propose the same random start-up point,
    while the same command in a fresh study proposes the same trials. Constant liar (Optuna's default) makes
    concurrent workers avoid the points still running. ``worker`` and ``trials_before`` only seed the
    sampler until its first trial.
    """
    return _TrialSeededTPE(base_seed, seed=int(np.random.SeedSequence([base_seed, worker, trials_before])
                                              .generate_state(1)[0]))


class _TrialSeededTPE(optuna.samplers.TPESampler):
    """TPESampler reseeded before every trial from (base seed, trial number); see :func:`make_sampler`."""

    def __init__(self, base_seed: int, **options: Any) -> None:
        super().__init__(**options)
        self._base_seed = base_seed

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        seed = int(np.random.SeedSequence([self._base_seed, trial.number]).generate_state(1)[0])
        # Both generators TPE draws from: its own (after the start-up trials) and the random start-up sampler's.
        for generator in (self._rng, self._random_sampler._rng):
            getattr(generator, "rng", generator).seed(seed)
        super().before_trial(study, trial)
