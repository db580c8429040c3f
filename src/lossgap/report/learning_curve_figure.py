"""The report's learning-curve figure (the ``more_data`` remedy): val loss and val accuracy against
training-set size, each seed's delivered figure, their mean, the fitted power law and its 95% band, the
predictions at 2x and 4x with their intervals, and the asymptote.

Drawn from the ``more_data`` entry of remedy.json (plain dicts), with the conventions of
:mod:`lossgap.report.figures`: PNG bytes 900 px wide, or None when the entry holds no curve.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from lossgap.report.figure_style import BEST_COLOUR, TRAIN_COLOUR, VAL_COLOUR, Margins, new_figure, styled, to_png

PANELS = (("val_loss", "val loss (nats)"), ("val_accuracy", "val accuracy"))


@styled
def learning_curve_figure(more_data: dict) -> bytes | None:
    """Two panels (loss, accuracy) over training-set size on a log axis; returns PNG bytes, or None when
    neither curve could be fitted."""
    curves = [(more_data.get(metric), label) for metric, label in PANELS]
    if not any(isinstance(curve, dict) for curve, _ in curves):
        return None
    figure = new_figure(3.4, margins=Margins(left=0.7, bottom=0.55, top=0.2, wspace=0.28))
    axes = figure.subplots(1, 2)
    for axis, (curve, label), (metric, _) in zip(axes, curves, PANELS):
        axis.set_xscale("log")
        axis.set_xlabel("training-set size (samples, log scale)")
        axis.set_ylabel(label)
        if not isinstance(curve, dict):
            axis.text(0.5, 0.5, "too few finished runs to fit", transform=axis.transAxes, ha="center")
            continue
        _draw(axis, curve)
        _draw_left_out(axis, more_data.get("left_out") or {}, metric)
    # The legend goes on the first panel that has a curve (both panels draw the same kinds of marks).
    drawn = next(axis for axis, (curve, _) in zip(axes, curves) if isinstance(curve, dict))
    drawn.legend(loc="best", frameon=True, framealpha=0.9)
    return to_png(figure)


def _draw_left_out(axis, left_out: dict, metric: str) -> None:
    """The shares measured but left out of the fit (not every seed learned there), as hollow grey marks."""
    sizes = left_out.get("sizes") or []
    rows = left_out.get(metric) or []
    for size, row in zip(sizes, rows):
        values = [np.nan if value is None else value for value in row]
        axis.plot([size] * len(values), values, "o", mfc="none", color="grey", ms=4.5,
                  label="left out of the fit (not every seed learned)" if size == sizes[0] else None)
    if sizes:
        ticks = sorted({*axis.get_xticks().tolist(), *(float(size) for size in sizes)})
        axis.set_xticks(ticks, [f"{tick:.0f}" for tick in ticks])


def _draw(axis, curve: dict) -> None:
    sizes = np.asarray(curve["sizes"], dtype=float)
    per_seed = np.asarray([[np.nan if value is None else value for value in row] for row in curve["per_seed"]],
                          dtype=float)
    for column in range(per_seed.shape[1]):
        axis.plot(sizes, per_seed[:, column], "o", color=TRAIN_COLOUR, alpha=0.35, ms=3.5,
                  label="each seed" if column == 0 else None)
    means = np.asarray([np.nan if value is None else value for value in curve["means"]], dtype=float)
    axis.plot(sizes, means, "o", color=TRAIN_COLOUR, ms=6, label="mean over seeds")
    band = curve.get("band") or {}
    band_sizes = np.asarray(band.get("sizes") or [], dtype=float)
    if band_sizes.size:
        low = np.asarray([np.nan if value is None else value for value in band["low"]], dtype=float)
        high = np.asarray([np.nan if value is None else value for value in band["high"]], dtype=float)
        axis.fill_between(band_sizes, low, high, color=VAL_COLOUR, alpha=0.15, lw=0, label="95% band (bootstrap)")
        fit = curve["fit"]
        sign = 1.0 if fit["falling"] else -1.0
        fitted = fit["asymptote"] + sign * fit["scale"] * (band_sizes / fit["reference"]) ** -fit["exponent"]
        axis.plot(band_sizes, fitted, "-", color=VAL_COLOUR, lw=1.4, label="power-law fit")
    for prediction in curve.get("predictions", []):
        value, low, high = prediction["value"], prediction.get("low"), prediction.get("high")
        error = [[value - low], [high - value]] if low is not None and high is not None else None
        axis.errorbar(prediction["size"], value, yerr=error, fmt="D", color=BEST_COLOUR, capsize=4, ms=5,
                      label="predicted (2x, 4x)" if prediction is curve["predictions"][0] else None)
        axis.annotate(f"{prediction['multiple']:g}x", (prediction["size"], value), textcoords="offset points",
                      xytext=(6, 4), fontsize=8, color=BEST_COLOUR)
    # Ticks at the sizes measured and predicted: the sizes the reader compares.
    ticks = sorted({*sizes.tolist(), *(float(p["size"]) for p in curve.get("predictions", []))})
    axis.set_xticks(ticks, [f"{tick:.0f}" for tick in ticks])
    axis.xaxis.set_minor_formatter(NullFormatter())
    asymptote = curve.get("asymptote") or {}
    if asymptote.get("value") is not None:
        axis.axhline(asymptote["value"], color="#495057", ls="--", lw=0.8, label="asymptote")
