"""Plain JSON-ready Python from arrays, numpy scalars and dataclasses: the one cleaning every JSON file and
every piece of evidence goes through (JSON has no NaN: not-a-number and infinities become null)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


def to_plain(value: Any) -> Any:
    """``value`` as plain JSON-ready Python: arrays/tuples -> lists, numpy scalars -> int/float/bool,
    NaN and inf -> None, dataclasses -> dicts (through their own ``to_dict`` when they have one)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return {field.name: to_plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            as_object = value.astype(np.float64).astype(object)
            as_object[~np.isfinite(value)] = None
            return as_object.tolist()
        return value.tolist()
    if isinstance(value, np.generic):
        return to_plain(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    return value


def dataclass_to_plain(instance: Any) -> dict[str, Any]:
    """Every field of the dataclass ``instance`` as plain JSON-ready Python (see :func:`to_plain`)."""
    return {field.name: to_plain(getattr(instance, field.name)) for field in dataclasses.fields(instance)}
