"""Reproducible randomness without touching the caller's global RNG state."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[torch.Generator]:
    """Inside the block torch's global RNG (weight init, dropout) starts from ``seed``; afterwards it is
    restored. Yields a CPU generator, also seeded, for shuffling."""
    cuda_devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda_devices):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        yield generator
