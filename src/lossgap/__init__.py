"""lossgap: why does my LSTM's accuracy plateau while the loss keeps falling?

Train LSTM sequence classifiers (or record your own loop), diagnose the cause of the curves with evidence,
and try the remedies. The public API is re-exported here; everything else may change.

The names are resolved on first use (PEP 562), so ``import lossgap`` costs milliseconds and a command
imports only what it runs: diagnosing a run never loads torch, matplotlib or optuna.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from lossgap.version import __version__

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
    "GRUClassifier": "lossgap.model", "LSTMClassifier": "lossgap.model", "LSTMFCNClassifier": "lossgap.model",
    "ModelConfig": "lossgap.model", "build_model": "lossgap.model",
    "RunRecord": "lossgap.run.rundir", "read_run": "lossgap.run.rundir",
    "Predictions": "lossgap.run.predict", "average_predictions": "lossgap.run.predict", "predict": "lossgap.run.predict",
    "recover_recorded_run": "lossgap.run.recorded",
    "DataConfig": "lossgap.data", "EarlyStoppingConfig": "lossgap.training.config",
    "OptimizerConfig": "lossgap.training.config",
    "TrainConfig": "lossgap.training.config",
    "Recorder": "lossgap.training.recorder", "exit_rank": "lossgap.training.distributed",
}

#: Modules reachable as attributes (``lossgap.remedies.run_remedies`` after a bare ``import lossgap``), imported
#: on first use like the names above. The CLI (``lossgap.cli``) is left out: it is the command, not the API.
_SUBMODULES = ("analysis", "api", "data", "demo", "diagnosis", "dynamics", "errors", "integrations", "model",
               "observations", "parallel", "progress", "remedies", "report", "resume", "run", "sweep", "training",
               "workers")

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"lossgap.{name}")  # the import system sets it on the package
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lossgap' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | set(_SUBMODULES))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from lossgap.api import TrainResult, diagnose, save_recorded_run, train
    from lossgap.data import DatasetSplits, SequenceData, load_splits
    from lossgap.demo import run_demo
    from lossgap.diagnosis import CAUSES, Diagnosis, Remedy, Verdict
    from lossgap.errors import ConfigError, DataError, LossgapError, RunDirError
    from lossgap.model import GRUClassifier, LSTMClassifier, LSTMFCNClassifier, ModelConfig, build_model
    from lossgap.run.predict import Predictions, average_predictions, predict
    from lossgap.run.recorded import recover_recorded_run
    from lossgap.run.rundir import RunRecord, read_run
    from lossgap.data import DataConfig
    from lossgap.training.config import EarlyStoppingConfig, OptimizerConfig, TrainConfig
    from lossgap.training.distributed import exit_rank
    from lossgap.training.recorder import Recorder
