"""The LSTM sequence classifier (``--model lstm``, the default).

The article's ``SimpleLSTM`` is ``LSTMClassifier(num_layers=1)`` and its ``MultiLayerLSTM`` is
``num_layers=2``; unlike them, the head never reads padding (see :class:`RecurrentClassifier`).
"""

from __future__ import annotations

from torch import nn

from lossgap.model.recurrent import RecurrentClassifier


class LSTMClassifier(RecurrentClassifier):
    """An LSTM over (batch, time, features) and a linear head on the readout of its valid steps."""

    KIND = "lstm"
    CELL = nn.LSTM
    CELL_NAME = "lstm"
