"""Hyperparameter sweeps with Optuna: TPE, pruning, local workers or a shared database, exact trial counts.

Names are resolved on first use (PEP 562): the CLI reads the search space's declarations without importing
optuna.
"""

from __future__ import annotations

from lossgap.lazy import lazy_getattr

_EXPORTS = {
    "sweep_figures": "lossgap.sweep.figures", "SearchSpace": "lossgap.sweep.space",
    "StorageError": "lossgap.sweep.storage",
    "SweepError": "lossgap.sweep.study", "SweepResult": "lossgap.sweep.study", "SweepSettings": "lossgap.sweep.settings",
    "TrialReport": "lossgap.sweep.study", "run_sweep": "lossgap.sweep.study",
    "best_command": "lossgap.sweep.summary", "best_config": "lossgap.sweep.summary", "best_trial": "lossgap.sweep.summary",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr("lossgap.sweep", _EXPORTS)
