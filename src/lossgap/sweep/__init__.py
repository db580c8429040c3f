"""Hyperparameter sweeps with Optuna: TPE, pruning, local workers or a shared database."""

from lossgap.sweep.space import SearchSpace
from lossgap.sweep.study import SweepSettings, best_command, run_sweep

__all__ = ["SearchSpace", "SweepSettings", "best_command", "run_sweep"]
