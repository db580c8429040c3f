"""The report's interactive layer: Plotly figures (hover, zoom, toggling series) and each suspect's story.

The figures are Plotly's JSON figure format (traces and layout as plain dicts), drawn in the page by the
plotly.js bundle that ships inside the ``plotly`` package, inlined, so the page still opens offline. Nothing
here imports plotly's Python side: the page needs only its JavaScript. The PNG figures stay beside these for
people who paste images.

The curves and the ledger open zoomed to the window the main verdict is about (the main plateau), with the
loss axis scaled to that window, so a fall of 0.04 nats is visible; a double click shows the whole run.
"""

from __future__ import annotations

import importlib.util
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from lossgap.analysis.ledger import LEDGER_GROUPS, ledger_series
from lossgap.diagnosis import Diagnosis
from lossgap.errors import LossgapError
from lossgap.plain import to_plain
from lossgap.report.figure_style import GROUP_COLOURS, GROUP_LABELS, PLATEAU_COLOUR, TRAIN_COLOUR, VAL_COLOUR
from lossgap.report.inputs import SuspectInputs, id_text, read_suspect_inputs
from lossgap.run.rundir import RunRecord

#: How many suspects get their per-epoch story (and input sequence) in the page.
SUSPECT_STORIES = 20
#: Longest input sequence drawn for a suspect (longer ones are drawn every k-th step).
MAX_DRAWN_STEPS = 2000
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}
_FONT = {"family": "system-ui, sans-serif", "size": 12}


@lru_cache(maxsize=1)
def plotly_bundle() -> str:
    """plotly.js (minified) from the installed ``plotly`` package, for inlining. LossgapError when missing."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise LossgapError("the interactive report needs plotly; install it with: pip install plotly")
    bundle = Path(next(iter(spec.submodule_search_locations))) / "package_data" / "plotly.min.js"
    return bundle.read_text(encoding="utf-8")


def page_data(record: RunRecord, diagnosis: Diagnosis, inputs: SuspectInputs | None = None) -> dict[str, Any]:
    """Everything the page's script draws: ``figures`` (element id -> {data, layout}) and ``suspects`` (row key
    -> the sample's per-epoch true-class probability and margin, and its input sequence or the sentence saying
    why it is not shown). ``inputs`` are read from the run's data when not given (see :func:`suspect_inputs`)."""
    evidence = diagnosis.evidence
    window = window_of(diagnosis)
    figures = {"interactive-curves": _curves(evidence, window)}
    ledger = _ledger(evidence, window)
    if ledger is not None:
        figures["interactive-ledger"] = ledger
    inputs = suspect_inputs(record, diagnosis) if inputs is None else inputs
    return {"figures": figures, "suspects": suspect_stories(record, diagnosis, inputs), "config": _PLOT_CONFIG}


