"""Models: the sequence classifier families (LSTM, GRU, LSTM-FCN), their options and their registry."""

from lossgap.model.config import READOUTS, ModelConfig
from lossgap.model.registry import MODELS, build_model, model_class, model_from_hyperparameters

__all__ = ["MODELS", "READOUTS", "GRUClassifier", "LSTMClassifier", "LSTMFCNClassifier", "ModelConfig",
           "build_model", "model_class", "model_from_hyperparameters"]

# The classes import torch: they are loaded on first use, so the options and the registry stay light.
_CLASSES = {"LSTMClassifier": "lstm", "GRUClassifier": "gru", "LSTMFCNClassifier": "lstm-fcn"}


def __getattr__(name: str):
    if name in _CLASSES:
        return model_class(_CLASSES[name])
    raise AttributeError(f"module 'lossgap.model' has no attribute {name!r}")
