"""``lossgap compare``: several runs' val curves overlaid and their best and final figures in one page."""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2
import matplotlib.pyplot as plt
import numpy as np

from lossgap.io import write_text
from lossgap.report.figures import to_png
from lossgap.run.rundir import RunRecord, read_run

COMPARE_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lossgap comparison</title>
<style>body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 0 auto; padding: 1.5rem; }
table { border-collapse: collapse; font-size: .85rem; } td, th { border: 1px solid #ddd; padding: .2rem .5rem;
text-align: right; } th { background: #f4f4f4; } td.text { text-align: left; } img { max-width: 100%; }</style>
</head><body><h1>lossgap comparison of {{ rows|length }} runs</h1>
<img alt="overlay" src="data:image/png;base64,{{ image }}">
<table><tr><th>run</th><th>epochs</th><th>best epoch</th><th>best val loss</th><th>val acc at best</th>
<th>final val loss</th><th>final val acc</th><th>test acc</th></tr>
{% for row in rows %}<tr><td class="text">{{ row.run }}</td><td>{{ row.epochs }}</td><td>{{ row.best_epoch }}</td>
<td>{{ "%.4f"|format(row.best_val_loss) }}</td><td>{{ "%.3f"|format(row.best_val_accuracy) }}</td>
<td>{{ "%.4f"|format(row.final_val_loss) }}</td><td>{{ "%.3f"|format(row.final_val_accuracy) }}</td>
<td>{{ "-" if row.test_accuracy is none else "%.3f"|format(row.test_accuracy) }}</td></tr>{% endfor %}
</table></body></html>
"""


def comparison_rows(runs: dict[str, RunRecord]) -> list[dict]:
    """Per run: epochs, best epoch (val-loss minimum), val loss/accuracy there and at the end, test accuracy."""
    rows = []
    for name, record in runs.items():
        val_loss = record.metrics["val_loss"]
        val_accuracy = record.metrics["val_accuracy"]
        best = int(np.nanargmin(val_loss))
        test = record.summary.get("test") or {}
        rows.append({"run": name, "epochs": len(val_loss), "best_epoch": best + 1,
                     "best_val_loss": float(val_loss[best]), "best_val_accuracy": float(val_accuracy[best]),
                     "final_val_loss": float(val_loss[-1]), "final_val_accuracy": float(val_accuracy[-1]),
                     "test_accuracy": test.get("accuracy")})
    return rows


def overlay_figure(runs: dict[str, RunRecord]) -> bytes:
    """Val loss (left) and val accuracy (right) of every run on shared epochs, as PNG bytes."""
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.8))
    for name, record in runs.items():
        epochs = record.metrics["epoch"]
        loss_axis.plot(epochs, record.metrics["val_loss"], label=name)
        accuracy_axis.plot(epochs, record.metrics["val_accuracy"], label=name)
    loss_axis.set(xlabel="epoch", ylabel="val loss (nats)")
    accuracy_axis.set(xlabel="epoch", ylabel="val accuracy")
    loss_axis.legend(fontsize=7)
    return to_png(figure)


def write_comparison(run_dirs: list[str | Path], out: str | Path) -> Path:
    """Write the comparison page of ``run_dirs`` to ``out``; returns its path."""
    runs: dict[str, RunRecord] = {}
    for run_dir in run_dirs:
        record = read_run(run_dir)
        name = record.path.name if record.path.name not in runs else str(record.path)
        runs[name] = record
    template = jinja2.Environment(autoescape=True).from_string(COMPARE_TEMPLATE)
    html = template.render(rows=comparison_rows(runs),
                           image=base64.b64encode(overlay_figure(runs)).decode("ascii"))
    target = Path(out)
    write_text(target, html)
    return target


SWEEP_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>lossgap sweep {{ study }}</title>
<style>body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 0 auto; padding: 1.5rem; }
table { border-collapse: collapse; font-size: .85rem; } td, th { border: 1px solid #ddd; padding: .2rem .5rem;
text-align: right; } th { background: #f4f4f4; } img { max-width: 100%; } code { background: #f4f4f4; }</style>
</head><body><h1>lossgap sweep: study {{ study }}</h1>
{% if command %}<p>Best configuration: <code>{{ command }}</code></p>{% endif %}
<table><tr>{% for key in columns %}<th>{{ key }}</th>{% endfor %}</tr>
{% for row in rows %}<tr>{% for key in columns %}<td>{{ row[key] }}</td>{% endfor %}</tr>{% endfor %}</table>
{% for name, image in images %}<h2>{{ name }}</h2><img alt="{{ name }}" src="data:image/png;base64,{{ image }}">{% endfor %}
</body></html>
"""


def write_sweep_page(out: str | Path, *, study: str, rows: list[dict], pngs: dict[str, bytes],
                     command: str | None) -> Path:
    """A self-contained page of a sweep: best trials, the best command, Optuna's plots."""
    template = jinja2.Environment(autoescape=True).from_string(SWEEP_TEMPLATE)
    columns = list(rows[0]) if rows else []
    html = template.render(study=study, rows=rows, columns=columns, command=command,
                           images=[(name, base64.b64encode(data).decode("ascii")) for name, data in pngs.items()])
    target = Path(out)
    write_text(target, html)
    return target
