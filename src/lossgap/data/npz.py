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
    Ids default to positions, numbered on across splits (skipping any id the file gives) so they stay unique.
    """
    path = existing_file(path)
    with path.open("rb") as handle:
        magic = handle.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(f"{path.name}: is a single .npy array, not an npz archive; save it with np.savez(path, X=..., y=...)")
    if not magic.startswith(b"PK"):
        raise DataError(f"{path.name}: not an npz archive (numpy cannot read it); write it with np.savez(path, X=..., y=...)")
    key = None
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {}
            for key in archive.files:
                arrays[key] = archive[key]
    except ValueError as error:
        if "allow_pickle" in str(error):
            fix = ("store the features as numbers, e.g. X.astype(np.float32)" if key and key.startswith("X")
                   else f"store it as numbers or fixed-width strings, e.g. {key or 'y'}.astype(str)")
            raise DataError(f"{path.name}: array '{key}' holds Python objects (dtype object, pickled); {fix}") from None
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
    given = _given_ids(arrays, present.values())
    out: dict[str, SequenceData] = {}
    next_id = 0
    for split, suffix in present.items():
        count = arrays[f"X{suffix}"].shape[0] if arrays[f"X{suffix}"].ndim else 0
        ids = arrays.get(f"ids{suffix}")
        if ids is None:
            ids = _default_ids(next_id, count, given)
            next_id = int(ids[-1]) + 1 if count else next_id
        else:
            next_id += count
        out[split] = _split_from_arrays(arrays, suffix, split, class_names, path.name, ids)
    _check_unique_ids(out, path.name, [split for split, suffix in present.items() if f"ids{suffix}" not in arrays])
    return out


def _given_ids(arrays: dict[str, np.ndarray], suffixes) -> np.ndarray:
    """The distinct ids the file gives (any split) as a str array: the default ids must not take any of them."""
    given = [np.asarray(arrays[f"ids{suffix}"]).astype(str).ravel() for suffix in suffixes if f"ids{suffix}" in arrays]
    return np.unique(np.concatenate(given)) if given else np.zeros(0, dtype=str)


def _default_ids(first: int, count: int, given: np.ndarray) -> np.ndarray:
    """``count`` int64 ids counting up from ``first``, skipping any id in ``given`` (compared as text)."""
    ids = np.arange(first, first + count, dtype=np.int64)
    taken = np.isin(ids.astype(str), given)
    while taken.any():  # each pass replaces the taken ids with as many fresh ones beyond the last
        fresh = np.arange(int(ids[-1]) + 1, int(ids[-1]) + 1 + int(taken.sum()), dtype=np.int64)
        ids = np.r_[ids[~taken], fresh]
        taken = np.isin(ids.astype(str), given)
    return ids


def _split_from_arrays(arrays: dict[str, np.ndarray], suffix: str, split: str, class_names: tuple[str, ...],
                       name: str, ids: np.ndarray) -> SequenceData:
    features = arrays[f"X{suffix}"]
    labels_raw = arrays[f"y{suffix}"]
    where = f"{name} ({split} split)"
    if features.ndim != 3:
        raise DataError(f"{where}: X{suffix} must have 3 dimensions (samples, time steps, features), got shape "
                        f"{features.shape}; reshape univariate data to (N, T, 1)")
    if labels_raw.ndim != 1:
        fix = (f"pass y{suffix}.ravel()" if labels_raw.ndim == 2 and labels_raw.shape[1] == 1
               else f"pass class indices, e.g. y{suffix}.argmax(axis=1) for one-hot labels")
        raise DataError(f"{where}: y{suffix} must be one label per sample (1 dimension), got shape "
                        f"{labels_raw.shape}; {fix}")
    if labels_raw.shape[0] != features.shape[0]:
        raise DataError(f"{where}: y{suffix} has {labels_raw.shape[0]} labels but X{suffix} has {features.shape[0]} "
                        "samples; give exactly one label per sample")
    lengths = arrays.get(f"lengths{suffix}")
    if lengths is None:
        lengths = np.full(features.shape[0], features.shape[1], dtype=np.int64)
    elif lengths.shape == (features.shape[0],) and np.issubdtype(lengths.dtype, np.number):
        features = _zero_padding(features, lengths)
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


def _check_unique_ids(splits: dict[str, SequenceData], name: str, defaulted: list[str]) -> None:
    """Return None when no id is in two splits; else raise DataError naming the id, its splits and, where one of
    them had no ids array (``defaulted``), that its ids were numbered by lossgap."""
    all_ids = np.concatenate([part.ids.astype(str) for part in splits.values()])
    values, first, counts = np.unique(all_ids, return_index=True, return_counts=True)
    if not (counts > 1).any():
        return
    shared = values[counts > 1][np.argmin(first[counts > 1])]
    holders = [split for split, part in splits.items() if shared in part.ids.astype(str)]
    numbered = [split for split in holders if split in defaulted]
    cause = (f" ({' and '.join(numbered)} had no ids array, so lossgap numbered its samples)" if numbered else "")
    raise DataError(f"{name}: the same sample id {shared} appears in the {' and '.join(holders)} splits{cause}; "
                    "give every sample its own id")


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
