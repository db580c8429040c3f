"""Recorded training dynamics: what every sample of one split did in every epoch (pure numpy, no torch).

This is the contract between the recorder (training layer) and analysis: the recorder produces a
:class:`SplitDynamics` per split, the run directory stores it, and analysis reads nothing else per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Value of ``predicted`` where a sample was not seen in an epoch.
MISSING_PREDICTION = -1


@dataclass(frozen=True, eq=False)
class SplitDynamics:
    """Per-epoch, per-sample records of one split.

    Shapes use E = epochs recorded, N = samples, C = classes. Rows of unseen samples hold NaN / -1.

    Attributes:
        split: "train", "val" or "test".
        sample_ids: (N,) ids, sorted ascending (the recorder's canonical order).
        labels: int64 (N,) true class index of each sample.
        true_log_prob: float32 (E, N) natural-log probability of the true class; the sample's
            cross-entropy loss is its negative (nats).
        predicted: int16 (E, N) argmax class (ties go to the lowest index, as torch.argmax does).
        max_prob: float16 (E, N) probability of the predicted class (the model's confidence).
        margin: float32 (E, N) true-class logit minus the largest other logit (positive = correct).
        num_classes: C.
        logits: optional float16 (E, N, C) full logits (kept for val/test, used for calibration).
    """

    split: str
    sample_ids: np.ndarray
    labels: np.ndarray
    true_log_prob: np.ndarray
    predicted: np.ndarray
    max_prob: np.ndarray
    margin: np.ndarray
    num_classes: int
    logits: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.labels.shape[0]
        for name in ("true_log_prob", "predicted", "max_prob", "margin"):
            array = getattr(self, name)
            if array.ndim != 2 or array.shape[1] != n:
                raise ValueError(f"{self.split}: {name} has shape {array.shape}, expected (epochs, {n})")
        if self.logits is not None and self.logits.shape[:2] != self.true_log_prob.shape:
            raise ValueError(f"{self.split}: logits has shape {self.logits.shape}, expected (E, N, C)")

    @property
    def num_epochs(self) -> int:
        """Epochs recorded E."""
        return int(self.true_log_prob.shape[0])

    @property
    def num_samples(self) -> int:
        """Samples N."""
        return int(self.labels.shape[0])

    @property
    def loss(self) -> np.ndarray:
        """Per-sample cross-entropy, float64 (E, N), nats."""
        # 0 - x, not -x: a certain answer's log-probability 0.0 would give the loss -0.0 ("fell to -0.000").
        return 0.0 - self.true_log_prob.astype(np.float64)

    @property
    def true_prob(self) -> np.ndarray:
        """Probability of the true class, float64 (E, N)."""
        return np.exp(self.true_log_prob.astype(np.float64))

    @property
    def correct(self) -> np.ndarray:
        """Whether the argmax is the true class, bool (E, N)."""
        return self.predicted == self.labels[None, :]

    @property
    def seen(self) -> np.ndarray:
        """Whether the sample was recorded in the epoch, bool (E, N)."""
        return self.predicted != MISSING_PREDICTION

    def epoch_loss(self) -> np.ndarray:
        """Mean loss over the samples seen in each epoch, float64 (E,), nats."""
        return np.nanmean(self.loss, axis=1)

    def epoch_accuracy(self) -> np.ndarray:
        """Fraction of seen samples predicted correctly in each epoch, float64 (E,)."""
        seen = self.seen
        return (self.correct & seen).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)

    def epoch_balanced_accuracy(self) -> np.ndarray:
        """Mean per-class recall over the samples seen in each epoch, float64 (E,).

        Like :meth:`epoch_accuracy`, only seen samples count: a class's recall in an epoch is its seen samples
        predicted right over its seen samples, a class with no sample seen in an epoch is left out of that
        epoch's mean, and an epoch that saw no sample is NaN. (Counting unseen samples as wrong would put
        ``drop_last`` or ``limit_train_batches`` into the figure.)
        """
        seen = self.seen
        if not self.num_samples:
            return np.full(self.num_epochs, np.nan)
        # Samples grouped by class, then summed per group: O(E x N) whatever the number of classes.
        order = np.argsort(self.labels, kind="stable")
        grouped = self.labels[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
        counts = np.add.reduceat(seen[:, order], starts, axis=1, dtype=np.int64)
        hits = np.add.reduceat((self.correct & seen)[:, order], starts, axis=1, dtype=np.int64)
        present = counts > 0
        recalls = np.where(present, hits / np.maximum(counts, 1), 0.0)
        classes = present.sum(axis=1)
        return np.where(classes > 0, recalls.sum(axis=1) / np.maximum(classes, 1), np.nan)


#: Version of the dynamics file layout; readers refuse newer versions.
DYNAMICS_FORMAT_VERSION = 1
#: The file a run directory keeps its dynamics in (rundir re-exports it; a store's saved run is told by it).
DYNAMICS_FILE = "dynamics.npz"
_FIELDS = ("sample_ids", "labels", "true_log_prob", "predicted", "max_prob", "margin", "logits")


def save_dynamics(path, dynamics: dict[str, SplitDynamics]) -> None:
    """Write every split's arrays to one uncompressed ``.npz`` file at ``path``, atomically."""
    from lossgap.io import atomic_open

    arrays: dict[str, np.ndarray] = {"format_version": np.array(DYNAMICS_FORMAT_VERSION)}
    for split, record in dynamics.items():
        arrays[f"{split}__num_classes"] = np.array(record.num_classes)
        for name in _FIELDS:
            value = getattr(record, name)
            if value is not None:
                arrays[f"{split}__{name}"] = value
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **arrays)


def load_dynamics(path) -> dict[str, SplitDynamics]:
    """Read a file written by :func:`save_dynamics`; returns splits by name.

    Raises ValueError for a newer format version (the caller turns it into a user-facing error).
    """
    with np.load(path, allow_pickle=False) as archive:
        version = int(archive["format_version"])
        if version > DYNAMICS_FORMAT_VERSION:
            raise ValueError(f"dynamics format {version} is newer than this lossgap reads ({DYNAMICS_FORMAT_VERSION})")
        splits = sorted({key.split("__")[0] for key in archive.files if "__" in key},
                        key=lambda name: ("train", "val", "test").index(name) if name in ("train", "val", "test") else 9)
        out = {}
        for split in splits:
            fields = {name: archive[f"{split}__{name}"] if f"{split}__{name}" in archive.files else None
                      for name in _FIELDS}
            out[split] = SplitDynamics(split=split, num_classes=int(archive[f"{split}__num_classes"]), **fields)
        return out
