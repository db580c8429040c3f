"""How far a split's inputs lie from the training split's, feature by feature: a val split preprocessed or recorded
otherwise than train (scaled on its own, shifted, another sensor) makes every val figure measure the difference too.

A trial's GunPoint with its val inputs shifted by 1.5 standard deviations read no signal 0.95 (train fitted, val at
chance) without a word on the inputs; unshifted, the same model reached val 0.988.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lossgap.data.sequence import SequenceData

#: A feature's mean this many training standard deviations from train's, beyond SHIFT_Z standard errors, or its
#: spread SCALE_RATIO times train's or less than 1 / SCALE_RATIO of it, is a shift. Splits drawn at random from one
#: source differ by about 1 / sqrt(N) standard deviations.
MEAN_SHIFT, SHIFT_Z, SCALE_RATIO = 0.5, 4.0, 2.0


@dataclass(frozen=True)
class InputShift:
    """The feature of a split whose inputs lie farthest from train's: ``mean_shift`` (its mean's distance from
    train's, in training standard deviations of that feature over all valid steps), ``z`` (that distance in standard
    errors of the per-sample means), ``scale_ratio`` (its standard deviation over train's) and ``shifted`` (beyond
    MEAN_SHIFT and SHIFT_Z, or SCALE_RATIO)."""

    feature: int
    mean_shift: float
    z: float
    scale_ratio: float
    shifted: bool

    def to_dict(self) -> dict:
        """The JSON form config.json keeps."""
        return {"feature": self.feature, "mean_shift": self.mean_shift, "z": self.z,
                "scale_ratio": self.scale_ratio, "shifted": self.shifted}


def _step_stats(data: SequenceData) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per feature: mean and standard deviation over every valid step of every sample, and the (N, F) per-sample
    means, float64."""
    valid = np.arange(data.max_length)[None, :] < data.lengths[:, None]            # (N, T)
    features = data.features.astype(np.float64)
    sums = np.einsum("ntf,nt->nf", features, valid)
    sample_means = sums / data.lengths[:, None]
    count = float(valid.sum())
    mean = sums.sum(axis=0) / count
    squares = np.einsum("ntf,nt->f", features ** 2, valid) / count
    return mean, np.sqrt(np.maximum(squares - mean ** 2, 0.0)), sample_means


def input_shift(train: SequenceData, other: SequenceData) -> InputShift:
    """The feature of ``other`` whose inputs lie farthest from ``train``'s (see :class:`InputShift`); features train
    holds constant count by their spread only."""
    train_mean, train_sd, train_samples = _step_stats(train)
    other_mean, other_sd, other_samples = _step_stats(other)
    scale = np.where(train_sd > 0, train_sd, np.nan)
    mean_shift = np.abs(other_mean - train_mean) / scale
    error = np.sqrt(train_samples.var(axis=0) / train.num_samples + other_samples.var(axis=0) / other.num_samples)
    z = np.abs(other_mean - train_mean) / np.where(error > 0, error, np.nan)
    ratio = other_sd / scale
    # The farthest feature by the larger of its two departures, each measured against its threshold.
    departure = np.fmax(np.nan_to_num(mean_shift / MEAN_SHIFT, nan=0.0),
                        np.nan_to_num(np.abs(np.log(ratio)) / math.log(SCALE_RATIO), nan=0.0, posinf=0.0))
    feature = int(np.argmax(departure))
    shift, score, spread = (float(np.nan_to_num(value[feature], nan=0.0)) for value in (mean_shift, z, ratio))
    shifted = bool((shift >= MEAN_SHIFT and score >= SHIFT_Z)
                   or (spread > 0 and abs(math.log(spread)) >= math.log(SCALE_RATIO)))
    return InputShift(feature=feature, mean_shift=shift, z=score, scale_ratio=spread, shifted=shifted)
