"""Fault injection on labelled sequence data: each function returns new data with one known defect.

The suite builds every fault case from clean data with these functions, so the true cause of a run is known
by construction and never read from the run itself. All functions are pure (numpy in, SequenceData out) and
draw randomness only from the generator they are given.
"""

from __future__ import annotations

import numpy as np

from lossgap.data.sequence import SequenceData
from lossgap.data.split import stratified_split


def pool(*parts: SequenceData, name: str) -> SequenceData:
    """One data set holding every sample of ``parts`` (padded to the longest), ids kept; split "train"."""
    length = max(part.max_length for part in parts)
    features = np.zeros((sum(part.num_samples for part in parts), length, parts[0].num_features), np.float32)
    start = 0
    for part in parts:
        features[start:start + part.num_samples, :part.max_length] = part.features
        start += part.num_samples
    return SequenceData(features=features, lengths=np.concatenate([part.lengths for part in parts]),
                        labels=np.concatenate([part.labels for part in parts]),
                        ids=np.concatenate([part.ids for part in parts]), class_names=parts[0].class_names,
                        name=name, split="train")


def split(data: SequenceData, val_fraction: float, seed: int) -> tuple[SequenceData, SequenceData]:
    """Stratified (train, val) split by ``seed`` (lossgap's own splitter)."""
    return stratified_split(data, val_fraction, seed)


def shuffle_labels(data: SequenceData, rng: np.random.Generator) -> SequenceData:
    """Labels permuted across samples: class shares kept, every link between inputs and labels destroyed."""
    return data.with_labels(rng.permutation(data.labels))


def flip_symmetric(data: SequenceData, rate: float, rng: np.random.Generator) -> tuple[SequenceData, np.ndarray]:
    """Exactly round(rate x N) labels moved to a uniformly drawn other class; returns (data, flipped ids)."""
    count = int(round(rate * data.num_samples))
    chosen = rng.choice(data.num_samples, size=count, replace=False)
    labels = data.labels.copy()
    labels[chosen] = (labels[chosen] + rng.integers(1, data.num_classes, size=count)) % data.num_classes
    return data.with_labels(labels), data.ids[chosen]


def flip_class_pair(data: SequenceData, source: int, target: int, rate: float,
                    rng: np.random.Generator) -> tuple[SequenceData, np.ndarray]:
    """Exactly round(rate x n_source) samples of class ``source`` relabelled ``target`` (class-conditional
    noise: the errors of a labeller who confuses two classes); returns (data, flipped ids)."""
    members = np.flatnonzero(data.labels == source)
    chosen = rng.choice(members, size=int(round(rate * members.size)), replace=False)
    labels = data.labels.copy()
    labels[chosen] = target
    return data.with_labels(labels), data.ids[chosen]


def imbalance(data: SequenceData, keep_class: int, rare_share: float, rng: np.random.Generator,
              min_count: int = 4) -> SequenceData:
    """Every class but ``keep_class`` subsampled so that each holds about ``rare_share`` of the result.

    With C classes and n kept samples, each rare class keeps max(min_count, round(rare_share x n /
    (1 - (C - 1) x rare_share))) samples: 2 classes at 0.05 give 95/5, 9 classes give 60% and 8 x 5%.
    """
    counts = data.class_counts()
    kept = counts[keep_class]
    others = data.num_classes - 1
    rare_count = max(min_count, int(round(rare_share * kept / max(1e-9, 1 - others * rare_share))))
    chosen = [np.flatnonzero(data.labels == keep_class)]
    for cls in range(data.num_classes):
        if cls != keep_class:
            members = np.flatnonzero(data.labels == cls)
            chosen.append(rng.choice(members, size=min(rare_count, members.size), replace=False))
    return data.subset(np.sort(np.concatenate(chosen)))


def subsample(data: SequenceData, count: int, rng: np.random.Generator) -> SequenceData:
    """A stratified random subset of ``count`` samples (each class keeps its share, at least 2 samples)."""
    shares = data.class_counts() / data.num_samples
    chosen = []
    for cls in range(data.num_classes):
        members = np.flatnonzero(data.labels == cls)
        take = min(members.size, max(2, int(round(shares[cls] * count))))
        chosen.append(rng.choice(members, size=take, replace=False))
    return data.subset(np.sort(np.concatenate(chosen)))


def stretch(data: SequenceData, factor: int) -> SequenceData:
    """Every time step repeated ``factor`` times: the same content as sequences ``factor`` x longer."""
    return SequenceData(features=np.repeat(data.features, factor, axis=1), lengths=data.lengths * factor,
                        labels=data.labels, ids=data.ids, class_names=data.class_names, name=data.name,
                        split=data.split)


def add_feature_noise(data: SequenceData, sigma: float, rng: np.random.Generator) -> SequenceData:
    """Gaussian noise of ``sigma`` (in units of each feature's standard deviation) on the valid steps."""
    valid = np.arange(data.max_length)[None, :] < data.lengths[:, None]
    scale = data.features[valid].std(axis=0)
    noise = rng.standard_normal(data.features.shape).astype(np.float32) * (sigma * scale)[None, None, :]
    return data.with_features(np.where(valid[..., None], data.features + noise, 0.0).astype(np.float32))


def prepare_otherwise(data: SequenceData, reference: SequenceData, scale: float, shift_sd: float) -> SequenceData:
    """``data`` as a split prepared otherwise than ``reference`` (a val split scaled or offset differently from
    train, as by another unit, a forgotten or separately fitted standardisation): each feature's deviation from
    ``reference``'s mean times ``scale``, then moved ``shift_sd`` of ``reference``'s standard deviations, on the valid
    steps."""
    reference_valid = np.arange(reference.max_length)[None, :] < reference.lengths[:, None]
    mean = reference.features[reference_valid].mean(axis=0)
    spread = reference.features[reference_valid].std(axis=0)
    valid = np.arange(data.max_length)[None, :] < data.lengths[:, None]
    moved = mean + (data.features - mean) * scale + shift_sd * spread
    return data.with_features(np.where(valid[..., None], moved, 0.0).astype(np.float32))
