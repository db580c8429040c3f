"""LSTM-FCN (``--model lstm-fcn``): an LSTM branch beside a fully convolutional branch, as Karim et al. (2018).

The convolutional branch is the published one: three blocks of Conv1d (kernels 8, 5, 3; ``width``,
``2 * width``, ``width`` filters) with batch normalisation and ReLU, then global average pooling over time. Its
summary is concatenated with the LSTM's readout before the linear head; dropout acts on the LSTM branch only,
as published. The convolutions see the raw steps, the LSTM its (possibly patched) steps.

A prediction never depends on padding or batch mates: after every block the steps beyond a sequence's length
are set to zero (what a sequence alone sees as the convolution's zero padding), batch statistics are taken
over valid steps only, and the pooling averages valid steps only.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional

from lossgap.errors import ConfigError
from lossgap.model.lstm import LSTMClassifier

#: (kernel size, filters as a multiple of ``width``) of the three convolutional blocks, as published.
BLOCKS = ((8, 1), (5, 2), (3, 1))
#: Filters of the first and last block in the published model (the middle one has twice as many).
PUBLISHED_WIDTH = 128


class LSTMFCNClassifier(LSTMClassifier):
    """An LSTM and a 3-block temporal convolution branch side by side, one linear head on both summaries.

    Takes :class:`~lossgap.model.recurrent.RecurrentClassifier`'s arguments for the LSTM branch, and
    ``fcn_width``: filters of the first and last convolution (the middle one has twice as many).
    """

    KIND = "lstm-fcn"

    def __init__(self, input_size: int, hidden_size: int, num_classes: int, num_layers: int = 1,
                 dropout: float = 0.0, bidirectional: bool = False, readout: str = "last", patch_length: int = 1,
                 fcn_width: int = PUBLISHED_WIDTH) -> None:
        if int(fcn_width) < 1:
            raise ConfigError(f"fcn_width must be a positive integer, got {fcn_width}; pass e.g. 128")
        self.fcn_width = int(fcn_width)
        super().__init__(input_size, hidden_size, num_classes, num_layers=num_layers, dropout=dropout,
                         bidirectional=bidirectional, readout=readout, patch_length=patch_length)
        convolutions, norms = [], []
        channels = self.input_size
        for kernel, multiple in BLOCKS:
            filters = self.fcn_width * multiple
            # Padded explicitly in forward (as "same": (k - 1) // 2 steps before, the rest after): torch's
            # padding="same" copies the input for even kernels.
            convolutions.append(nn.Conv1d(channels, filters, kernel))
            norms.append(nn.BatchNorm1d(filters))
            channels = filters
        self.convolutions = nn.ModuleList(convolutions)
        self.norms = nn.ModuleList(norms)

    @property
    def summary_size(self) -> int:
        """Features the head reads: the LSTM readout's beside the last block's filters."""
        return super().summary_size + self.fcn_width * BLOCKS[-1][1]

    def hyperparameters(self) -> dict[str, int | float | bool | str]:
        """The LSTM's arguments plus ``fcn_width`` (plain types, for checkpoints)."""
        return {**super().hyperparameters(), "fcn_width": self.fcn_width}

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (batch, num_classes) for padded sequences (batch, time, features) of ``lengths`` valid steps."""
        recurrent = self.head_dropout(super().summary(features, lengths))
        return self.head(torch.cat([recurrent, self.convolution_summary(features, lengths)], dim=1))

    def summary(self, features: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """(batch, summary_size): the LSTM readout and the pooled convolution features, side by side."""
        return torch.cat([super().summary(features, lengths), self.convolution_summary(features, lengths)], dim=1)

    def convolution_summary(self, features: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """(batch, fcn_width): the convolution branch averaged over each sequence's valid steps."""
        steps = features.shape[1]
        valid = None
        if lengths is not None and int(lengths.min()) < steps:
            valid = torch.arange(steps, device=features.device)[None, :] < lengths.to(features.device)[:, None]
        hidden = features.transpose(1, 2)   # (batch, channels, time), as Conv1d reads it
        for convolution, norm in zip(self.convolutions, self.norms, strict=True):
            if valid is not None:
                hidden = hidden.masked_fill(~valid[:, None, :], 0.0)
            kernel = convolution.kernel_size[0]
            hidden = convolution(functional.pad(hidden, ((kernel - 1) // 2, kernel // 2)))
            hidden = functional.relu(self._normalise(norm, hidden, valid))
        if valid is None:
            return hidden.mean(dim=2)
        hidden = hidden.masked_fill(~valid[:, None, :], 0.0)
        return hidden.sum(dim=2) / valid.sum(dim=1, keepdim=True).to(hidden.dtype)

    @staticmethod
    def _normalise(norm: nn.BatchNorm1d, hidden: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
        """Batch normalisation whose training statistics come from valid steps only (padding would bias them)."""
        if valid is None or not norm.training:
            return norm(hidden)
        steps_first = hidden.transpose(1, 2)                  # (batch, time, channels)
        normalised = torch.zeros_like(steps_first)
        normalised[valid] = norm(steps_first[valid])          # (valid steps, channels): one statistic per channel
        return normalised.transpose(1, 2)
