"""Training-time augmentation of time series, applied to each training batch on its device (``--augment-*``).

Three transformations from the time-series augmentation literature, each drawn independently per sequence:

- **Window slicing** (Le Guennec, Malinowski and Tavenard 2016, "Data augmentation for time series classification
  using convolutional neural networks"): a random window of RATIO of the sequence's length, stretched back to the
  full length by linear interpolation, so the class must be told from any large part of the series.
- **Magnitude scaling** (Um et al. 2017, "Data augmentation of wearable sensor data"): every feature of a sequence
  multiplied by its own factor drawn from N(1, SIGMA^2).
- **Jitter** (same source): Gaussian noise of standard deviation SIGMA added at every valid step.

Only the training batches are augmented: validation, test and the exact end-of-epoch pass over train
(``--record-train eval``) see the data as it is, so the recorded train figures are those of the real samples.
The random draws come from torch's generator of the batch's device, which training state saves, so a resumed
run draws what an uninterrupted one would. Padding stays untouched (a prediction never depends on it).
"""

from __future__ import annotations

import torch

from lossgap.training.config import AugmentConfig


def augment_batch(features: torch.Tensor, lengths: torch.Tensor | None, config: AugmentConfig) -> torch.Tensor:
    """``features`` (batch, steps, features) augmented as ``config`` asks; a new tensor, or ``features`` itself
    when nothing is asked. ``lengths`` (host or device) gives each sequence's valid steps; None means all."""
    if not config.enabled:
        return features
    batch, steps, _ = features.shape
    device = features.device
    valid = (torch.full((batch,), steps, device=device) if lengths is None
             else lengths.to(device=device, dtype=torch.long))
    step = torch.arange(steps, device=device)
    inside = step[None, :] < valid[:, None]
    augmented = features
    if config.slice is not None:
        augmented = window_slice(augmented, valid, config.slice, step, inside)
    if config.scale is not None:
        factors = 1.0 + config.scale * torch.randn(batch, 1, features.shape[2], device=device, dtype=features.dtype)
        augmented = torch.where(inside[:, :, None], augmented * factors, augmented)
    if config.jitter is not None:
        noise = config.jitter * torch.randn(features.shape, device=device, dtype=features.dtype)
        augmented = torch.where(inside[:, :, None], augmented + noise, augmented)
    return augmented


def window_slice(features: torch.Tensor, valid: torch.Tensor, ratio: float, step: torch.Tensor,
                 inside: torch.Tensor) -> torch.Tensor:
    """Each sequence replaced by a random window of ``ratio`` of its valid length, resampled (linearly) to that length.

    Step t of a sequence of length L reads position start + ratio * t, start uniform in [0, (1 - ratio)(L - 1)]:
    the last step lands at most on L - 1, so no value comes from padding.
    """
    batch, steps, width = features.shape
    last = (valid - 1).clamp(min=0)
    start = torch.rand(batch, device=features.device, dtype=features.dtype) * (1.0 - ratio) * last
    position = start[:, None] + ratio * step[None, :].to(features.dtype)
    position = torch.where(inside, position, step[None, :].to(features.dtype))
    low = position.floor().long().clamp(0, steps - 1)
    high = torch.minimum(low + 1, last[:, None]).clamp(min=0)
    high = torch.where(inside, high, low)
    weight = (position - low.to(features.dtype))[:, :, None]

    def at(index: torch.Tensor) -> torch.Tensor:
        return features.gather(1, index[:, :, None].expand(batch, steps, width))

    return at(low) * (1.0 - weight) + at(high) * weight
