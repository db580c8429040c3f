"""Encoding of raw labels (integers or strings) as class indices with names."""

from __future__ import annotations

import numpy as np

from lossgap.errors import DataError


def class_names_of(*label_arrays: np.ndarray) -> tuple[str, ...]:
    """Sorted class names over all arrays: numerically when every label is a number, else as text."""
    values = np.unique(np.concatenate([np.asarray(array).astype(str) for array in label_arrays]))
    try:
        numeric = values.astype(np.float64)
    except ValueError:
        return tuple(str(value) for value in values)
    order = np.argsort(numeric, kind="stable")
    return tuple(_tidy_number(values[index]) for index in order)


def _tidy_number(text: str) -> str:
    """'3.0' -> '3' so integer labels stored as floats read naturally."""
    value = float(text)
    return str(int(value)) if value.is_integer() else text


def check_labels(labels: np.ndarray, where: str) -> None:
    """DataError (one line, naming ``where``) for numeric labels that are not finite whole numbers: a label
    such as 0.5 is a regression target or a probability, not a class."""
    labels = np.asarray(labels)
    if labels.dtype.kind != "f":
        return
    if not np.isfinite(labels).all():
        raise DataError(f"{where} contains NaN or inf; give every sample a label")
    fractional = labels[labels != np.round(labels)]
    if fractional.size:
        raise DataError(f"{where} holds {fractional.flat[0]:g}, not a whole number; labels must be class indices "
                        "or class names (store them as text if such numbers name classes)")


def encode_labels(labels: np.ndarray, class_names: tuple[str, ...], where: str) -> np.ndarray:
    """Class index (int64) of each label; ``where`` names the source in the error for an unknown label."""
    labels = np.asarray(labels)
    check_labels(labels, f"{where}: y")
    # Map each distinct value once, then spread by the inverse index: no Python loop per sample.
    distinct, inverse = np.unique(labels.astype(str), return_inverse=True)
    lookup = {name: index for index, name in enumerate(class_names)}
    codes = []
    for value in distinct:
        key = _tidy_number(value) if is_number(value) else value
        if key not in lookup:
            raise DataError(f"{where}: label {key!r} is not one of the classes {list(class_names)}")
        codes.append(lookup[key])
    return np.asarray(codes, dtype=np.int64)[inverse.reshape(-1)]


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
