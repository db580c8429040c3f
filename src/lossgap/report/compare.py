"""Several runs side by side: the settings that differ, train and val curves overlaid on shared epochs, a table
of best and final figures, and links to each run's report.

``lossgap compare`` writes the page; the remedy and sweep steps reuse :func:`overlay_figure` and
:func:`comparison_rows`. Also home of the sweep's self-contained page (same look as the report).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

from lossgap.errors import ConfigError
from lossgap.io import write_text
from lossgap.plain import to_plain
from lossgap.report.figure_style import LEGEND_ROW, Margins, legend_rows, new_figure, plain_label, styled, to_png
from lossgap.report.html import data_uri, lossgap_version, template_environment
from lossgap.report.tables import format_number
from lossgap.run.reader import delivered_epoch
from lossgap.run.rundir import DIAGNOSIS_FILE, REPORT_FILE, RunRecord, read_run


def _column(record: RunRecord, name: str) -> np.ndarray | None:
    """A metrics column as float64, or None when the run did not record it (or only NaN)."""
    values = record.metrics.get(name)
    if values is None or not len(values) or not np.isfinite(np.asarray(values, dtype=np.float64)).any():
        return None
    return np.asarray(values, dtype=np.float64)


def _main_cause(record: RunRecord) -> str | None:
    """The first verdict's cause in RUN/diagnosis.json, "none" for a healthy run, None without a diagnosis."""
    path = record.path / DIAGNOSIS_FILE
    try:
        verdicts = json.loads(path.read_text(encoding="utf-8")).get("verdicts")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(verdicts, list):
        return None
    return str(verdicts[0].get("cause")) if verdicts and isinstance(verdicts[0], dict) else "none"


def comparison_rows(runs: dict[str, RunRecord]) -> list[dict[str, Any]]:
    """One dict per run, in the order given, with these keys (None where the run lacks the figure):

    ``run`` (the name), ``path``, ``epochs``, ``best_epoch`` (1-based epoch of the lowest raw val loss),
    ``best_val_loss`` (nats), ``best_val_accuracy`` (val accuracy at that epoch), ``final_val_loss``,
    ``final_val_accuracy`` (the last epoch's), ``delivered_epoch`` (summary.json's, else the last epoch: the
    model a loop that keeps its last weights has), ``delivered_val_loss`` and ``delivered_val_accuracy`` (at
    that epoch), ``test_accuracy`` and ``test_loss`` (of the delivered model, from summary.json),
    ``main_cause`` (from diagnosis.json: a cause code, "none", or None if not diagnosed).
    """
    rows = []
    for name, record in runs.items():
        val_loss = _column(record, "val_loss")
        val_accuracy = _column(record, "val_accuracy")
        epochs = len(record.metrics.get("epoch", [])) or record.num_epochs
        best = int(np.nanargmin(val_loss)) if val_loss is not None else None
        test = record.summary.get("test") if isinstance(record.summary.get("test"), dict) else {}
        delivered = delivered_epoch(record.summary, int(epochs)) or None

        def at(values: np.ndarray | None, index: int | None) -> float | None:
            return to_plain(float(values[index])) if values is not None and index is not None else None

        rows.append({
            "run": name,
            "path": str(record.path),
            "epochs": int(epochs),
            "best_epoch": best + 1 if best is not None else None,
            "best_val_loss": at(val_loss, best),
            "best_val_accuracy": at(val_accuracy, best),
            "final_val_loss": at(val_loss, -1),
            "final_val_accuracy": at(val_accuracy, -1),
            "delivered_epoch": delivered,
            "delivered_val_loss": at(val_loss, delivered - 1 if delivered else None),
            "delivered_val_accuracy": at(val_accuracy, delivered - 1 if delivered else None),
            "test_accuracy": test.get("accuracy"),
            "test_loss": test.get("loss"),
            "main_cause": _main_cause(record),
        })
    return rows


