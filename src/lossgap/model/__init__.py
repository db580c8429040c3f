"""Models: the LSTM classifier."""

from lossgap.model.lstm import LSTMClassifier

__all__ = ["LSTMClassifier"]
