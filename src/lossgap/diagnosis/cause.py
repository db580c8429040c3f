"""The declaration of a cause: everything lossgap knows about it, in one place.

Each cause lives in its own module under :mod:`lossgap.diagnosis.causes` and declares one :class:`Cause`;
the registry there lists them in the order ties are broken. The engine, the JSON, the report and the remedy
runner all read the declaration, so adding a cause is its module plus one registry line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from lossgap.diagnosis.evidence import RunEvidence
    from lossgap.diagnosis.remedies import RemedyBook
    from lossgap.diagnosis.verdict import Verdict


@dataclass(frozen=True)
class Cause:
    """One cause lossgap tells apart.

    Attributes:
        code: stable code used in JSON and tests (``"label_noise"``).
        title: one line saying what is happening.
        rule: evidence and a remedy book in, a :class:`~lossgap.diagnosis.verdict.Verdict` out, always (a low
            confidence says the cause was checked and found unlikely). The confidence is a raw score in
            [0, 1]; the engine discounts it by the causes that explain it and calibrates it.
        explains: codes of causes whose evidence this one produces when it holds (unstable weights make
            samples flip and look mislabelled): their confidence is multiplied by (1 - this cause's).
        kind: "fault" (something to fix) or "explanation" (what the curves mean when nothing is wrong,
            such as confidence refinement); explanations are never the main cause.
    """

    code: str
    title: str
    rule: Callable[[RunEvidence, RemedyBook], Verdict]
    explains: tuple[str, ...] = ()
    kind: Literal["fault", "explanation"] = "fault"
