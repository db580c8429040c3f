"""The in-memory data type every layer above works with: padded sequences, their lengths, labels and ids."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from lossgap.errors import DataError


@dataclass(frozen=True, eq=False)
class SequenceData:
    """A labelled set of variable-length multivariate sequences, padded to a common length.

    Attributes:
        features: float32 array (N, T, F), zero beyond each sequence's length.
        lengths: int64 array (N,), each in [1, T]: the number of valid time steps.
        labels: int64 array (N,), each in [0, len(class_names)).
        ids: array (N,) of unique sample ids (int64 or str), used in every per-sample result.
        class_names: the name of each class index, in order.
        name: a short description of where the data came from (shown in reports).
    """

    features: np.ndarray
    lengths: np.ndarray
    labels: np.ndarray
    ids: np.ndarray
    class_names: tuple[str, ...]
    name: str = "data"
    split: str = field(default="train")

    def __post_init__(self) -> None:
        where = f"{self.name} ({self.split} split)"
        features = np.asarray(self.features)
        if features.ndim != 3:
            raise DataError(
                f"{where}: X must have 3 dimensions (samples, time steps, features), got shape {features.shape}; "
                "reshape univariate data to (N, T, 1)"
            )
        if not np.issubdtype(features.dtype, np.number) or np.issubdtype(features.dtype, np.complexfloating):
            raise DataError(f"{where}: X must be real numbers, got dtype {features.dtype}; convert it to float")
        features = _as_float32(features, self.ids, where)
        n, t, f = features.shape
        if n == 0 or t == 0 or f == 0:
            raise DataError(f"{where}: X is empty (shape {features.shape}); provide at least one sample, step, feature")
        lengths = np.asarray(self.lengths)
        if lengths.shape != (n,):
            raise DataError(f"{where}: lengths has shape {lengths.shape}, expected ({n},); give one length per sample")
        if not np.issubdtype(lengths.dtype, np.integer):
            if not np.all(np.mod(lengths, 1) == 0):
                raise DataError(f"{where}: lengths must be whole numbers; store them as integers")
        lengths = lengths.astype(np.int64)
        if lengths.min() < 1 or lengths.max() > t:
            raise DataError(
                f"{where}: lengths must lie in [1, {t}] (the padded length), got [{lengths.min()}, {lengths.max()}]; "
                "fix the lengths array or pad X to the longest sequence"
            )
        labels = np.asarray(self.labels)
        if labels.shape != (n,):
            raise DataError(
                f"{where}: y has {labels.shape[0] if labels.ndim else 0} labels but X has {n} samples; "
                "give exactly one label per sample"
            )
        labels = labels.astype(np.int64)
        num_classes = len(self.class_names)
        if labels.min() < 0 or labels.max() >= num_classes:
            raise DataError(
                f"{where}: labels must lie in [0, {num_classes}), got [{labels.min()}, {labels.max()}]; "
                "encode labels as class indices"
            )
        ids = np.asarray(self.ids)
        if ids.shape != (n,):
            raise DataError(f"{where}: ids has shape {ids.shape}, expected ({n},); give one id per sample")
        unique, counts = np.unique(ids, return_counts=True)
        if unique.size != n:
            repeated = unique[counts > 1]
            first = repeated[0].item()
            raise DataError(f"{where}: sample ids are not unique ({repeated.size} repeated, e.g. {first!r} "
                            f"{int(counts[counts > 1][0])} times); give every sample its own id")
        object.__setattr__(self, "features", features)
        object.__setattr__(self, "lengths", lengths)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "class_names", tuple(str(name) for name in self.class_names))

    @property
    def num_samples(self) -> int:
        """Number of sequences N."""
        return int(self.features.shape[0])

    @property
    def max_length(self) -> int:
        """Padded length T (time steps)."""
        return int(self.features.shape[1])

    @property
    def num_features(self) -> int:
        """Features per time step F."""
        return int(self.features.shape[2])

    @property
    def num_classes(self) -> int:
        """Number of classes C (including classes with no sample in this split)."""
        return len(self.class_names)

    @property
    def has_variable_lengths(self) -> bool:
        """True when not every sequence fills the padded length."""
        return bool((self.lengths != self.max_length).any())

    def class_counts(self) -> np.ndarray:
        """Samples per class, int64 array (C,)."""
        return np.bincount(self.labels, minlength=self.num_classes).astype(np.int64)

    def subset(self, indices: np.ndarray, split: str | None = None) -> SequenceData:
        """The samples at ``indices`` (positions, not ids), optionally relabelled as another split."""
        indices = np.asarray(indices, dtype=np.int64)
        return SequenceData(
            features=self.features[indices],
            lengths=self.lengths[indices],
            labels=self.labels[indices],
            ids=self.ids[indices],
            class_names=self.class_names,
            name=self.name,
            split=split or self.split,
        )

    def with_features(self, features: np.ndarray) -> SequenceData:
        """The same samples with new features of the same (N, T) (used by preprocessing)."""
        return SequenceData(
            features=features,
            lengths=self.lengths,
            labels=self.labels,
            ids=self.ids,
            class_names=self.class_names,
            name=self.name,
            split=self.split,
        )

    def with_labels(self, labels: np.ndarray) -> SequenceData:
        """The same samples with other labels (used by the permuted-label control)."""
        return SequenceData(
            features=self.features,
            lengths=self.lengths,
            labels=labels,
            ids=self.ids,
            class_names=self.class_names,
            name=self.name,
            split=self.split,
        )


def _as_float32(features: np.ndarray, ids: np.ndarray, where: str) -> np.ndarray:
    """``features`` as a C-contiguous float32 array; DataError (one line, naming the first bad sample by id, step
    and feature) for NaN or inf, and for a finite value beyond float32's range, which the cast would make inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        cast = np.ascontiguousarray(features, dtype=np.float32)
    bad = ~np.isfinite(cast)
    if not bad.any():
        return cast
    with np.errstate(over="ignore", invalid="ignore"):
        overflow = bad & np.isfinite(features)
    ids = np.asarray(ids)

    def place(sample: int, step: int, feature: int) -> str:
        named = f" (id {ids[sample]})" if ids.shape == (features.shape[0],) else ""
        return f"sample {sample}{named}, step {step}, feature {feature}"

    if overflow.any():
        first = tuple(int(index) for index in np.argwhere(overflow)[0])
        raise DataError(f"{where}: X holds {float(features[first]):g} at {place(*first)}, beyond float32's range "
                        f"(+-{float(np.finfo(np.float32).max):.3g}), which lossgap trains in; rescale that feature "
                        "(e.g. divide it by a power of 10) before training")
    first = tuple(int(index) for index in np.argwhere(bad)[0])
    count = int(bad.any(axis=(1, 2)).sum())
    raise DataError(f"{where}: X contains NaN or inf in {count} sample(s) (first: {place(*first)}); impute or drop "
                    "them before training")


