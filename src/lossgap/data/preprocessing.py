"""Per-feature standardisation fitted on the training split only, stored with the run so it can be reapplied."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossgap.data.sequence import DatasetSplits, SequenceData


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Subtracts each feature's mean and divides by its standard deviation (both from valid training steps).

    Padding stays zero. A constant feature keeps scale 1 so it is centred but not blown up.
    """

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, data: SequenceData) -> Standardizer:
        """Mean and standard deviation (float64, (F,)) of every feature over the valid steps of ``data``."""
        valid = np.arange(data.max_length)[None, :] < data.lengths[:, None]
        values = data.features[valid].astype(np.float64)
        mean = values.mean(axis=0)
        scale = values.std(axis=0)
        scale[scale < 1e-12] = 1.0
        return cls(mean=mean, scale=scale)

    def transform(self, data: SequenceData) -> SequenceData:
        """``data`` with standardised features; padded steps stay 0."""
        valid = np.arange(data.max_length)[None, :, None] < data.lengths[:, None, None]
        scaled = (data.features - self.mean.astype(np.float32)) / self.scale.astype(np.float32)
        return data.with_features(np.where(valid, scaled, 0.0).astype(np.float32))

    def transform_splits(self, splits: DatasetSplits) -> DatasetSplits:
        """Every split transformed with this (train-fitted) standardizer."""
        return DatasetSplits(train=self.transform(splits.train), val=self.transform(splits.val),
                             test=self.transform(splits.test) if splits.test is not None else None,
                             source=splits.source, val_is_fixed=splits.val_is_fixed)

    def to_dict(self) -> dict:
        """JSON-ready form, stored in config.json and checkpoints."""
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}

    @classmethod
    def from_dict(cls, payload: dict) -> Standardizer:
        """Inverse of :meth:`to_dict`."""
        return cls(mean=np.asarray(payload["mean"], dtype=np.float64),
                   scale=np.asarray(payload["scale"], dtype=np.float64))