@styled
def overlay_figure(runs: dict[str, RunRecord]) -> bytes:
    """Loss (top) and accuracy (bottom) of every run on one shared epoch axis: val solid, train dashed, each
    run's lowest val loss dotted; returns PNG bytes. Runs without a val column are left out of that panel."""
    columns = min(4, max(1, len(runs)))
    figure = new_figure(5.6, margins=Margins(top=0.12 + LEGEND_ROW * legend_rows(len(runs), columns), hspace=0.08))
    loss_axis, accuracy_axis = figure.subplots(2, 1, sharex=True)
    palette = matplotlib.colormaps["tab10" if len(runs) <= 10 else "tab20"]
    longest = 1
    for index, (name, record) in enumerate(runs.items()):
        colour = palette(index % palette.N)
        epochs = np.asarray(record.metrics.get("epoch", np.arange(1, record.num_epochs + 1)))
        longest = max(longest, int(epochs.max()) if len(epochs) else 1)
        val_loss = _column(record, "val_loss")
        val_accuracy = _column(record, "val_accuracy")
        # Train curves dashed in the run's colour: a gap that opens between a run's two lines is overfitting.
        for axis, column in ((loss_axis, "train_loss"), (accuracy_axis, "train_accuracy")):
            train_values = _column(record, column)
            if train_values is not None:
                axis.plot(epochs, train_values, color=colour, lw=1.0, ls="--", alpha=0.7)
        if val_loss is not None:
            loss_axis.plot(epochs, val_loss, color=colour, lw=1.4, label=plain_label(name, 40))
            best = int(np.nanargmin(val_loss))
            loss_axis.plot(epochs[best], val_loss[best], "o", color=colour, ms=5)
            if val_accuracy is not None:
                accuracy_axis.plot(epochs[best], val_accuracy[best], "o", color=colour, ms=5)
        if val_accuracy is not None:
            accuracy_axis.plot(epochs, val_accuracy, color=colour, lw=1.4,
                               label=None if val_loss is not None else plain_label(name, 40))
    loss_axis.set_ylabel("loss (nats)")
    accuracy_axis.set_ylabel("accuracy")
    accuracy_axis.set_xlabel("epoch")
    accuracy_axis.set_xlim(0.5, longest + 0.5)
    handles, labels = loss_axis.get_legend_handles_labels()
    more_handles, more_labels = accuracy_axis.get_legend_handles_labels()
    if handles or more_handles:
        figure.legend(handles + more_handles, labels + more_labels, loc="upper center", bbox_to_anchor=(0.5, 1.0),
                      ncol=columns, frameon=False)
    return to_png(figure)


def settings_diff(runs: dict[str, RunRecord]) -> list[dict[str, Any]]:
    """The options whose values differ between the runs, one row each (``{"option": "--dropout", "cells": ["0",
    "0.2"]}``), in declaration order, the data source first. Own-loop runs (no lossgap config) show the
    settings their Recorder described (hidden size, dropout, optimizer, learning rate, weight decay) and "-"
    for the rest."""
    from lossgap.options import option_specs, value_at
    from lossgap.training.config import TrainConfig

    configs = [record.settings for record in runs.values()]

    def value(config: dict | None, path: str) -> str:
        try:
            found = value_at(config, path) if config is not None else None
        except (KeyError, TypeError):
            return "-"
        return "-" if config is None else ("off" if found is None else format_number(found, 4))

    rows = []
    for option, path in [("DATA", "data.source"), *((spec.flag.split("/")[0], spec.path)
                                                     for spec in option_specs(TrainConfig))]:
        values = [value(config, path) for config in configs]
        if len(set(values)) > 1:
            rows.append({"option": option, "cells": values})
    return rows


def report_links(runs: dict[str, RunRecord], page: Path) -> list[str | None]:
    """Each run's ``report.html`` relative to the page's folder (so the links survive moving both), or None."""
    links = []
    for record in runs.values():
        report = record.path / REPORT_FILE
        links.append(Path(os.path.relpath(report.resolve(), page.resolve().parent)).as_posix()
                     if report.exists() else None)
    return links


