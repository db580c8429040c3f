"""lossgap: why does my LSTM's accuracy plateau while the loss keeps falling?

Train LSTM sequence classifiers (or record your own loop), diagnose the cause of the curves with evidence,
and try the remedies. The public API is re-exported here; everything else may change.
"""

__version__ = "0.1.0"

from lossgap.api import TrainResult, diagnose, save_recorded_run, train  # noqa: E402
from lossgap.data import DatasetSplits, SequenceData, load_splits  # noqa: E402
from lossgap.demo import run_demo  # noqa: E402
from lossgap.diagnosis import CAUSES, Diagnosis, Remedy, Verdict  # noqa: E402
from lossgap.errors import ConfigError, DataError, LossgapError, RunDirError  # noqa: E402
from lossgap.model import LSTMClassifier  # noqa: E402
from lossgap.run.rundir import RunRecord, read_run  # noqa: E402
from lossgap.training.config import (DataConfig, EarlyStoppingConfig, ModelConfig, OptimizerConfig,  # noqa: E402
                                     TrainConfig)
from lossgap.training.recorder import Recorder  # noqa: E402

__all__ = [
    "CAUSES", "ConfigError", "DataConfig", "DataError", "DatasetSplits", "Diagnosis", "EarlyStoppingConfig",
    "LSTMClassifier", "LossgapError", "ModelConfig", "OptimizerConfig", "Recorder", "Remedy", "RunDirError",
    "RunRecord", "SequenceData", "TrainConfig", "TrainResult", "Verdict", "__version__", "diagnose", "load_splits",
    "read_run", "run_demo", "save_recorded_run", "train",
]
