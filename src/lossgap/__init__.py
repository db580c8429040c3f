"""lossgap: why does my LSTM's accuracy plateau while the loss keeps falling?

Train LSTM sequence classifiers (or record your own loop), diagnose the cause of the curves with evidence,
and try the remedies. The public API is re-exported here; everything else may change.

The names are resolved on first use (PEP 562), so ``import lossgap`` costs milliseconds and a command
imports only what it runs: diagnosing a run never loads torch, matplotlib or optuna.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "TrainResult": "lossgap.api", "diagnose": "lossgap.api", "save_recorded_run": "lossgap.api",
    "train": "lossgap.api",
    "DatasetSplits": "lossgap.data", "SequenceData": "lossgap.data", "load_splits": "lossgap.data",
    "run_demo": "lossgap.demo",
    "CAUSES": "lossgap.diagnosis", "Diagnosis": "lossgap.diagnosis", "Remedy": "lossgap.diagnosis",
    "Verdict": "lossgap.diagnosis",
    "ConfigError": "lossgap.errors", "DataError": "lossgap.errors", "LossgapError": "lossgap.errors",
    "RunDirError": "lossgap.errors",
    "LSTMClassifier": "lossgap.model",
    "RunRecord": "lossgap.run.rundir", "read_run": "lossgap.run.rundir",
    "DataConfig": "lossgap.training.config", "EarlyStoppingConfig": "lossgap.training.config",
    "ModelConfig": "lossgap.training.config", "OptimizerConfig": "lossgap.training.config",
    "TrainConfig": "lossgap.training.config",
    "Recorder": "lossgap.training.recorder",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lossgap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from lossgap.api import TrainResult, diagnose, save_recorded_run, train
    from lossgap.data import DatasetSplits, SequenceData, load_splits
    from lossgap.demo import run_demo
    from lossgap.diagnosis import CAUSES, Diagnosis, Remedy, Verdict
    from lossgap.errors import ConfigError, DataError, LossgapError, RunDirError
    from lossgap.model import LSTMClassifier
    from lossgap.run.rundir import RunRecord, read_run
    from lossgap.training.config import DataConfig, EarlyStoppingConfig, ModelConfig, OptimizerConfig, TrainConfig
    from lossgap.training.recorder import Recorder
