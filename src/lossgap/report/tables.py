"""The report's text parts as plain data for the template: header facts, verdict cards, tables.

Every value returned here is a plain str/int/float/list/dict; the template escapes all of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from lossgap.diagnosis.remedy import PERMUTED_CONTROL
from lossgap.diagnosis.verdict import CAUSES, Diagnosis, Verdict, considered_confidence
from lossgap.run.rundir import REMEDY_FILE, RunRecord

#: Metrics columns shown first in the per-epoch table, in this order; others follow as they come.
METRIC_ORDER = ("epoch", "train_loss", "val_loss", "train_accuracy", "val_accuracy", "train_balanced_accuracy",
                "val_balanced_accuracy", "lr", "grad_norm", "seconds")


def format_number(value: Any, digits: int = 4) -> str:
    """A number as short text: integers as they are, floats to ``digits`` significant digits, "-" for NaN/None."""
    if value is None:
        return "-"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return "-"
        if float(value).is_integer() and abs(value) < 1e6:
            return str(int(value))
        return f"{value:.{digits}g}"
    return str(value)


def format_value(value: Any, limit: int = 8) -> str:
    """Any JSON-like value as one short line: numbers via :func:`format_number`, long lists cut to ``limit``."""
    if isinstance(value, dict):
        return ", ".join(f"{key}: {format_value(item, limit)}" for key, item in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        shown = ", ".join(format_value(item, limit) for item in items[:limit])
        return f"[{shown}, \u2026 ({len(items)} in all)]" if len(items) > limit else f"[{shown}]"
    return format_number(value)


def header(record: RunRecord, diagnosis: Diagnosis) -> dict[str, Any]:
    """Facts for the page header: run name, data, sizes, classes, best/delivered epoch, key accuracies."""
    data = record.config.get("data") or {}
    summary = record.summary or {}
    evidence = diagnosis.evidence
    names = record.class_names
    sizes = data.get("sizes") or {split: dynamics.num_samples for split, dynamics in record.dynamics.items()}
    curves = evidence.curves
    tiles = []
    # The run's best epoch (summary.json's, by its --monitor) is the one the CLI, the summary and every verdict
    # name; the val-loss minimum is given beside it when they differ.
    best_epoch = evidence.best_epoch
    index = int(best_epoch) - 1
    monitor = summary.get("monitor", "val_loss")
    note = f"by {monitor}; val loss {format_number(curves.val_loss[index])}"
    if evidence.val_loss_min_epoch != best_epoch:
        note += f"; lowest val loss at epoch {evidence.val_loss_min_epoch}"
    tiles.append({"label": "best epoch", "value": str(best_epoch), "note": note})
    tiles.append({"label": "val accuracy at the best epoch", "value": format_number(curves.val_accuracy[index], 3),
                  "note": f"balanced {format_number(evidence.val_per_class.balanced_accuracy[index], 3)}"})
    tiles.append({"label": f"val accuracy at the last epoch ({curves.num_epochs})",
                  "value": format_number(curves.val_accuracy[-1], 3),
                  "note": f"val loss {format_number(curves.val_loss[-1])}"})
    tiles.append({"label": "majority-class baseline", "value": format_number(evidence.signal.baseline_accuracy, 3),
                  "note": "always answering the most frequent class"})
    test = summary.get("test")
    if isinstance(test, dict) and test.get("accuracy") is not None:
        tiles.append({"label": f"test accuracy (delivered model, epoch {test.get('epoch', '?')})",
                      "value": format_number(test["accuracy"], 3),
                      "note": f"{test.get('num_samples', '?')} test samples, balanced "
                              f"{format_number(test.get('balanced_accuracy'), 3)}"})
    return {
        "run_name": record.path.resolve().name or str(record.path),
        "run_path": str(record.path),
        "source": data.get("source", "unknown"),
        "class_count": len(names) or evidence.val.num_classes,
        "class_names": ", ".join(str(name) for name in names[:12]) + (", \u2026" if len(names) > 12 else ""),
        "sizes": ", ".join(f"{split} {size}" for split, size in sizes.items()),
        "epochs": record.num_epochs,
        "delivered_epoch": summary.get("delivered_epoch"),
        "own_loop": record.config.get("train") is None,
        "role": record.config.get("role") if record.config.get("role") not in (None, "run") else None,
        "tiles": tiles,
    }


def verdict_card(verdict: Verdict, explanation: bool = False) -> dict[str, Any]:
    """One verdict as a card: code, plain title, confidence (0..1 and as a percentage), summary, remedies (with
    their commands), numbers. ``explanation`` marks what the curves mean where nothing is wrong (not a fault)."""
    confidence = float(verdict.confidence)
    return {
        "cause": verdict.cause,
        # A verdict's own form of the cause (see the headline) where it names one.
        "title": verdict.evidence.get("title") or CAUSES.get(verdict.cause, ""),
        "confidence": confidence,
        "percent": int(round(100 * max(0.0, min(confidence, 1.0)))),
        "considered_confidence": considered_confidence(confidence),
        "level": "explanation" if explanation else "high" if confidence >= 0.8 else "medium",
        "summary": verdict.summary,
        "remedies": [{"action": remedy.action, "command": remedy.command,
                      "changes": ", ".join(f"{key} = {format_value(value)}" for key, value in remedy.changes.items())}
                     for remedy in verdict.remedies],
        "evidence": [(str(key), format_value(value)) for key, value in (verdict.evidence or {}).items()],
    }


def _flatten(prefix: str, value: Any, rows: list[tuple[str, str]]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, rows)
    else:
        rows.append((prefix, format_value(value, limit=20) if not isinstance(value, str) else value))


def config_sections(config: dict) -> list[dict[str, Any]]:
    """The config as titled tables of (dotted key, value) rows: training options (or the settings an own loop
    described with ``Recorder.describe``), data, library versions."""
    sections = []
    titles = (("train", "Training options"), ("model", "Network as built"),
              ("settings", "Settings the training loop described"), ("data", "Data"), ("versions", "Environment"))
    for key, title in titles:
        value = config.get(key)
        if not isinstance(value, dict):
            continue
        rows: list[tuple[str, str]] = []
        for name, item in value.items():
            if name == "standardizer" and isinstance(item, dict):
                item = "per-feature mean and standard deviation, fitted on train"
            _flatten(name, item, rows)
        sections.append({"title": title, "rows": rows})
    return sections


def metrics_table(metrics: dict[str, np.ndarray]) -> dict[str, Any]:
    """metrics.csv as a table: columns (known ones first) and one row of formatted cells per epoch."""
    columns = [name for name in METRIC_ORDER if name in metrics]
    columns += [name for name in metrics if name not in columns]
    count = len(metrics.get("epoch", next(iter(metrics.values()), [])))
    rows = [[format_number(metrics[name][index]) for name in columns] for index in range(count)]
    return {"columns": columns, "rows": rows}


def suspect_rows(diagnosis: Diagnosis, class_names: list[str], limit: int = 20) -> list[dict[str, Any]]:
    """The ``limit`` most suspect training samples: id, label name, AUM, confidence, forgetting, learned epoch."""
    evidence = diagnosis.evidence
    if evidence.suspects is None or evidence.train_samples is None:
        return []
    samples = evidence.train_samples
    rows = []
    for index in evidence.suspects.indices[:limit]:
        label = int(samples.labels[index])
        learned = int(samples.learned_epoch[index])
        rows.append({"id": format_value(samples.sample_ids[index].item()),
                     "label": str(class_names[label]) if label < len(class_names) else str(label),
                     "aum": f"{float(samples.aum[index]):.3f}",
                     "confidence": f"{float(samples.confidence[index]):.3f}",
                     "forgetting": int(samples.forgetting_events[index]),
                     "learned": str(learned) if learned else "never"})
    return rows


def remedy_section(run: Path) -> dict[str, Any] | None:
    """The remedy comparison from ``RUN/remedy.json`` (written by ``lossgap remedy``), or None without one."""
    path = run / REMEDY_FILE
    if not path.exists():
        return None
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        rows = [{**payload["baseline"], "verdict": "-"}]
        # The permuted-label control is no remedy (the line under the CLI's table reads it): it never "beats" the run,
        # even where shuffled labels reach a lower val loss than the true ones, as labels without signal let them.
        rows += [{**candidate, "verdict": "-" if candidate.get("name") == PERMUTED_CONTROL
                  else "yes" if candidate.get("beats_baseline") else "no"} for candidate in payload["candidates"]]
        # Judged each on its own target (metric null): the figure shows val loss, the table each one's figure.
        metric = payload.get("metric") or "val_loss"
    except (OSError, ValueError, KeyError, TypeError):
        return None  # an unreadable remedy file must not cost the user the rest of the report
    metrics = ("val_loss", "val_accuracy", "val_balanced_accuracy")
    table = [{"name": row.get("name", "?"), "verdict": row["verdict"],
              "judged_on": (row.get("judged_on") or "-").replace("_", " "),
              "cells": [_interval(row.get(name)) for name in metrics]} for row in rows]
    judged = (payload.get("metric") or "").replace("_", " ") or "what each is meant to improve"
    return {"replicates": payload.get("replicates"), "metric": metric, "judged": judged, "rows": rows, "table": table,
            "metrics": [name.replace("_", " ") for name in metrics], "winner_command": payload.get("winner_command"),
            "more_data": more_data_section(payload.get("more_data")), "winners": _winners(rows, metric)}


def _winners(rows: list[dict], metric: str) -> str | None:
    """One sentence naming the remedies that beat the baseline, each on the figure it was judged on (the
    verdict, written before they ran, may say "No problem found" beside them), or None."""
    baseline, found = rows[0], []
    for row in rows[1:]:
        if row["verdict"] != "yes":
            continue
        name = row.get("judged_on") or metric
        before, after = (baseline.get(name) or {}).get("mean"), (row.get(name) or {}).get("mean")
        if isinstance(before, (int, float)) and isinstance(after, (int, float)):
            found.append(f"{row.get('name', '?')} ({name.replace('_', ' ')} {before:.3f} -> {after:.3f})")
    if not found:
        return None
    return (f"Remedies tried since beat this run: {', '.join(found)}; the verdict above describes this run alone "
            "(see Remedies tried)")


def more_data_section(entry: Any) -> dict[str, Any] | None:
    """The learning curve of remedy.json's ``more_data`` entry as table rows (share, samples, val loss, val
    accuracy; then the predictions and the asymptote), its verdict, and the entry itself for the figure."""
    if not isinstance(entry, dict):
        return None
    try:
        curves = [entry.get("val_loss"), entry.get("val_accuracy")]
        left_out = entry.get("left_out") or {}
        rows = []
        for share, size in zip(entry["fractions"], entry["sizes"]):
            cells = []
            dropped = size in (left_out.get("sizes") or [])
            for metric, curve in zip(("val_loss", "val_accuracy"), curves):
                means = dict(zip(curve["sizes"], curve["means"])) if isinstance(curve, dict) else {}
                if dropped:
                    seeds = [v for v in left_out[metric][left_out["sizes"].index(size)] if v is not None]
                    means[size] = float(np.mean(seeds)) if seeds else None
                value = means.get(size, means.get(float(size)))
                cells.append("-" if value is None else f"{value:.3f}")
            rows.append({"name": f"{share:.0%} (measured{', left out of the fit' if dropped else ''})",
                         "size": str(size), "cells": cells})
        for index, multiple in enumerate((2, 4)):
            predicted = [curve["predictions"][index] if isinstance(curve, dict) else None for curve in curves]
            size = next((p["size"] for p in predicted if p is not None), None)
            rows.append({"name": f"{multiple}x (predicted)", "size": "-" if size is None else f"{size:.0f}",
                         "cells": [_estimate(p) for p in predicted]})
        rows.append({"name": "asymptote", "size": "-",
                     "cells": [_estimate(curve["asymptote"])
                               + (" (at its bound)" if curve.get("asymptote_at_bound") else "")
                               if isinstance(curve, dict) else "-" for curve in curves]})
    except (KeyError, TypeError, IndexError, ValueError):
        return None  # an unreadable curve must not cost the user the rest of the report
    return {"entry": entry, "rows": rows, "sentence": entry.get("sentence"), "verdict": entry.get("verdict"),
            "seeds": entry.get("seeds")}


def _estimate(value: Any) -> str:
    if not isinstance(value, dict) or value.get("value") is None:
        return "-"
    if value.get("low") is None or value.get("high") is None:
        return f"{value['value']:.3f}"
    return f"{value['value']:.3f} [{value['low']:.3f}, {value['high']:.3f}]"


def _interval(value: Any) -> str:
    if not isinstance(value, dict) or value.get("mean") is None:
        return "-"
    text = f"{value['mean']:.3f}"
    if value.get("low") is not None and value.get("high") is not None:
        text += f" [{value['low']:.3f}, {value['high']:.3f}]"
    return text
