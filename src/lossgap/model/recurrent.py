"""What the recurrent classifiers share: a recurrent layer over (batch, time, features), a readout of the
valid steps, a linear head; and the patching of long series into fewer recurrent steps.

Unlike the source article's models, the head reads each sequence's last *valid* step (or pools over the
valid steps), never padding. :mod:`lossgap.model.lstm` and :mod:`lossgap.model.gru` fix the recurrent cell.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from lossgap.errors import ConfigError
from lossgap.model.config import READOUTS
#: ``patch_length="auto"`` merges steps until the recurrent layer runs at most this many steps per sequence.
AUTO_PATCH_STEPS = 32


def auto_patch_length(max_length: int, max_steps: int = AUTO_PATCH_STEPS) -> int:
    """The smallest patch length (steps merged per recurrent step) that leaves at most ``max_steps`` recurrent steps.

    Short sequences (``max_length <= max_steps``) keep patch length 1. On the UCR/UEA benchmark of
    ``benchmarks/bench_accuracy.py``, 32 steps gave lower validation loss than 16 or 64.
    """
    return max(1, -(-int(max_length) // int(max_steps)))


def auto_readout(patch_length: int) -> str:
    """The readout ``readout="auto"`` means: "max" when steps are patched (long series), else "last".

    On the benchmark's validation splits the last step's state did best on short series (ItalyPowerDemand,
    24 steps; JapaneseVowels, up to 29) and the max over steps on long, patched ones (ArrowHead, OSULeaf).
    """
    return "max" if int(patch_length) > 1 else "last"


def patch_steps(features: torch.Tensor, lengths: torch.Tensor | None,
                patch_length: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Merge every ``patch_length`` consecutive steps into one: (B, T, F) -> (B, ceil(T / p), p * F).

    Steps at or beyond a sequence's length are zeroed first, so a sequence's last (partial) patch holds only
    its own values and zeros, whatever its batch mates' lengths or the padding values. Returns the patched
    features and the lengths in patches, ceil(length / p) (None stays None).
    """
    batch, steps, num_features = features.shape
    if lengths is not None:
        positions = torch.arange(steps, device=features.device)
        valid = positions[None, :] < lengths.to(features.device)[:, None]
        features = features.masked_fill(~valid[..., None], 0.0)
        lengths = torch.div(lengths + patch_length - 1, patch_length, rounding_mode="floor")
    missing = (-steps) % patch_length
    if missing:
        features = functional.pad(features, (0, 0, 0, missing))
    return features.reshape(batch, (steps + missing) // patch_length, patch_length * num_features), lengths


class RecurrentClassifier(nn.Module):
    """A recurrent layer (the subclass's ``CELL``) over (batch, time, features), then a linear head on a
    summary of its valid steps.

    Subclasses set ``KIND`` (the ``--model`` name), ``CELL`` (``nn.LSTM`` or ``nn.GRU``) and ``CELL_NAME``
    (the attribute, hence the checkpoint keys, of the recurrent layer: ``lstm.weight_ih_l0``...).

    Args:
        input_size: features per time step.
        hidden_size: recurrent units per direction.
        num_classes: output logits per sequence.
        num_layers: stacked recurrent layers.
        dropout: dropout between recurrent layers (PyTorch applies it only when num_layers > 1) and before the
            head, in [0, 1).
        bidirectional: run a second recurrent layer backwards; the head then reads both directions.
        readout: "last" (the article's choice: the final state, for the backward direction the state after
            reading back to step 0), "mean" or "max" (of the top layer's outputs over the valid steps).
        patch_length: consecutive steps merged into one recurrent step (1 = none). Long univariate series (hundreds
            of steps) train faster and keep gradients over fewer steps.
    """

    KIND = ""
    CELL: type[nn.RNNBase] = nn.LSTM
    CELL_NAME = "rnn"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_classes: int,
        num_layers: int = 1,
        dropout: float = 0.0,
        bidirectional: bool = False,
        readout: str = "last",
        patch_length: int = 1,
    ) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size),
                            ("num_classes", num_classes), ("num_layers", num_layers),
                            ("patch_length", patch_length)):
            if int(value) < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value}; pass a value >= 1")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must lie in [0, 1), got {dropout}; pass e.g. 0.2")
        if readout not in READOUTS:
            raise ConfigError(f"unknown readout {readout!r}; use one of {', '.join(READOUTS)}")
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_classes = int(num_classes)
        self.num_layers = int(num_layers)
        self.dropout_rate = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.readout = readout
        self.patch_length = int(patch_length)
        recurrent = self.CELL(
            input_size=self.input_size * self.patch_length,
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            batch_first=True,
            dropout=self.dropout_rate if self.num_layers > 1 else 0.0,
            bidirectional=self.bidirectional,
        )
        # Registered under the cell's own name, so an LSTM's checkpoints keep their keys (lstm.weight_ih_l0).
        self.add_module(self.CELL_NAME, recurrent)
        self.head_dropout = nn.Dropout(self.dropout_rate)
        self.head = nn.Linear(self.summary_size, self.num_classes)

    @property
    def recurrent(self) -> nn.RNNBase:
        """The recurrent layer (``nn.LSTM`` or ``nn.GRU``)."""
        return getattr(self, self.CELL_NAME)

    @property
    def summary_size(self) -> int:
        """Features of the readout the head reads: hidden size times directions."""
        return self.hidden_size * (2 if self.bidirectional else 1)

    def hyperparameters(self) -> dict[str, int | float | bool | str]:
        """The constructor arguments and the ``kind``, as stored in checkpoints (plain types, safe for
        weights_only loading); :func:`lossgap.model.model_from_hyperparameters` rebuilds the model from them."""
        return {
            "kind": self.KIND,
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_classes": self.num_classes,
            "num_layers": self.num_layers,
            "dropout": self.dropout_rate,
            "bidirectional": self.bidirectional,
            "readout": self.readout,
            "patch_length": self.patch_length,
        }

    def forward(self, features: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (batch, num_classes) for padded sequences (batch, time, features).

        ``lengths`` (batch,) gives each sequence's valid steps; None means every step is valid. Batches whose
        sequences share one length run unpacked on ``features[:, :length]`` (same result, less overhead);
        mixed lengths are packed so padding never reaches the recurrent layer.
        """
        return self.head(self.head_dropout(self.summary(features, lengths)))

    def summary(self, features: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """(batch, summary_size): what the head reads, from each sequence's valid steps only."""
        if self.patch_length > 1:
            features, lengths = patch_steps(features, lengths, self.patch_length)
        return self._summarise(features, lengths)

    def _summarise(self, features: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
        """(batch, directions * hidden): the readout of each sequence's valid steps."""
        lengths_cpu = None if lengths is None else lengths.detach().to("cpu", torch.int64)
        if lengths_cpu is not None and int(lengths_cpu.min()) == int(lengths_cpu.max()):
            features, lengths_cpu = features[:, :int(lengths_cpu.max())], None
        if lengths_cpu is None:
            outputs, final_hidden = self.recurrent(features)
        else:
            packed = pack_padded_sequence(features, lengths_cpu, batch_first=True, enforce_sorted=False)
            packed_outputs, final_hidden = self.recurrent(packed)
            if self.readout != "last":
                outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True)
        if isinstance(final_hidden, tuple):   # an LSTM's (h, c); a GRU returns h alone
            final_hidden = final_hidden[0]
        if self.readout == "last":
            # final_hidden is (layers * directions, batch, hidden); for packed input it holds each sequence's
            # state at its own last valid step (forward) and after reading back to step 0 (backward).
            if self.bidirectional:
                return torch.cat([final_hidden[-2], final_hidden[-1]], dim=1)
            return final_hidden[-1]
        if lengths_cpu is None:
            return outputs.mean(dim=1) if self.readout == "mean" else outputs.amax(dim=1)
        if self.readout == "mean":
            # pad_packed_sequence fills padding with zeros, so the sum covers valid steps only.
            return outputs.sum(dim=1) / lengths_cpu.to(outputs.device, outputs.dtype)[:, None]
        valid = (torch.arange(outputs.shape[1])[None, :] < lengths_cpu[:, None]).to(outputs.device)
        return outputs.masked_fill(~valid[..., None], float("-inf")).amax(dim=1)