def script_json(payload: dict[str, Any]) -> str:
    """``payload`` as JSON that is safe inside a <script type="application/json"> element: no user string can
    close the element or open a comment (<, > and & are written as \\u escapes)."""
    text = json.dumps(to_plain(payload), separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def window_of(diagnosis: Diagnosis) -> tuple[int, int] | None:
    """(first, last) epoch of the window the main verdict is about (the main plateau), or None."""
    plateau = diagnosis.evidence.main_plateau
    return (plateau.start_epoch, plateau.end_epoch) if plateau is not None else None


def _zoomed_range(values: list[np.ndarray], epochs: np.ndarray, window: tuple[int, int]) -> list[float] | None:
    """A y range that shows ``values`` inside the epoch ``window`` with 10% headroom (None when empty)."""
    inside = (epochs >= window[0]) & (epochs <= window[1])
    seen = np.concatenate([np.asarray(value, dtype=np.float64)[inside] for value in values])
    seen = seen[np.isfinite(seen)]
    if seen.size == 0:
        return None
    low, high = float(seen.min()), float(seen.max())
    pad = max(high - low, 1e-6) * 0.1
    return [low - pad, high + pad]


def _curves(evidence, window: tuple[int, int] | None) -> dict[str, Any]:
    curves = evidence.curves
    epochs = np.arange(1, curves.num_epochs + 1)
    data = []
    for axis, (train, val, what) in enumerate(((curves.train_loss, curves.val_loss, "loss"),
                                               (curves.train_accuracy, curves.val_accuracy, "accuracy")), start=1):
        for name, values, colour in (("train", train, TRAIN_COLOUR), ("val", val, VAL_COLOUR)):
            data.append({"type": "scatter", "mode": "lines+markers", "x": epochs, "y": values,
                         "name": f"{name} {what}", "legendgroup": name, "line": {"color": colour, "width": 2},
                         "marker": {"size": 4}, "xaxis": "x", "yaxis": "y" if axis == 1 else "y2",
                         "hovertemplate": f"epoch %{{x}}<br>{name} {what} %{{y:.4f}}<extra></extra>"})
    layout: dict[str, Any] = {
        "height": 520, "margin": {"l": 60, "r": 20, "t": 30, "b": 40}, "font": _FONT, "hovermode": "x unified",
        "legend": {"orientation": "h", "y": 1.08},
        "xaxis": {"title": {"text": "epoch"}, "anchor": "y2"},
        "yaxis": {"title": {"text": "loss (nats)"}, "domain": [0.55, 1.0]},
        "yaxis2": {"title": {"text": "accuracy"}, "domain": [0.0, 0.45]},
        "shapes": [_best_line(evidence.best_epoch)],
    }
    if window is not None:
        layout["shapes"].append(_window_shape(window))
        layout["xaxis"]["range"] = [window[0] - 0.5, window[1] + 0.5]
        for key, values in (("yaxis", [curves.train_loss, curves.val_loss]),
                            ("yaxis2", [curves.train_accuracy, curves.val_accuracy])):
            zoomed = _zoomed_range(values, epochs, window)
            if zoomed is not None:
                layout[key]["range"] = zoomed
    return {"data": data, "layout": layout}


def _ledger(evidence, window: tuple[int, int] | None) -> dict[str, Any] | None:
    val = evidence.val
    if val.num_epochs < 2:
        return None
    series = ledger_series(val)
    epochs = series.start_epochs + 1
    data = [{"type": "bar", "x": epochs, "y": np.nan_to_num(series.contributions[:, index]),
             "name": GROUP_LABELS[name], "marker": {"color": GROUP_COLOURS[name]},
             "customdata": series.counts[:, index],
             "hovertemplate": f"epoch %{{x}}<br>{GROUP_LABELS[name]}: %{{y:.4f}} nats "
                              "(%{customdata} samples)<extra></extra>"}
            for index, name in enumerate(LEDGER_GROUPS)]
    data.append({"type": "scatter", "mode": "lines+markers", "x": epochs, "y": series.loss_change,
                 "name": "net change of mean loss", "line": {"color": "black", "width": 1.5},
                 "hovertemplate": "epoch %{x}<br>net change %{y:.4f} nats<extra></extra>"})
    layout: dict[str, Any] = {
        "height": 380, "barmode": "relative", "margin": {"l": 60, "r": 20, "t": 30, "b": 40}, "font": _FONT,
        "legend": {"orientation": "h", "y": 1.15},
        "xaxis": {"title": {"text": "epoch (change from the previous epoch)"}},
        "yaxis": {"title": {"text": "change of mean val loss (nats)"}}, "shapes": []}
    if window is not None:
        layout["shapes"].append(_window_shape(window))
        layout["xaxis"]["range"] = [window[0] - 0.5, window[1] + 0.5]
    return {"data": data, "layout": layout}


def _best_line(epoch: int) -> dict[str, Any]:
    return {"type": "line", "xref": "x", "yref": "paper", "x0": epoch, "x1": epoch, "y0": 0, "y1": 1,
            "line": {"color": "#555", "width": 1, "dash": "dot"}}


def _window_shape(window: tuple[int, int]) -> dict[str, Any]:
    return {"type": "rect", "xref": "x", "yref": "paper", "x0": window[0] - 0.5, "x1": window[1] + 0.5, "y0": 0,
            "y1": 1, "fillcolor": PLATEAU_COLOUR, "opacity": 0.25, "line": {"width": 0}, "layer": "below"}


def suspect_stories(record: RunRecord, diagnosis: Diagnosis, inputs: SuspectInputs) -> dict[str, Any]:
    """Row key ("0", "1"... in the suspects table's order) -> the sample's id (text), per-epoch true-class
    probability and margin, and its input sequence (steps x features) when ``inputs`` has it, else
    ``inputs_note``: the sentence the page shows in its place (why, and how to show it)."""
    evidence = diagnosis.evidence
    train = record.dynamics.get("train")
    if evidence.suspects is None or evidence.train_samples is None or train is None:
        return {}
    stories = {}
    for row, index in enumerate(evidence.suspects.indices[:SUSPECT_STORIES]):
        sample_id = evidence.train_samples.sample_ids[index]
        position = np.flatnonzero(train.sample_ids == sample_id)
        if position.size == 0:
            continue
        column = int(position[0])
        key = id_text(sample_id)
        sequence = inputs.sequences.get(key)
        if sequence is not None and len(sequence) > MAX_DRAWN_STEPS:
            sequence = sequence[:: -(-len(sequence) // MAX_DRAWN_STEPS)]
        stories[str(row)] = {"id": key, "probability": np.exp(train.true_log_prob[:, column].astype(np.float64)),
                             "margin": train.margin[:, column].astype(np.float64),
                             "inputs": None if sequence is None else np.asarray(sequence, dtype=np.float64).T,
                             "inputs_note": inputs.note_for(key)}
    return stories


def suspect_inputs(record: RunRecord, diagnosis: Diagnosis) -> SuspectInputs:
    """The input sequences (steps x features, as the model saw them) of the suspects shown in the page, by id
    text, read again from the run's data; when they cannot be (a run from your own loop, a moved file, a
    relative path of an older run), the sentence each story shows instead."""
    evidence = diagnosis.evidence
    if evidence.suspects is None or evidence.train_samples is None:
        return SuspectInputs()
    shown = evidence.suspects.indices[:SUSPECT_STORIES]
    return read_suspect_inputs(record, [id_text(value) for value in evidence.train_samples.sample_ids[shown]])
