"""The LSTM sequence classifier lossgap trains.

The article's ``SimpleLSTM`` is ``LSTMClassifier(num_layers=1)`` and its ``MultiLayerLSTM`` is
``num_layers=2``. Unlike the article, the head reads each sequence's last *valid* step, never padding.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from lossgap.errors import ConfigError


class LSTMClassifier(nn.Module):
    """An LSTM over (batch, time, features) followed by a linear head on the last valid hidden state.

    Args:
        input_size: features per time step.
        hidden_size: LSTM units per direction.
        num_classes: output logits per sequence.
        num_layers: stacked LSTM layers.
        dropout: dropout between LSTM layers (PyTorch applies it only when num_layers > 1) and before the
            head, in [0, 1).
        bidirectional: run a second LSTM backwards; the head then reads both directions' final states.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_classes: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
    ) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_classes", num_classes), ("num_layers", num_layers)):
            if int(value) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value}; pass a value >= 1")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout}; pass e.g. 0.2")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_classes = int(num_classes)
        self.num_layers = int(num_layers)
        self.dropout_rate = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.lstm = nn.LSTM(
            input_size=self.input_size,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            batch_first=True,
            dropout=self.dropout_rate if self.num_layers > 1 else 0.0,
            bidirectional=self.bidirectional,
        )
        self.head_dropout = nn.Dropout(self.dropout_rate)
        directions = 2 if self.bidirectional else 1
        self.head = nn.Linear(self.hidden_size * directions, self.num_classes)

    def hyperparameters(self) -> dict[str, int | float | bool]:
        """The constructor arguments, as stored in checkpoints (plain types, safe for weights_only loading)."""
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_classes": self.num_classes,
            "num_layers": self.num_layers,
            "dropout": self.dropout_rate,
            "bidirectional": self.bidirectional,
        }

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (batch, num_classes) for padded sequences (batch, time, features).

        ``lengths`` (batch,) gives each sequence's valid steps; None means every step is valid. Batches whose
        sequences share one length run unpacked on ``features[:, :length]`` (same result, less overhead);
        mixed lengths are packed so padding never reaches the LSTM.
        """
        if lengths is None:
            _, (final_hidden, _) = self.lstm(features)
        else:
            lengths_cpu = lengths.detach().to("cpu", torch.int64)
            shortest, longest = int(lengths_cpu.min()), int(lengths_cpu.max())
            if shortest == longest:
                _, (final_hidden, _) = self.lstm(features[:, :longest])
            else:
                packed = pack_padded_sequence(features, lengths_cpu, batch_first=True, enforce_sorted=False)
                _, (final_hidden, _) = self.lstm(packed)
        # final_hidden is (layers * directions, batch, hidden); for packed input it holds each sequence's
        # state at its own last valid step (forward) and after reading back to step 0 (backward).
        if self.bidirectional:
            last = torch.cat([final_hidden[-2], final_hidden[-1]], dim=1)
        else:
            last = final_hidden[-1]
        return self.head(self.head_dropout(last))
