"""In-memory batching by tensor indexing: no DataLoader, no per-sample Python work."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from lossgap.data.sequence import SequenceData


@dataclass(frozen=True, eq=False)
class DeviceSplit:
    """One split's tensors, moved to the training device once.

    ``lengths`` is None when every sequence fills the padded length, so the model skips packing.
    ``lengths_cpu`` stays on the CPU because packing needs host lengths.
    """

    name: str
    features: torch.Tensor
    labels: torch.Tensor
    lengths: torch.Tensor | None
    lengths_cpu: torch.Tensor | None
    ids: np.ndarray

    @property
    def num_samples(self) -> int:
        """Samples in the split."""
        return int(self.labels.shape[0])

    @classmethod
    def from_data(cls, data: SequenceData, device: torch.device) -> DeviceSplit:
        """Copy ``data`` to ``device``; lengths are kept only when they vary."""
        variable = data.has_variable_lengths
        lengths_cpu = torch.from_numpy(data.lengths) if variable else None
        return cls(
            name=data.split,
            features=torch.from_numpy(data.features).to(device),
            labels=torch.from_numpy(data.labels).to(device),
            lengths=lengths_cpu.to(device) if variable else None,
            lengths_cpu=lengths_cpu,
            ids=data.ids,
        )

    def batch_lengths(self, index: torch.Tensor | slice) -> torch.Tensor | None:
        """Host lengths of the samples at ``index`` (None for fixed-length data)."""
        if self.lengths_cpu is None:
            return None
        if isinstance(index, torch.Tensor):
            index = index.cpu()
        return self.lengths_cpu[index]


def shuffled_batches(num_samples: int, batch_size: int, generator: torch.Generator,
                     device: torch.device) -> Iterator[torch.Tensor]:
    """Index tensors (on ``device``) of one shuffled pass; the last batch may be smaller."""
    order = torch.randperm(num_samples, generator=generator).to(device)
    return iter(order.split(batch_size))


def contiguous_slices(num_samples: int, batch_size: int) -> Iterator[slice]:
    """Slices covering 0..num_samples in order, each at most ``batch_size`` long."""
    for start in range(0, num_samples, batch_size):
        yield slice(start, min(start + batch_size, num_samples))
