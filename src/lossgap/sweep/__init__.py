"""Hyperparameter sweeps with Optuna: TPE, pruning, local workers or a shared database, exact trial counts."""

from lossgap.sweep.figures import sweep_figures
from lossgap.sweep.space import SearchSpace
from lossgap.sweep.storage import StorageError
from lossgap.sweep.study import SweepError, SweepResult, SweepSettings, TrialReport, run_sweep
from lossgap.sweep.summary import best_command, best_config, best_trial

__all__ = ["SearchSpace", "StorageError", "SweepError", "SweepResult", "SweepSettings", "TrialReport",
           "best_command", "best_config", "best_trial", "run_sweep", "sweep_figures"]
