"""Assemble report.html (self-contained) and figures/*.png for one run."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import jinja2
import numpy as np

from lossgap.diagnosis import Diagnosis, diagnose_record
from lossgap.io import write_bytes, write_text
from lossgap.report import figures
from lossgap.report.template import REPORT_TEMPLATE
from lossgap.run.rundir import FIGURES_DIR, REPORT_FILE, RunRecord, read_run

CAPTIONS = {
    "curves": "Loss (top) and accuracy (bottom) of train and val on the same epochs. Yellow: plateaus, where val "
              "accuracy stays within its binomial noise (green band) while val loss moves clearly. Dashed blue: the "
              "best epoch (smoothed val-loss minimum); dotted red: overfitting onset.",
    "ledger": "The loss ledger: how each group of val samples changed the mean val loss from one epoch to the next. "
              "Blue below zero while accuracy is flat is confidence refinement: samples that were already right "
              "growing more confident.",
    "probability": "Where the val samples' true-class probability lies in each epoch (share of samples per bin). "
                   "The dashed line is 0.5; for more than two classes the dotted line is 1/C and a sample can be "
                   "right below 0.5.",
    "per_class": "Recall of each class over epochs (left) and the share of val samples predicted as each class "
                 "against the true shares (right).",
    "calibration": "Reliability at the best and last epoch (left: a calibrated model lies on the diagonal) and the "
                   "expected calibration error over epochs (right).",
    "data_map": "Data map of the training samples: confidence against variability over epochs, coloured by how often "
                "each was right. Circled: suspected mislabeled samples (consistently contradicted by the model).",
}


def write_report(run_dir: str | Path, diagnosis: Diagnosis | None = None) -> Path:
    """Write ``RUN/report.html`` and ``RUN/figures/*.png``; returns the report's path."""
    record = read_run(run_dir)
    if diagnosis is None or diagnosis.evidence is None:
        diagnosis = diagnose_record(record)
    pngs = figure_pngs(diagnosis, record.class_names)
    for name, data in pngs.items():
        write_bytes(record.path / FIGURES_DIR / f"{name}.png", data)
    html = render_report(record, diagnosis, pngs)
    target = record.path / REPORT_FILE
    write_text(target, html)
    return target


def figure_pngs(diagnosis: Diagnosis, class_names: list[str]) -> dict[str, bytes]:
    """Every figure of the report that the run's records allow, by name."""
    evidence = diagnosis.evidence
    drawn = {"curves": figures.curves_figure(evidence), "ledger": figures.ledger_figure(evidence),
             "probability": figures.probability_figure(evidence),
             "per_class": figures.per_class_figure(evidence, class_names),
             "calibration": figures.calibration_figure(evidence), "data_map": figures.data_map_figure(evidence)}
    return {name: data for name, data in drawn.items() if data is not None}


def render_report(record: RunRecord, diagnosis: Diagnosis, pngs: dict[str, bytes]) -> str:
    """The HTML text; every user string is escaped by jinja2's autoescaping."""
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    template = environment.from_string(REPORT_TEMPLATE)
    metrics = record.metrics
    columns = list(metrics)
    rows = [[_cell(metrics[column][index]) for column in columns] for index in range(len(metrics["epoch"]))]
    return template.render(
        run_name=record.path.name, source=record.config.get("data", {}).get("source", "?"),
        epochs=record.num_epochs, best_epoch=record.summary.get("best_epoch"), test=record.summary.get("test"),
        headline=diagnosis.headline, verdicts=diagnosis.verdicts, considered=diagnosis.considered,
        ledger_sentence=diagnosis.ledger_sentence, limitations=diagnosis.limitations,
        figures=[{"name": name, "data": base64.b64encode(data).decode("ascii"), "caption": CAPTIONS[name]}
                 for name, data in pngs.items()],
        suspects=_suspect_rows(diagnosis, record.class_names), remedy=_remedy(record.path),
        config_rows=_config_rows(record.config), command=record.config.get("command"),
        metric_columns=columns, metric_rows=rows, version=record.config.get("lossgap_version", ""))


def _cell(value: float) -> str:
    if not np.isfinite(value):
        return "-"
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e6 else f"{value:.4g}"


def _suspect_rows(diagnosis: Diagnosis, class_names: list[str], limit: int = 20) -> list[dict]:
    evidence = diagnosis.evidence
    if evidence.suspects is None or evidence.train_samples is None:
        return []
    samples = evidence.train_samples
    rows = []
    for index in evidence.suspects.indices[:limit]:
        label = int(samples.labels[index])
        rows.append({"id": samples.sample_ids[index].item(),
                     "label": class_names[label] if label < len(class_names) else label,
                     "aum": float(samples.aum[index]), "confidence": float(samples.confidence[index]),
                     "learned": int(samples.learned_epoch[index]) or "never"})
    return rows


def _config_rows(config: dict) -> list[tuple[str, str]]:
    rows = []
    for section in ("train", "data", "versions"):
        value = config.get(section)
        if not isinstance(value, dict):
            continue
        for key, item in value.items():
            if key == "standardizer" and item:
                item = "per-feature, fitted on train"
            rows.append((f"{section}.{key}", json.dumps(item) if isinstance(item, (dict, list)) else str(item)))
    return rows


def _remedy(run: Path) -> dict | None:
    path = run / "remedy.json"
    if not path.exists():
        return None
    payload = json.loads(path.read_text(encoding="utf-8"))
    rows = [{**payload["baseline"], "verdict": "-"}]
    rows += [{**c, "verdict": "yes" if c["beats_baseline"] else "no"} for c in payload["candidates"]]
    image = figures.remedy_figure(rows, payload["metric"])
    return {"replicates": payload["replicates"], "metric": payload["metric"], "rows": rows,
            "winner_command": payload.get("winner_command"), "image": base64.b64encode(image).decode("ascii")}
