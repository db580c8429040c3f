"""The causes lossgap tells apart: one module each, registered here in the order ties are broken.

Adding a cause: write its module (a rule and a :class:`~lossgap.diagnosis.cause.Cause`), add it below.
"""

from __future__ import annotations

from lossgap.diagnosis.cause import Cause
from lossgap.diagnosis.causes import (class_imbalance_bias, confidence_refinement, label_noise, no_signal,
                                      overfitting, underfitting, unstable_optimization)

#: Every cause, the more fundamental first: a cause may only explain away causes listed after it.
REGISTRY: tuple[Cause, ...] = (
    unstable_optimization.CAUSE,
    no_signal.CAUSE,
    class_imbalance_bias.CAUSE,
    label_noise.CAUSE,
    underfitting.CAUSE,
    overfitting.CAUSE,
    confidence_refinement.CAUSE,
)

#: Code -> one-line title, for JSON, tables and the report.
CAUSES = {cause.code: cause.title for cause in REGISTRY}
BY_CODE = {cause.code: cause for cause in REGISTRY}

__all__ = ["BY_CODE", "CAUSES", "REGISTRY", "Cause"]
