"""How far a split's inputs lie from the training split's, feature by feature: a val split preprocessed or recorded
otherwise than train (scaled on its own, shifted, another sensor) makes every val figure measure the difference too.

A trial's GunPoint with its val inputs shifted by 1.5 standard deviations read no signal 0.95 (train fitted, val at
chance) without a word on the inputs; unshifted, the same model reached val 0.988.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lossgap.data.sequence import DatasetSplits, SequenceData

#: A feature's mean this many training standard deviations from train's, beyond SHIFT_Z standard errors, or its
#: spread (interquartile range) SCALE_RATIO times train's or less than 1 / SCALE_RATIO of it on MIN_SAMPLES samples or
#: more, is a shift. Splits drawn at random from one source differ by about 1 / sqrt(N) standard deviations. The
#: spread is the interquartile range, not the standard deviation: a heavy-tailed feature (a per-sample level
#: exp(N(0, 1.5))) had its standard deviation 2.6x off on val splits lossgap carved itself, on every seed tried.
MEAN_SHIFT, SHIFT_Z, SCALE_RATIO, MIN_SAMPLES = 0.5, 4.0, 2.0, 20
#: Step values a split's quartiles are read from at most (an even stride through them: a million sequences cost a
#: sort of this many, not of all).
QUANTILE_VALUES = 200_000


@dataclass(frozen=True)
class InputShift:
    """The feature of a split whose inputs lie farthest from train's: ``mean_shift`` (its mean's distance from
    train's, in training standard deviations of that feature over all valid steps; None for a feature constant in
    train), ``z`` (that distance in standard errors of the per-sample means), ``scale_ratio`` (its interquartile range
    over train's; None where train's is 0), ``train_mean`` and ``mean`` (the two means), ``train_constant`` (train
    holds one value of it) and ``shifted`` (see MEAN_SHIFT; a feature constant in train is shifted when the split's
    values differ from it)."""

    feature: int
    mean_shift: float | None
    z: float
    scale_ratio: float | None
    train_mean: float
    mean: float
    train_constant: bool
    shifted: bool

    def to_dict(self) -> dict:
        """The JSON form config.json keeps."""
        return {"feature": self.feature, "mean_shift": self.mean_shift, "z": self.z, "scale_ratio": self.scale_ratio,
                "train_mean": self.train_mean, "mean": self.mean, "train_constant": self.train_constant,
                "shifted": self.shifted}


#: Samples whose steps are summed at a time: memory stays a chunk's float64 copy however large the split.
CHUNK = 65536


def _step_stats(data: SequenceData) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per feature: mean, standard deviation, interquartile range and range (max - min) over the valid steps of every
    sample, and the (N, F) per-sample means, float64. Padding is zero by construction (:class:`SequenceData`), so sums
    need no mask; the extremes and the quartiles read valid steps only."""
    count_steps = float(data.lengths.sum())
    sums = np.empty((data.num_samples, data.num_features))
    squares = np.zeros(data.num_features)
    highest = np.full(data.num_features, -np.inf)
    lowest = np.full(data.num_features, np.inf)
    for start in range(0, data.num_samples, CHUNK):
        chunk = data.features[start:start + CHUNK].astype(np.float64)
        sums[start:start + CHUNK] = chunk.sum(axis=1)
        squares += np.einsum("ntf,ntf->f", chunk, chunk)
        valid = (np.arange(data.max_length)[None, :] < data.lengths[start:start + CHUNK, None])[:, :, None]
        highest = np.maximum(highest, np.where(valid, chunk, -np.inf).max(axis=(0, 1)))
        lowest = np.minimum(lowest, np.where(valid, chunk, np.inf).min(axis=(0, 1)))
    mean = sums.sum(axis=0) / count_steps
    # An even stride through the samples, whole sequences at a time, until QUANTILE_VALUES steps are read.
    stride = max(1, int(count_steps // QUANTILE_VALUES))
    picked = np.arange(0, data.num_samples, stride)
    mask = np.arange(data.max_length)[None, :] < data.lengths[picked, None]
    low, high = np.percentile(data.features[picked][mask].astype(np.float64), [25, 75], axis=0)
    return (mean, np.sqrt(np.maximum(squares / count_steps - mean ** 2, 0.0)), high - low, highest - lowest,
            sums / data.lengths[:, None])


def input_shift(train: SequenceData, other: SequenceData) -> InputShift:
    """The feature of ``other`` whose inputs lie farthest from ``train``'s (see :class:`InputShift`)."""
    return _shift(train, _step_stats(train), other)


def input_shift_payload(splits: DatasetSplits) -> dict:
    """config.json's ``data.input_shift``: per split other than train, :func:`input_shift` as a dict."""
    return {name: shift.to_dict() for name, shift in input_shifts(splits).items()}


def splits_of_inputs(inputs: dict, lengths: dict | None = None) -> DatasetSplits:
    """The inputs an own loop's model saw, per split (``{"train": X, "val": X[, "test": X]}``, arrays or tensors of
    shape (N, T, F), or (N, F) for one step), as unlabelled :class:`DatasetSplits` to compare with
    :func:`input_shifts`; ``lengths`` (the same keys, (N,) valid steps per sample) leaves padding out, and without
    them leading and trailing all-zero steps are left out as padding. DataError (one line) for a split that is missing
    or malformed."""
    from lossgap.data.sequence import SequenceData
    from lossgap.errors import DataError

    unknown = sorted(set(inputs) - {"train", "val", "test"})
    if unknown or not {"train", "val"} <= set(inputs):
        raise DataError(f"inputs has splits {sorted(inputs)}; give the inputs the model saw for 'train' and 'val' "
                        "(and 'test' if recorded), as inputs={'train': x_train, 'val': x_val}")
    parts = {}
    for name, values in inputs.items():
        array = _host_array(values)
        if array.ndim == 2:
            array = array[:, None, :]
        count = array.shape[0] if array.ndim else 0
        given = (lengths or {}).get(name)
        if given is None and array.ndim == 3 and array.size:
            array, steps = _zero_padding_left_out(array)
        else:
            steps = np.full(count, array.shape[1] if array.ndim == 3 else 1) if given is None else _host_array(given)
        if array.ndim == 3 and steps.shape == (count,) and steps.size and steps.min() >= 1:
            # Padding beyond each length holds whatever the loop put there; the statistics read valid steps only.
            valid = np.arange(array.shape[1])[None, :] < steps[:, None]
            array = np.where(valid[..., None], array, 0)
        # Labels play no part in the statistics; two placeholder classes satisfy the splits' checks.
        parts[name] = SequenceData(features=array, lengths=steps, labels=np.arange(count) % 2, ids=np.arange(count),
                                   class_names=("any", "other"), name="the inputs passed", split=name)
    return DatasetSplits(train=parts["train"], val=parts["val"], test=parts.get("test"))


def _zero_padding_left_out(array: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, F) ``array`` with each sample's steps between its first and last step holding a nonzero feature moved to
    the front, zeros after, and those steps' counts (N,) (at least 1): without ``lengths``, leading and trailing steps
    whose features are all exactly 0 are read as padding. Counted as values, they put a split's quartiles on the zeros,
    and a split that happens to hold more padding then reads as rescaled (a trial's front-padded JapaneseVowels, 47%
    zeros, prepared alike for every split, had read "val inputs differ: its spread 0.33x train's" on 4 of 14 random
    splits)."""
    holds = np.any(array != 0, axis=2)  # (N, T): the step holds a nonzero feature
    steps = array.shape[1]
    first = holds.argmax(axis=1)
    last = steps - 1 - holds[:, ::-1].argmax(axis=1)
    counts = np.where(holds.any(axis=1), last - first + 1, 1)
    index = np.minimum(first[:, None] + np.arange(steps)[None, :], steps - 1)
    moved = np.take_along_axis(array, index[:, :, None], axis=1)
    return np.where((np.arange(steps)[None, :] < counts[:, None])[..., None], moved, 0), counts


def _host_array(values) -> np.ndarray:
    """``values`` (an array, a sequence or a tensor on any device) as a numpy array."""
    return np.asarray(values.detach().cpu() if hasattr(values, "detach") else values)


def input_shifts(splits: DatasetSplits) -> dict[str, InputShift]:
    """:func:`input_shift` of every split but train, by split name, train's statistics computed once."""
    train_stats = _step_stats(splits.train)
    return {name: _shift(splits.train, train_stats, part) for name, part in splits.splits().items()
            if name != "train"}


def _shift(train: SequenceData, train_stats: tuple, other: SequenceData) -> InputShift:
    """:func:`input_shift` with train's :func:`_step_stats` given."""
    train_mean, train_sd, train_iqr, train_range, train_samples = train_stats
    other_mean, _, other_iqr, _, other_samples = _step_stats(other)
    difference = np.abs(other_mean - train_mean)
    constant = train_range == 0
    # A feature train holds at one value: any other value in the split is new to the model.
    constant_shift = constant & (difference > 1e-6 * (1.0 + np.abs(train_mean)))
    mean_shift = difference / np.where(train_sd > 0, train_sd, np.nan)
    error = np.sqrt(train_samples.var(axis=0) / train.num_samples + other_samples.var(axis=0) / other.num_samples)
    z = difference / np.where(error > 0, error, np.nan)
    ratio = other_iqr / np.where(train_iqr > 0, train_iqr, np.nan)
    enough = other.num_samples >= MIN_SAMPLES
    # The farthest feature by the larger of its departures, each measured against its threshold.
    departure = np.fmax(np.nan_to_num(mean_shift / MEAN_SHIFT, nan=0.0, posinf=0.0),
                        np.nan_to_num(np.abs(np.log(ratio)) / math.log(SCALE_RATIO), nan=0.0, posinf=0.0)
                        * enough)
    departure = np.where(constant_shift, np.inf, departure)
    feature = int(np.argmax(departure))
    shift = None if constant[feature] else float(np.nan_to_num(mean_shift[feature], nan=0.0))
    spread = None if not np.isfinite(ratio[feature]) else float(ratio[feature])
    score = float(np.nan_to_num(z[feature], nan=0.0, posinf=1e9))
    shifted = bool(constant_shift[feature]
                   or (shift is not None and shift >= MEAN_SHIFT and score >= SHIFT_Z)
                   or (enough and spread is not None and spread > 0 and abs(math.log(spread)) >= math.log(SCALE_RATIO)))
    return InputShift(feature=feature, mean_shift=shift, z=min(score, 1e9), scale_ratio=spread,
                      train_mean=float(train_mean[feature]), mean=float(other_mean[feature]),
                      train_constant=bool(constant[feature]), shifted=shifted)
