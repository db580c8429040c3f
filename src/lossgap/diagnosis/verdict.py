"""What a diagnosis says: verdicts (cause, confidence, summary, evidence, remedies) and the supporting analyses."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lossgap.diagnosis.remedy import Remedy
from lossgap.errors import ConfigError

#: Verdicts at or above this confidence are reported as findings; below it they are listed as considered.
REPORT_THRESHOLD = 0.5


def __getattr__(name: str):
    # CAUSES is derived from the cause registry, whose modules import this one: resolved on first use.
    if name == "CAUSES":
        from lossgap.diagnosis.causes import CAUSES

        return CAUSES
    raise AttributeError(name)


@dataclass(frozen=True)
class Verdict:
    """One cause at work in a run: how sure (0..1), a sentence with numbers, the numbers, what to try."""

    cause: str
    confidence: float
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)
    remedies: tuple[Remedy, ...] = ()

    def to_dict(self) -> dict:
        """JSON-ready form (cause, confidence, summary, evidence, remedies)."""
        return {"cause": self.cause, "confidence": round(float(self.confidence), 3), "summary": self.summary,
                "evidence": self.evidence, "remedies": [remedy.to_dict() for remedy in self.remedies]}


def considered_confidence(confidence: float) -> str:
    """A considered verdict's confidence (below REPORT_THRESHOLD) with two decimals, rounded down: 0.497 printed as
    "0.50" had sat beside "No problem found (0.50)" and read as a finding."""
    return f"{math.floor(float(confidence) * 100 + 1e-9) / 100:.2f}"  # 0.29 * 100 is 28.999...


#: Causes considered but below the reporting threshold are shown from this confidence on (their sentence,
#: without remedies): a doubt worth a line, e.g. a val loss that rose 25% through heavy jitter.
CONSIDERED_SHOWN = 0.25
#: A considered candidate within this much of the likeliest one's confidence gets its first remedy shown beside that
#: one's (:attr:`Diagnosis.next_alternative`).
ALTERNATIVE_MARGIN = 0.1


@dataclass(frozen=True)
class Diagnosis:
    """The diagnosis of one run: ranked verdicts (found ones first) and the analyses behind them.

    ``verdicts`` holds the faults found (confidence >= REPORT_THRESHOLD), best first; ``considered`` the
    faults checked and found unlikely, with their (low) confidence and reason; ``explanations`` what the
    curves mean where that is not a fault (confidence refinement). ``healthy_confidence`` is the confidence
    that nothing is wrong (1 - the highest fault confidence). ``limitations`` says what this run cannot show
    (one epoch, few val samples...).
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
    explanations: tuple[Verdict, ...] = ()
    healthy_confidence: float = 0.0
    #: False when the run is too short for the rules to judge (fewer epochs than a trend needs): then nothing
    #: is called healthy either.
    judgeable: bool = True
    #: The run's best epoch (summary.json's, by its --monitor): the one every "best epoch" means.
    best_epoch: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    #: The analyses behind the verdicts (a RunEvidence; arrays for figures), not serialised.
    evidence: Any = field(default=None, repr=False, compare=False)

    @property
    def healthy(self) -> bool:
        """True when the run could be judged, no cause reached the reporting threshold and the headline is "No problem
        found": a "No cause found" headline (val too small to show, nothing learned that carries over, a model far from
        fitting, ...; ``extras["no_cause_found"]``) is not healthy (a trial's script read ``healthy: true`` beside it)."""
        return self.judgeable and not self.verdicts and not self.extras.get("no_cause_found")

    @property
    def causes(self) -> list[str]:
        """Cause codes of the findings, best first."""
        return [verdict.cause for verdict in self.verdicts]

    @property
    def next_steps(self) -> Verdict | None:
        """For "No cause found" on a val split that could have shown what the model learned (judged, no finding,
        ``learned_little``), the likeliest candidate: the considered verdict of highest confidence at
        CONSIDERED_SHOWN or more that has remedies, whose remedies are the experiments that test it. None otherwise
        (a val split too small to show anything gets "record a larger val split" in its headline instead); also for
        "No cause found" because val's inputs look unlike train's (``val_inputs_differ``). An LSTM that never read its
        361-step sequences had been left with "the causes considered below are the candidates" and not one thing to
        try. Also for "No cause found" because the model fits its training set poorly with nothing named for it, or
        because the model the run delivers kept little of what it had learned (a GRU stopped after 4 epochs, accuracy
        still rising, had been told "more epochs ... is the test" with no command beside it)."""
        undecided = (self.extras.get("learned_little") or self.extras.get("val_inputs_differ")
                     or (self.extras.get("no_cause_found") and not self.extras.get("signal_unshown")))
        if self.verdicts or not self.judgeable or not undecided:
            return None
        candidates = [verdict for verdict in self.considered if verdict.confidence >= CONSIDERED_SHOWN
                      and verdict.remedies]
        return max(candidates, key=lambda verdict: verdict.confidence) if candidates else None

    @property
    def next_alternative(self) -> Verdict | None:
        """Beside :attr:`next_steps`, the next considered candidate with remedies when its confidence is within
        ALTERNATIVE_MARGIN of the likeliest one's: two readings that close are both worth one experiment (trial 24: a
        plain LSTM on 146 steps, unstable optimisation 0.43 against no signal 0.37, was shown only "lower the learning
        rate", the reach remedies of the no-signal reading left in its sentence). None otherwise."""
        step = self.next_steps
        if step is None:
            return None
        others = [verdict for verdict in self.considered if verdict.cause != step.cause and verdict.remedies
                  and verdict.confidence >= max(CONSIDERED_SHOWN, step.confidence - ALTERNATIVE_MARGIN)]
        return max(others, key=lambda verdict: verdict.confidence) if others else None

    def verdict(self, cause: str) -> Verdict | None:
        """The finding, explanation or considered verdict for ``cause`` (check :attr:`causes` for the findings
        alone), or None when the rule did not run; ConfigError (one line) for a code that is no cause."""
        from lossgap.diagnosis.causes import CAUSES

        if cause not in CAUSES:
            raise ConfigError(f"{cause!r} is not a cause; use one of {', '.join(CAUSES)}")
        for verdict in self.verdicts + self.explanations + self.considered:
            if verdict.cause == cause:
                return verdict
        return None

    def to_dict(self) -> dict:
        """The content of diagnosis.json: verdicts, plateaus, ledger... (see the README), headline, limitations."""
        return {
            "run": self.run, "split": self.split, "headline": self.headline, "healthy": self.healthy,
            "judgeable": self.judgeable, "healthy_confidence": round(float(self.healthy_confidence), 3), "best_epoch": self.best_epoch,
            "verdicts": [verdict.to_dict() for verdict in self.verdicts],
            "explanations": [verdict.to_dict() for verdict in self.explanations],
            "considered": [verdict.to_dict() for verdict in self.considered],
            "plateaus": list(self.plateaus), "ledger": self.ledger, "ledger_sentence": self.ledger_sentence,
            "overfitting": self.overfitting, "suspected_mislabeled": list(self.suspected_mislabeled),
            "calibration": self.calibration, "per_class": self.per_class, "signal": self.signal,
            "limitations": list(self.limitations), **self.extras,
            "next_steps": None if (step := self.next_steps) is None else {
                "cause": step.cause, "remedies": [remedy.to_dict() for remedy in step.remedies]},
            "next_alternative": None if (other := self.next_alternative) is None else {
                "cause": other.cause, "remedies": [remedy.to_dict() for remedy in other.remedies[:1]]},
        }

    def to_text(self) -> str:
        """A plain-text rendering, as ``lossgap diagnose`` prints it: headline, each finding with its remedies,
        explanations, causes considered at CONSIDERED_SHOWN or more, the next steps of "No cause found", the ledger
        sentence, limitations."""
        lines = [self.headline]
        for verdict in self.verdicts:
            lines.append(f"- {verdict.cause} ({verdict.confidence:.2f}): {verdict.summary}")
            lines.extend(f"    try: {remedy.action}" for remedy in verdict.remedies)
        for verdict in self.explanations:
            lines.append(f"- explanation, {verdict.cause} ({verdict.confidence:.2f}): {verdict.summary}")
        for verdict in self.considered:
            if verdict.confidence >= CONSIDERED_SHOWN:
                lines.append(f"- considered, not found: {verdict.cause} ({considered_confidence(verdict.confidence)}): "
                             f"{verdict.summary}")
        step = self.next_steps
        if step is not None:
            lines.append(f"next, to test the likeliest candidate ({step.cause}):")
            lines.extend(f"    try: {remedy.action}" for remedy in step.remedies)
        other = self.next_alternative
        if other is not None:
            lines.append(f"or, to test the next candidate ({other.cause}):")
            lines.append(f"    try: {other.remedies[0].action}")
        if self.ledger_sentence:
            lines.append(f"ledger: {self.ledger_sentence}")
        lines.extend(f"note: {limitation}" for limitation in self.limitations)
        return "\n".join(lines)

    def __str__(self) -> str:
        """``print(diagnosis)`` shows :meth:`to_text` (the dataclass repr runs to thousands of characters)."""
        return self.to_text()

    def __repr__(self) -> str:
        causes = ", ".join(f"{verdict.cause} {verdict.confidence:.2f}" for verdict in self.verdicts) or "none found"
        return f"Diagnosis({self.headline.split(':')[0]!r}; causes: {causes}; to_text() for the whole)"
