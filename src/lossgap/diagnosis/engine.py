"""Diagnose a run: gather the evidence, apply every cause rule, rank the verdicts, say what cannot be shown."""

from __future__ import annotations

import numpy as np

from lossgap.analysis.smoothing import to_plain
from lossgap.diagnosis.evidence import RunEvidence, gather_evidence
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.rules import RULES
from lossgap.diagnosis.verdict import CAUSES, REPORT_THRESHOLD, Diagnosis, Verdict
from lossgap.errors import RunDirError
from lossgap.run.rundir import RunRecord

#: Causes whose evidence is a consequence of no signal: with nothing to learn, a model can only memorise.
_EXPLAINED_BY_NO_SIGNAL = ("overfitting", "label_noise", "confidence_refinement")


def diagnose_record(record: RunRecord, *, split: str = "val", control: RunRecord | None = None) -> Diagnosis:
    """The diagnosis of a run read back from its directory (and of its permuted-label control, if any)."""
    if "val" not in record.dynamics:
        raise RunDirError(f"{record.path} has no recorded validation split; record one (recorder.update('val', ...)) "
                          "so causes can be told apart")
    if split not in record.dynamics:
        raise RunDirError(f"{record.path} has no '{split}' split; choose one of {', '.join(record.dynamics)}")
    control_accuracy = None
    if control is not None and "val" in control.dynamics:
        control_val = control.dynamics["val"]
        best = int(np.nanargmin(control_val.epoch_loss())) + 1
        control_accuracy = float(control_val.epoch_accuracy()[best - 1])
    evidence = gather_evidence(record.metrics, record.dynamics, train_config=record.config.get("train"),
                               focus_split=split, control_val_accuracy=control_accuracy)
    return diagnose_evidence(evidence, run=str(record.path), class_names=record.class_names)


def diagnose_evidence(evidence: RunEvidence, *, run: str = "run", class_names: list[str] | None = None) -> Diagnosis:
    """Apply every rule to ``evidence`` and assemble the ranked :class:`Diagnosis`."""
    book = RemedyBook(evidence.train_config)
    verdicts = [rule(evidence, book) for rule in RULES]
    verdicts = _discount_consequences(verdicts)
    order = {rule.__name__: rank for rank, rule in enumerate(RULES)}
    verdicts.sort(key=lambda verdict: (-round(verdict.confidence, 2), order[verdict.cause]))
    findings = tuple(_jsonable(v) for v in verdicts if v.confidence >= REPORT_THRESHOLD)
    considered = tuple(_jsonable(v) for v in verdicts if v.confidence < REPORT_THRESHOLD)
    general = evidence.generalization
    return Diagnosis(
        run=run, split=evidence.focus_split, headline=_headline(findings, evidence),
        verdicts=findings, considered=considered,
        plateaus=tuple(to_plain(p.to_dict()) for name in ("train", "val") for p in evidence.plateaus.get(name, ())),
        ledger=to_plain(evidence.ledger.to_dict()) if evidence.ledger is not None else None,
        ledger_sentence=evidence.ledger_sentence,
        overfitting={"onset_epoch": general.onset_epoch, "best_epoch": general.best_epoch,
                     "early_stopping_epoch": general.early_stopping_epoch,
                     "strength": round(float(general.overfitting_strength), 3)},
        suspected_mislabeled=tuple(to_plain(list(evidence.suspects.sample_ids)) if evidence.suspects else ()),
        calibration=to_plain(_calibration_summary(evidence)),
        per_class=to_plain(_per_class_summary(evidence, class_names)),
        signal=to_plain(evidence.signal.to_dict()),
        limitations=_limitations(evidence),
        evidence=evidence,
    )


def _discount_consequences(verdicts: list[Verdict]) -> list[Verdict]:
    """Lower the causes that no signal explains, so the verdict names the root cause first."""
    no_signal = next(v.confidence for v in verdicts if v.cause == "no_signal")
    if no_signal < REPORT_THRESHOLD:
        return verdicts
    out = []
    for verdict in verdicts:
        if verdict.cause in _EXPLAINED_BY_NO_SIGNAL:
            verdict = Verdict(verdict.cause, verdict.confidence * (1.0 - no_signal), verdict.summary,
                              {**verdict.evidence, "explained_by": "no_signal"}, verdict.remedies)
        out.append(verdict)
    return out


def _jsonable(verdict: Verdict) -> Verdict:
    return Verdict(verdict.cause, float(verdict.confidence), verdict.summary, to_plain(verdict.evidence),
                   verdict.remedies)


def _headline(findings: tuple[Verdict, ...], evidence: RunEvidence) -> str:
    signal = evidence.signal
    if not findings:
        return (f"No problem found: val accuracy {signal.accuracy:.3f} at epoch {evidence.judged_epoch} (baseline "
                f"{signal.baseline_accuracy:.3f}); loss and accuracy tell the same story.")
    main = findings[0]
    others = ", ".join(v.cause for v in findings[1:])
    return (f"Main cause: {main.cause} ({main.confidence:.2f}) - {CAUSES[main.cause]}"
            + (f". Also: {others}." if others else "."))


def _calibration_summary(evidence: RunEvidence) -> dict | None:
    calibration = evidence.val_calibration
    if calibration is None:
        return None
    out = {"ece": calibration.ece.tolist(), "best_epoch": calibration.best_epoch,
           "final_epoch": calibration.final_epoch, "loss_removed_share": calibration.loss_removed_share}
    for name in ("temperature_best", "temperature_final"):
        fit = getattr(calibration, name)
        out[name] = fit.to_dict() if fit is not None else None
    return out


def _per_class_summary(evidence: RunEvidence, class_names: list[str] | None) -> dict:
    per_class = evidence.val_per_class
    index = evidence.judged_epoch - 1
    names = class_names or [str(c) for c in range(len(per_class.support))]
    return {"epoch": evidence.judged_epoch, "class_names": names, "support": per_class.support.tolist(),
            "recall": per_class.recall[index].tolist(), "final_recall": per_class.recall[-1].tolist(),
            "balanced_accuracy": per_class.balanced_accuracy.tolist(),
            "predicted_share": per_class.predicted_share[index].tolist(), "true_share": per_class.true_share.tolist()}


def _limitations(evidence: RunEvidence) -> tuple[str, ...]:
    notes = []
    if evidence.num_epochs == 1:
        notes.append("one epoch only: trends (plateaus, overfitting, slopes, late learning) need several epochs; "
                     "only the signal test and the class balance are judged")
    elif evidence.num_epochs < 5:
        notes.append(f"{evidence.num_epochs} epochs only: plateaus need at least 5 epochs")
    if evidence.train is None:
        notes.append("no train split was recorded: suspected mislabeled samples cannot be found")
    if evidence.val.num_samples < 30:
        notes.append(f"{evidence.val.num_samples} val samples: one sample is {100 / evidence.val.num_samples:.1f} points "
                     "of accuracy, so only large effects can be told from noise")
    if evidence.val.logits is None:
        notes.append("val logits were not recorded: calibration cannot be measured")
    return tuple(notes)
