"""What a diagnosis says: verdicts (cause, confidence, summary, evidence, remedies) and the supporting analyses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lossgap.diagnosis.remedies import Remedy

#: The causes lossgap tells apart (stable codes used in JSON and tests), with one line each.
CAUSES = {
    "confidence_refinement": "loss falls because right answers grow more confident, not because more are right",
    "overfitting": "train loss keeps falling while val loss turns up after its minimum",
    "no_signal": "val accuracy is not significantly above the majority-class baseline",
    "class_imbalance_bias": "accuracy rides on the frequent classes; rare classes are rarely predicted",
    "label_noise": "a subset of training samples is learned late, against the rest",
    "underfitting": "train and val loss are both still falling at the end",
    "unstable_optimization": "the loss spikes, oscillates or becomes non-finite",
}

#: Verdicts at or above this confidence are reported as findings; below it they are listed as considered.
REPORT_THRESHOLD = 0.5


@dataclass(frozen=True)
class Verdict:
    """One cause at work in a run: how sure (0..1), a sentence with numbers, the numbers, what to try."""

    cause: str
    confidence: float
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    remedies: tuple[Remedy, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready form (DESIGN.md: cause, confidence, summary, evidence, remedies)."""
        return {"cause": self.cause, "confidence": round(float(self.confidence), 3), "summary": self.summary,
                "evidence": self.evidence, "remedies": [remedy.to_dict() for remedy in self.remedies]}


@dataclass(frozen=True)
class Diagnosis:
    """The diagnosis of one run: ranked verdicts (found ones first) and the analyses behind them.

    ``verdicts`` holds the findings (confidence >= REPORT_THRESHOLD), best first; ``considered`` the causes
    checked and found unlikely, with their (low) confidence and reason. ``limitations`` says what this run
    cannot show (one epoch, no validation split...).
    """

    run: str
    split: str
    headline: str
    verdicts: tuple[Verdict, ...]
    considered: tuple[Verdict, ...]
    plateaus: tuple[dict, ...]
    ledger: dict | None
    ledger_sentence: str | None
    overfitting: dict
    suspected_mislabeled: tuple
    calibration: dict | None
    per_class: dict | None
    signal: dict | None
    limitations: tuple[str, ...] = ()
    extras: dict[str, Any] = field(default_factory=dict)
    #: The analyses behind the verdicts (a RunEvidence; arrays for figures), not serialised.
    evidence: Any = field(default=None, repr=False, compare=False)

    @property
    def healthy(self) -> bool:
        """True when no cause reached the reporting threshold."""
        return not self.verdicts

    @property
    def causes(self) -> list[str]:
        """Cause codes of the findings, best first."""
        return [verdict.cause for verdict in self.verdicts]

    def verdict(self, cause: str) -> Verdict | None:
        """The finding or considered verdict for ``cause``, or None."""
        for verdict in self.verdicts + self.considered:
            if verdict.cause == cause:
                return verdict
        return None

    def to_dict(self) -> dict:
        """The content of diagnosis.json (DESIGN.md's shape plus headline, considered and limitations)."""
        return {
            "run": self.run, "split": self.split, "headline": self.headline, "healthy": self.healthy,
            "verdicts": [verdict.to_dict() for verdict in self.verdicts],
            "considered": [verdict.to_dict() for verdict in self.considered],
            "plateaus": list(self.plateaus), "ledger": self.ledger, "ledger_sentence": self.ledger_sentence,
            "overfitting": self.overfitting, "suspected_mislabeled": list(self.suspected_mislabeled),
            "calibration": self.calibration, "per_class": self.per_class, "signal": self.signal,
            "limitations": list(self.limitations), **self.extras,
        }

    def to_text(self) -> str:
        """A plain-text rendering: headline, each finding with its remedies, the ledger sentence, limitations."""
        lines = [self.headline]
        for verdict in self.verdicts:
            lines.append(f"- {verdict.cause} ({verdict.confidence:.2f}): {verdict.summary}")
            lines.extend(f"    try: {remedy.action}" for remedy in verdict.remedies)
        if self.ledger_sentence:
            lines.append(f"ledger: {self.ledger_sentence}")
        lines.extend(f"note: {limitation}" for limitation in self.limitations)
        return "\n".join(lines)
