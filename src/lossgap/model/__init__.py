"""Models: the LSTM classifier."""

from lossgap.model.lstm import READOUTS, LSTMClassifier, auto_patch_length, auto_readout, patch_steps

__all__ = ["READOUTS", "LSTMClassifier", "auto_patch_length", "auto_readout", "patch_steps"]
