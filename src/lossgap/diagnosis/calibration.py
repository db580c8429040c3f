"""Confidence calibration: from a rule's raw score to "how often a verdict at this confidence is right".

A rule's raw score is an effect size squeezed into [0, 1]; it says which evidence is stronger, not how
often the cause is right. :func:`calibrate` maps raw scores through a monotone table per cause, fitted on
the fault-injection suite's development runs (see benchmarks/bench_diagnosis_suite.py) and checked on runs
it was not fitted on. Until a table exists for a cause, the raw score is returned unchanged.
"""

from __future__ import annotations

import numpy as np

#: Per cause: (raw score knots, calibrated confidence at the knots), both increasing; interpolated linearly.
TABLES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {}


def calibrate(cause: str, raw: float) -> float:
    """The calibrated confidence of ``cause`` for a raw rule score ``raw`` (both in [0, 1])."""
    raw = float(min(1.0, max(0.0, raw)))
    table = TABLES.get(cause)
    if table is None:
        return raw
    knots, values = table
    return float(np.interp(raw, knots, values))