def run_names(records: list[RunRecord]) -> list[str]:
    """Short unique names for runs: the directory name, with parents added until the names differ."""
    paths = [record.path.resolve() for record in records]
    for depth in range(1, max(len(path.parts) for path in paths) + 1):
        names = [str(Path(*path.parts[-depth:])) for path in paths]
        if len(set(names)) == len(names):
            return names
    return [str(path) for path in paths]


def read_runs(run_dirs: list[str | Path]) -> dict[str, RunRecord]:
    """Read ``run_dirs`` into records keyed by short unique names (see :func:`run_names`), in the order given.

    Raises ConfigError when no run is given, RunDirError (one line) for a directory that holds no run.
    """
    if not run_dirs:
        raise ConfigError("no run to compare; pass one or more run directories")
    records = [read_run(run_dir) for run_dir in run_dirs]
    seen: set[Path] = set()
    for record in records:
        where = record.path.resolve()
        if where in seen:
            raise ConfigError(f"run {record.path} is given twice; pass each run directory once")
        seen.add(where)
    return dict(zip(run_names(records), records))


def write_comparison(run_dirs: list[str | Path], out: str | Path) -> Path:
    """Write one self-contained HTML page comparing ``run_dirs`` to ``out``; returns its path.

    Raises ConfigError when no run is given or ``out`` is a directory, RunDirError for an unreadable run.
    """
    return write_comparison_page(read_runs(run_dirs), out)


def write_comparison_page(runs: dict[str, RunRecord], out: str | Path) -> Path:
    """Write the comparison page of already read ``runs`` (name -> record) to ``out``; returns its path."""
    target = Path(out)
    if target.is_dir():
        raise ConfigError(f"--out {target} is a directory; pass a file path such as {target / 'comparison.html'}")
    rows = comparison_rows(runs)
    links = report_links(runs, target)
    cells = [{"run": row["run"], "path": row["path"], "main_cause": row["main_cause"] or "-", "report": link,
              "test": format_number(row["test_accuracy"], 4),
              "numbers": [format_number(row[key], 4) for key in
                          ("epochs", "best_epoch", "best_val_loss", "best_val_accuracy", "delivered_epoch",
                           "delivered_val_loss", "delivered_val_accuracy")]} for row, link in zip(rows, links, strict=True)]
    html = template_environment().get_template("compare.html.j2").render(
        rows=cells, image=data_uri(overlay_figure(runs)), settings=settings_diff(runs), names=list(runs),
        has_test=any(row["test_accuracy"] is not None for row in rows), version=lossgap_version())
    write_text(target, html)
    return target


def write_sweep_page(out: str | Path, *, study: str, rows: list[dict], pngs: dict[str, bytes],
                     command: str | None, captions: list[tuple[str, str, str]] | None = None,
                     counts: dict[str, int] | None = None, command_note: str | None = None) -> Path:
    """A self-contained page of a sweep in the report's style: trial counts, the best configuration's command
    (with ``command_note`` beside it: why it will not repeat the best trial exactly, for an older study), the
    best trials, and Optuna's plots each with a title and a caption (``captions``: (name, title, caption)).

    Returns the path written.
    """
    columns = list(rows[0]) if rows else []
    described = {name: (title, caption) for name, title, caption in captions or ()}
    html = template_environment().get_template("sweep.html.j2").render(
        study=study, columns=[column.replace("_", " ") for column in columns],
        rows=[[format_number(row.get(key)) for key in columns] for row in rows], command=command,
        command_note=command_note,
        version=lossgap_version(), counts=counts or {},
        images=[(name, *described.get(name, (name.replace("_", " "), "")), data_uri(data))
                for name, data in pngs.items()])
    target = Path(out)
    write_text(target, html)
    return target

