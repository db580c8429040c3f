"""Data sets stored as ``.npz``: X (N, T, F) [+ lengths], y, optional ids, optional fixed _val / _test splits."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from lossgap.data.files import existing_file
from lossgap.data.labels import check_labels, class_names_of, encode_labels
from lossgap.data.sequence import SequenceData
from lossgap.errors import DataError

#: Suffix of each split's arrays in the file ("" for the training data).
SPLIT_SUFFIXES = {"train": "", "val": "_val", "test": "_test"}


def read_npz(path: str | Path) -> dict[str, SequenceData]:
    """The splits stored in ``path``: always "train", plus "val" and "test" when the file has ``X_val`` / ``X_test``.

    Labels may be integers or strings; class names are shared by all splits. Without ``lengths`` every
    sequence fills the padded length; with it, steps beyond each length are zeroed (so NaN padding is fine).
    Ids default to positions, numbered on across splits so they stay unique.
    """
    path = existing_file(path)
    with path.open("rb") as handle:
        magic = handle.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(f"{path.name}: is a single .npy array, not an npz archive; save it with np.savez(path, X=..., y=...)")
    if not magic.startswith(b"PK"):
        raise DataError(f"{path.name}: not an npz archive (numpy cannot read it); write it with np.savez(path, X=..., y=...)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DataError(f"{path.name}: holds Python objects (pickled arrays); store labels and ids as numbers or "
                            "fixed-width strings, e.g. y.astype(str)") from None
        raise DataError(f"{path.name}: not an npz archive ({error}); write it with np.savez(path, X=..., y=...)") from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(f"{path.name}: not an npz archive ({error}); write it with np.savez(path, X=..., y=...)") from None
    if "X" not in arrays:
        raise DataError(f"{path.name}: has no array 'X' (found {sorted(arrays)}); store the features as X of shape (N, T, F)")
    present = {split: suffix for split, suffix in SPLIT_SUFFIXES.items() if f"X{suffix}" in arrays}
    for split, suffix in present.items():
        if f"y{suffix}" not in arrays:
            raise DataError(f"{path.name}: has X{suffix} but no array 'y{suffix}'; store one label per sample as y{suffix}")
    for suffix in present.values():
        check_labels(arrays[f"y{suffix}"], f"{path.name}: y{suffix}")
    class_names = class_names_of(*(arrays[f"y{suffix}"] for suffix in present.values()))
    out: dict[str, SequenceData] = {}
    next_id = 0
    for split, suffix in present.items():
        part = _split_from_arrays(arrays, suffix, split, class_names, path.name, next_id)
        next_id += part.num_samples
        out[split] = part
    _check_unique_ids(out, path.name)
    return out


def _split_from_arrays(arrays: dict[str, np.ndarray], suffix: str, split: str, class_names: tuple[str, ...],
                       name: str, first_id: int) -> SequenceData:
    features = arrays[f"X{suffix}"]
    labels_raw = arrays[f"y{suffix}"]
    where = f"{name} ({split} split)"
    if features.ndim != 3:
        raise DataError(f"{where}: X{suffix} must have 3 dimensions (samples, time steps, features), got shape "
                        f"{features.shape}; reshape univariate data to (N, T, 1)")
    if labels_raw.ndim != 1:
        raise DataError(f"{where}: y{suffix} must be one label per sample (1 dimension), got shape {labels_raw.shape}")
    if labels_raw.shape[0] != features.shape[0]:
        raise DataError(f"{where}: y{suffix} has {labels_raw.shape[0]} labels but X{suffix} has {features.shape[0]} "
                        "samples; give exactly one label per sample")
    lengths = arrays.get(f"lengths{suffix}")
    if lengths is None:
        lengths = np.full(features.shape[0], features.shape[1], dtype=np.int64)
    elif lengths.shape == (features.shape[0],) and np.issubdtype(lengths.dtype, np.number):
        features = _zero_padding(features, lengths)
    ids = arrays.get(f"ids{suffix}")
    if ids is None:
        ids = np.arange(first_id, first_id + features.shape[0], dtype=np.int64)
    labels = encode_labels(labels_raw, class_names, where)
    return SequenceData(features, lengths, labels, ids, class_names, name=name, split=split)


def _zero_padding(features: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A copy of ``features`` with every step at or beyond its sequence's length set to 0."""
    if not np.issubdtype(features.dtype, np.floating):
        return features
    beyond = np.arange(features.shape[1])[None, :] >= np.asarray(lengths)[:, None]
    cleaned = features.copy()
    cleaned[beyond] = 0.0
    return cleaned


def _check_unique_ids(splits: dict[str, SequenceData], name: str) -> None:
    all_ids = np.concatenate([part.ids.astype(str) for part in splits.values()])
    if len(np.unique(all_ids)) != len(all_ids):
        raise DataError(f"{name}: the same sample id appears in two splits; give every sample its own id")


def write_npz(splits: dict[str, SequenceData], path: str | Path) -> Path:
    """Write ``splits`` in the layout :func:`read_npz` reads (labels as class-name strings); returns the path."""
    from lossgap.io import atomic_open

    arrays: dict[str, np.ndarray] = {}
    for split, part in splits.items():
        suffix = SPLIT_SUFFIXES[split]
        arrays[f"X{suffix}"] = part.features
        arrays[f"y{suffix}"] = np.asarray(part.class_names)[part.labels]
        arrays[f"lengths{suffix}"] = part.lengths
        arrays[f"ids{suffix}"] = part.ids
    path = Path(path)
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return path
