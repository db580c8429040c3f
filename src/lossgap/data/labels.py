"""Encoding of raw labels (integers or strings) as class indices with names."""

from __future__ import annotations

import numpy as np

from lossgap.errors import DataError

#: The fix every message about a missing (NaN) label ends with.
MISSING_LABEL_FIX = "give every sample a label or drop the unlabelled samples"


def class_names_of(*label_arrays: np.ndarray) -> tuple[str, ...]:
    """Sorted class names over all arrays (a tuple of str).

    When every label is a number, equal numbers are one class whatever their spelling (1, "1", 1.0, "1.0" and
    "01" all name class "1") and the names sort numerically; otherwise the labels are text, kept as written and
    sorted as text.
    """
    values = np.unique(np.concatenate([np.asarray(array).astype(str) for array in label_arrays]))
    if not all_numbers(values):
        return tuple(str(value) for value in values)
    return tuple(sorted({number_name(value) for value in values.tolist()}, key=_numeric_order))


def _numeric_order(name: str) -> tuple[float, int]:
    """Sort key of a number's name: its value, with integers beyond float precision told apart exactly."""
    try:
        exact = int(name)
    except ValueError:
        exact = 0
    return float(name), exact


def number_name(text: str) -> str:
    """The one spelling of the number ``text`` (a str): '3.0', '03' and '3' give '3', '1.50' gives '1.5'."""
    try:
        return str(int(text))
    except ValueError:
        value = float(text)
    # Beyond 2**53 a float no longer tells neighbouring integers apart: keep its float spelling.
    return str(int(value)) if value.is_integer() and abs(value) < 2 ** 53 else repr(value)


def all_numbers(values: np.ndarray) -> bool:
    """True when every text in ``values`` reads as a number (so the labels are numeric, not names)."""
    try:
        np.asarray(values).astype(np.float64)
    except ValueError:
        return False
    return True


def missing_label_positions(labels: np.ndarray) -> np.ndarray:
    """Positions (int array) of labels that are NaN or inf, as floats or written as text ('nan', 'inf')."""
    labels = np.asarray(labels)
    if labels.dtype.kind == "f":
        return np.flatnonzero(~np.isfinite(labels))
    if labels.dtype.kind not in "USO":
        return np.zeros(0, dtype=np.int64)
    distinct, inverse = np.unique(labels.astype(str), return_inverse=True)
    missing = np.asarray([is_number(text) and not np.isfinite(float(text)) for text in distinct.tolist()], dtype=bool)
    return np.flatnonzero(missing[inverse.reshape(-1)])


def check_labels(labels: np.ndarray, where: str) -> None:
    """Return None if ``labels`` can be classes; else raise DataError (one line, naming ``where``).

    Refused: a label that is NaN or inf, as a float or written as text ('nan' is how numpy and pandas write a
    missing value, so it is a missing label, not a class called "nan"), and a numeric label that is not a whole
    number (0.5 is a regression target or a probability, not a class).
    """
    labels = np.asarray(labels)
    missing = missing_label_positions(labels)
    if missing.size:
        first = missing[0]
        raise DataError(f"{where} contains NaN or inf in {missing.size} sample(s) (first at position {first}: "
                        f"{str(labels.flat[first])!r}), a missing label, not a class; {MISSING_LABEL_FIX}")
    if labels.dtype.kind != "f":
        return
    fractional = labels[labels != np.round(labels)]
    if fractional.size:
        raise DataError(f"{where} holds {fractional.flat[0]:g}, not a whole number; labels must be class indices "
                        "or class names (store them as text if such numbers name classes)")


def encode_labels(labels: np.ndarray, class_names: tuple[str, ...], where: str) -> np.ndarray:
    """Class index (int64 array) of each label; ``where`` names the source in the error for an unknown label.

    When every class name is a number, labels match by value (1.0 is class "1"), as :func:`class_names_of` names
    them; otherwise by exact text.
    """
    labels = np.asarray(labels)
    check_labels(labels, f"{where}: y")
    # Map each distinct value once, then spread by the inverse index: no Python loop per sample.
    distinct, inverse = np.unique(labels.astype(str), return_inverse=True)
    lookup = {name: index for index, name in enumerate(class_names)}
    numeric = all_numbers(np.asarray(class_names, dtype=str))
    codes = []
    for value in distinct.tolist():
        key = number_name(value) if numeric and is_number(value) else value
        if key not in lookup:
            raise DataError(f"{where}: label {key!r} is not one of the classes {list(class_names)}")
        codes.append(lookup[key])
    return np.asarray(codes, dtype=np.int64)[inverse.reshape(-1)]


def is_number(text: str) -> bool:
    """True when ``text`` reads as a float (including 'nan' and 'inf')."""
    try:
        float(text)
    except ValueError:
        return False
    return True