@dataclass(frozen=True, eq=False)
class DatasetSplits:
    """Train, validation and optional test data from one source, with the same classes and features.

    ``val`` chooses epochs and settings; ``test`` never chooses anything and is only reported.
    """

    train: SequenceData
    val: SequenceData
    test: SequenceData | None = None
    source: str = ""
    val_is_fixed: bool = False

    def permuted_control(self, seed: int) -> DatasetSplits:
        """The same splits with train labels shuffled within train (val and test keep their real labels).

        The class balance stays; any link between inputs and labels is destroyed, so whatever val accuracy the
        control reaches is what a configuration gets from nothing.
        """
        permuted = np.random.default_rng(seed).permutation(self.train.labels)
        return DatasetSplits(train=self.train.with_labels(permuted), val=self.val, test=self.test,
                             source=self.source, val_is_fixed=self.val_is_fixed)

    def __post_init__(self) -> None:
        parts = [("val", self.val)] + ([("test", self.test)] if self.test is not None else [])
        for split_name, part in parts:
            if part.class_names != self.train.class_names:
                raise DataError(
                    f"{self.where}: the {split_name} split has classes {list(part.class_names)} but "
                    f"train has {list(self.train.class_names)}; use one label set for all splits"
                )
            if part.num_features != self.train.num_features:
                raise DataError(
                    f"{self.where}: the {split_name} split has {part.num_features} features per step "
                    f"but train has {self.train.num_features}; give every split the same features"
                )
        if len(np.unique(self.train.labels)) < 2:
            raise DataError(
                f"{self.where}: the training split has fewer than 2 classes; "
                "a classifier needs samples of at least 2 classes"
            )
        unseen = self.train.class_counts() == 0
        for split_name, part in parts:
            counts = part.class_counts()
            missing = np.flatnonzero(unseen & (counts > 0))
            if missing.size:
                # The model can never predict such a class: its samples would only add loss that looks like
                # overfitting (val) or cap the reported accuracy (test).
                cls = int(missing[0])
                others = f" (and {missing.size - 1} more such class(es))" if missing.size > 1 else ""
                raise DataError(
                    f"{self.where}: class '{self.class_names[cls]}' has {counts[cls]} {split_name} "
                    f"sample(s) but none in train{others}, so the model can never predict it; add train samples "
                    f"of it or drop its {split_name} samples"
                )

    @property
    def where(self) -> str:
        """The source as errors name it: a data file by its name (as the file readers do), else the source."""
        if self.source.lower().endswith((".npz", ".csv")):
            return os.path.basename(self.source)
        return self.source or "data"

    def splits(self) -> dict[str, SequenceData]:
        """The present splits by name, in the order train, val, test."""
        out = {"train": self.train, "val": self.val}
        if self.test is not None:
            out["test"] = self.test
        return out

    @property
    def class_names(self) -> tuple[str, ...]:
        """Class names shared by all splits."""
        return self.train.class_names

    @property
    def num_features(self) -> int:
        """Features per time step."""
        return self.train.num_features

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return self.train.num_classes
