"""Score the diagnosis (and the two rule baselines) on the suite's runs: confusion, recall, precision,
false alarms, and the calibration of the top verdict's confidence."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lossgap.api import diagnose
from lossgap.run.rundir import read_run

from fault_suite import baselines
from fault_suite.cases import FAULTS, HEALTHY, VAL_UNLIKE_TRAIN, Case
from fault_suite.premises import NO_REFERENCE, delivered_index, premise_holds
from fault_suite.runner import CASE_FILE, run_dir
from fault_suite.sentences import sentence_problems

#: Top verdicts accepted for a healthy run: nothing wrong, or the explanation "confidence refinement".
HEALTHY_ANSWERS = (HEALTHY, "confidence_refinement")
#: Equal-width confidence bins of the calibration error.
ECE_BINS = 10


@dataclass
class ScoredRun:
    """One run: its truth, lossgap's top verdict and confidence, the baselines' findings, the premise."""

    dataset: str
    fault: str
    seed: int
    truth: str
    form: str | None
    top: str
    confidence: float
    top_form: str | None
    correct: bool
    premise: bool
    premise_note: str
    autotrainer: dict = field(default_factory=dict)
    autotrainer_decision: str = baselines.HEALTHY
    sagemaker: dict = field(default_factory=dict)
    causes: dict = field(default_factory=dict)
    headline: str = ""
    sentence_problems: list = field(default_factory=list)


def is_correct(truth: str, top: str) -> bool:
    """Whether ``top`` names ``truth`` (a healthy run may also get the explanation confidence_refinement)."""
    return top in HEALTHY_ANSWERS if truth == HEALTHY else top == truth


def top_verdict(diagnosis) -> tuple[str, float, str | None]:
    """(top cause, "healthy", or "val_unlike_train" for no cause beside the check that val's inputs differ; its
    confidence (for the last two, the headline's confidence that nothing is wrong); the underfitting form when
    named)."""
    if diagnosis.verdicts:
        first = diagnosis.verdicts[0]
        return first.cause, float(first.confidence), first.evidence.get("form")
    healthy = getattr(diagnosis, "healthy_confidence", None)
    if healthy is None:
        considered = [verdict.confidence for verdict in diagnosis.considered]
        healthy = 1.0 - max(considered, default=0.0)
    if (getattr(diagnosis, "extras", None) or {}).get("val_inputs_differ"):
        return VAL_UNLIKE_TRAIN, float(healthy), None
    return HEALTHY, float(healthy), None


def score_run(case: Case, cache: Path) -> ScoredRun:
    """Diagnose one cached run (without writing into it) and score it."""
    directory = run_dir(cache, case)
    meta = json.loads((directory / CASE_FILE).read_text())
    record = read_run(directory)
    healthy_dir = run_dir(cache, Case(case.dataset, "healthy", case.seed))
    healthy = read_run(healthy_dir) if (healthy_dir / "summary.json").exists() else None
    reference_note = ""
    if healthy is not None:
        worked, why = premise_holds("worked", healthy, None)
        if not worked:  # a collapsed "healthy" run is no reference for what the fault changed
            healthy, reference_note = None, f" (the healthy run of this seed did not work: {why})"
    holds, note = premise_holds(FAULTS[case.fault].premise, record, healthy)
    if healthy is None and note == NO_REFERENCE:
        note += reference_note
    diagnosis = diagnose(directory, write=False)
    top, confidence, form = top_verdict(diagnosis)
    val = record.dynamics["val"]
    epoch = delivered_index(record)
    autotrainer = baselines.autotrainer_features(record.metrics, record.observations, record.config["train"]["epochs"])
    error_by_class = np.array([1.0 - val.correct[epoch][val.labels == c].mean() if (val.labels == c).any() else 0.0
                               for c in range(val.num_classes)])
    train_counts = np.asarray(record.config["data"]["class_counts"]["train"])
    return ScoredRun(
        dataset=case.dataset, fault=case.fault, seed=case.seed, truth=meta["truth"], form=meta["form"],
        top=top, confidence=confidence, top_form=form, correct=is_correct(meta["truth"], top), premise=holds,
        premise_note=note, autotrainer=baselines.autotrainer_findings(autotrainer),
        autotrainer_decision=baselines.autotrainer_decision(autotrainer),
        sagemaker=baselines.sagemaker_findings(record.metrics, train_counts, error_by_class),
        causes={verdict.cause: round(float(verdict.confidence), 3)
                for verdict in diagnosis.verdicts + diagnosis.considered},
        headline=diagnosis.headline,
        sentence_problems=sentence_problems(
            record.metrics, record.summary,
            [verdict.summary for verdict in diagnosis.verdicts + diagnosis.explanations + diagnosis.considered],
            diagnosis.headline, _monitored_column(record.config["train"])))


def _monitored_column(train_config: dict) -> str | None:
    """The metrics.csv column the run's early stopping watched (the trainer's ``monitored_column``)."""
    from lossgap.training.config import TrainConfig
    from lossgap.training.trainer import monitored_column

    return monitored_column(TrainConfig.model_validate(train_config))


def calibration_error(confidences: np.ndarray, correct: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error of "the top verdict is right" against its confidence (fraction)."""
    if confidences.size == 0:
        return float("nan")
    index = np.minimum((confidences * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        members = index == b
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidences[members].mean())
    return float(error)


def summarise(runs: list[ScoredRun]) -> dict:
    """Every figure the suite reports, over the runs whose premise holds."""
    used = [run for run in runs if run.premise]
    labels = sorted({run.truth for run in used} | {run.top for run in used})
    confusion = {truth: {top: 0 for top in labels} for truth in labels}
    for run in used:
        confusion[run.truth][run.top if not (run.truth == HEALTHY and run.correct) else HEALTHY] += 1
    recall = {truth: float(np.mean([run.correct for run in used if run.truth == truth]))
              for truth in sorted({run.truth for run in used})}
    precision = {}
    for cause in labels:
        named = [run for run in used if run.top == cause]
        if named:
            precision[cause] = float(np.mean([run.correct for run in named]))
    healthy_runs = [run for run in used if run.truth == HEALTHY]
    # A model that never fitted at all ("no_fit") cannot say which form it is: counted apart.
    underfit = [run for run in used if run.truth == "underfitting" and run.correct and run.top_form != "no_fit"]
    no_fit = [run for run in used if run.truth == "underfitting" and run.correct and run.top_form == "no_fit"]
    rows = [asdict(run) for run in used]

    def baseline_correct(row, cause):
        return is_correct(row["truth"], cause)

    auto_decision_accuracy = float(np.mean([baseline_correct(row, row["autotrainer_decision"]) for row in rows]))
    auto_order, auto_accuracy = baselines.best_order(rows, "autotrainer", baselines.AUTOTRAINER_PROBLEMS,
                                                     baseline_correct)
    sage_order, sage_accuracy = baselines.best_order(rows, "sagemaker", baselines.SAGEMAKER_RULES, baseline_correct)
    # "Val looks unlike train" is a split check with no confidence of its own (the number beside its headline is the
    # confidence that nothing is wrong, 0.5 at most there): the calibration is of the causes' confidences.
    calibrated = [run for run in used if VAL_UNLIKE_TRAIN not in (run.truth, run.top)]
    confidences = np.array([run.confidence for run in calibrated], dtype=np.float64)
    correct = np.array([run.correct for run in calibrated], dtype=np.float64)
    all_correct = np.array([run.correct for run in used], dtype=np.float64)
    return {
        "runs": len(runs), "runs_scored": len(used), "premise_failed": [
            {"case": f"{run.dataset}/{run.fault}/seed{run.seed}", "why": run.premise_note}
            for run in runs if not run.premise],
        "sentence_problems": [{"case": f"{run.dataset}/{run.fault}/seed{run.seed}", "problem": problem}
                              for run in runs for problem in run.sentence_problems],
        "top1_accuracy": float(all_correct.mean()) if used else float("nan"),
        "top1_by_dataset": {name: float(np.mean([run.correct for run in used if run.dataset == name]))
                            for name in sorted({run.dataset for run in used})},
        "recall": recall, "precision": precision, "confusion": confusion,
        "false_alarm_rate": float(np.mean([not run.correct for run in healthy_runs])) if healthy_runs else float("nan"),
        "ece": calibration_error(confidences, correct),
        "ece_runs": len(calibrated),
        "underfitting_form_accuracy": float(np.mean([run.top_form == run.form for run in underfit]))
        if underfit else float("nan"),
        "underfitting_no_fit_runs": len(no_fit),
        "baselines": {"autotrainer": {"decided_by": "its published decision logic", "top1_accuracy": auto_decision_accuracy},
                      "autotrainer_any_order": {"order": list(auto_order), "top1_accuracy": auto_accuracy},
                      "sagemaker": {"order": list(sage_order), "top1_accuracy": sage_accuracy}},
    }
