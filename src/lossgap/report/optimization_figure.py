"""The report's optimisation figure: gradient norms, update ratios and recurrent-gate health per epoch.

Drawn from a :class:`~lossgap.analysis.gradients.GradientHealth` (the run's ``optimization.csv`` judged), with
the same conventions as :mod:`lossgap.report.figures`: PNG bytes 900 px wide, or None when nothing was observed.
"""

from __future__ import annotations

import math
import re

import numpy as np
from matplotlib.ticker import NullLocator

from lossgap.analysis.gradients import (DEAD_SHARE, LARGE_UPDATE_RATIO, SATURATED_SHARE,
                                        UPDATE_RATIO_RULE_OF_THUMB, GradientHealth)
from lossgap.report.figure_style import ONSET_COLOUR, Margins, new_figure, plain_label, styled, to_png

#: Line colours of the tensor groups, in parameter order (cycled when there are more groups).
GROUP_COLOURS = ("#1c7ed6", "#f08c00", "#2f9e44", "#ae3ec9", "#0c8599", "#e8590c", "#5c940d", "#c2255c")
#: At most this many groups get a line of their own; further groups are left out of the legend's clutter.
MAX_GROUPS = 8
_LAYER = re.compile(r"_l(\d+)(_reverse)?$")


def tensor_group(name: str) -> str:
    """The group a parameter tensor is drawn in: its module, plus the layer for recurrent weights.

    ``lstm.weight_ih_l0`` and ``lstm.bias_hh_l0_reverse`` -> ``lstm.l0`` (directions pooled); ``head.weight``
    -> ``head``; a parameter of the model itself (no dot) is its own group.
    """
    module, _, tensor = name.rpartition(".")
    layer = _LAYER.search(tensor)
    suffix = f"l{layer.group(1)}" if layer else ""
    if not module:
        return f"l{layer.group(1)}" if layer else name
    return f"{module}.{suffix}" if suffix else module


def grouped_grad_norm(health: GradientHealth) -> dict[str, np.ndarray]:
    """Per tensor group (in parameter order), the root of the summed squared mean gradient norms (E,).

    Epochs where none of the group's tensors was measured are NaN.
    """
    groups: dict[str, list[int]] = {}
    for index, name in enumerate(health.tensor_names):
        groups.setdefault(tensor_group(name), []).append(index)
    out = {}
    for group, columns in groups.items():
        values = health.grad_norm[:, columns]
        squared = np.sum(np.where(np.isnan(values), 0.0, values) ** 2, axis=1)
        out[group] = np.where(np.isnan(values).all(axis=1), np.nan, np.sqrt(squared))
    return out


def _row_max(values: np.ndarray) -> np.ndarray:
    """Largest non-NaN entry of each row, NaN for an all-NaN row (without numpy's all-NaN warning)."""
    filled = np.where(np.isnan(values), -np.inf, values).max(axis=1)
    return np.where(np.isneginf(filled), np.nan, filled)


def _positive(values: np.ndarray) -> np.ndarray:
    """``values`` with non-finite and non-positive entries as NaN (gaps on a log axis)."""
    values = np.asarray(values, dtype=np.float64)
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


@styled
def optimization_figure(health: GradientHealth | None) -> bytes | None:
    """Gradient norm per tensor group (log), update ratio (log, with the 1e-3 rule of thumb) and, when the
    model has LSTM/GRU layers, saturated-gate and dead-unit shares per layer, over epochs.

    Epochs judged exploding are marked on the gradient panel, epochs with too-large updates on the ratio panel.
    Returns PNG bytes, or None when ``health`` is None or no epoch was observed.
    """
    if health is None or not health.observed.any():
        return None
    epochs = np.arange(1, health.num_epochs + 1)
    has_gates = bool(health.layer_names) and np.isfinite(health.gate_saturation).any()
    figure = new_figure(7.2 if has_gates else 5.0, margins=Margins(right=2.9, top=0.3, bottom=0.5, hspace=0.3))
    axes = figure.subplots(3 if has_gates else 2, 1, sharex=True)
    grad_axis, ratio_axis = axes[0], axes[1]

    groups = list(grouped_grad_norm(health).items())
    for position, (group, values) in enumerate(groups[:MAX_GROUPS]):
        grad_axis.plot(epochs, _positive(values), color=GROUP_COLOURS[position % len(GROUP_COLOURS)], lw=1.2,
                       marker=".", ms=3, label=plain_label(group, 28))
    grad_axis.plot(epochs, _positive(health.total_grad_norm), color="#212529", lw=1.8, label="all tensors")
    for epoch in health.exploding_epochs:
        grad_axis.axvline(epoch, color=ONSET_COLOUR, lw=1.0, ls=":", zorder=0,
                          label="exploding" if epoch == health.exploding_epochs[0] else None)
    grad_axis.set_yscale("log")
    # Decades are enough to read these panels; minor log ticks cost a third of the figure's drawing time.
    grad_axis.yaxis.set_minor_locator(NullLocator())
    grad_axis.set_ylabel("gradient L2 norm")
    grad_axis.set_title("Gradient norm before clipping, per layer (mean over measured steps)", loc="left")
    grad_axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)

    weight_columns = [health.tensor_names.index(name) for name in health.weight_names]
    for position, (group, _) in enumerate(groups[:MAX_GROUPS]):
        columns = [column for column in weight_columns if tensor_group(health.tensor_names[column]) == group]
        if columns:
            ratio_axis.plot(epochs, _positive(_row_max(health.update_ratio[:, columns])),
                            color=GROUP_COLOURS[position % len(GROUP_COLOURS)], lw=1.0, alpha=0.8,
                            label=f"{plain_label(group, 28)} (largest weight)")
    ratio_axis.plot(epochs, _positive(health.median_update_ratio), color="#212529", lw=1.8,
                    label="median over weights")
    ratio_axis.axhline(UPDATE_RATIO_RULE_OF_THUMB, color="#868e96", ls=(0, (4, 3)), lw=0.9,
                       label=f"rule of thumb {UPDATE_RATIO_RULE_OF_THUMB:g}")
    ratio_axis.axhline(LARGE_UPDATE_RATIO, color=ONSET_COLOUR, ls=(0, (4, 3)), lw=0.9,
                       label=f"too large (> {LARGE_UPDATE_RATIO:g})")
    for epoch in health.large_update_epochs:
        ratio_axis.plot(epoch, health.median_update_ratio[epoch - 1], "o", color=ONSET_COLOUR, ms=5)
    ratio_axis.set_yscale("log")
    ratio_axis.yaxis.set_minor_locator(NullLocator())
    ratio_axis.set_ylabel("||update|| / ||weight||")
    ratio_axis.set_title("Update ratio per optimiser step (mean over measured steps)", loc="left")
    ratio_axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)

    if has_gates:
        gate_axis = axes[2]
        for position, layer in enumerate(health.layer_names[:MAX_GROUPS]):
            colour = GROUP_COLOURS[position % len(GROUP_COLOURS)]
            kept = np.isfinite(health.gate_saturation[:, position])
            gate_axis.plot(epochs[kept], health.gate_saturation[kept, position], color=colour, lw=1.4, marker=".",
                           label=f"{plain_label(layer, 20)}: saturated gates")
            kept = np.isfinite(health.dead_units[:, position])
            gate_axis.plot(epochs[kept], health.dead_units[kept, position], color=colour, lw=1.2, ls="--",
                           marker="x", ms=4, label=f"{plain_label(layer, 20)}: dead units")
        gate_axis.axhline(SATURATED_SHARE, color="#868e96", ls=(0, (4, 3)), lw=0.9,
                          label=f"judged saturated / dead at {SATURATED_SHARE:g} / {DEAD_SHARE:g}")
        gate_axis.set_ylim(-0.03, 1.03)
        gate_axis.set_ylabel("share")
        gate_axis.set_title("Recurrent layers: gates with |pre-activation| > 5, units with constant output",
                            loc="left")
        gate_axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    axes[-1].set_xlabel("epoch")
    axes[-1].set_xlim(0.5, health.num_epochs + 0.5)
    return to_png(figure)


def _number(value: float) -> str:
    return f"{value:.3g}" if value is not None and math.isfinite(value) else "n/a"


def optimization_caption(health: GradientHealth) -> str:
    """Plain-words caption of :func:`optimization_figure` with the run's own numbers and judgements."""
    last = int(np.flatnonzero(health.observed)[-1]) if health.observed.any() else health.num_epochs - 1
    parts = [
        "Top: the L2 norm of each layer's gradient before clipping (per tensor group, and of all tensors "
        f"together: {_number(health.total_grad_norm[last])} in epoch {last + 1}), averaged over an evenly spread "
        "sample of the epoch's steps.",
        "Middle: how far one optimiser step moves the weights relative to their size. The usual rule of thumb is "
        f"about {UPDATE_RATIO_RULE_OF_THUMB:g}; small recurrent nets trained with Adam sit near 0.003-0.05, and "
        f"above {LARGE_UPDATE_RATIO:g} the learning rate is far too high. Median over weight tensors in epoch "
        f"{last + 1}: {_number(health.median_update_ratio[last])}.",
    ]
    if health.layer_names:
        parts.append("Bottom: per LSTM/GRU layer, the share of gate pre-activations beyond \u00b15 (a saturated "
                     "gate passes almost no gradient) and of hidden units whose output does not vary, on the "
                     "epoch's last training batch.")
    findings = []
    if health.exploding_epochs:
        findings.append(f"gradients exploded in epoch(s) {_epochs(health.exploding_epochs)}")
    if health.large_update_epochs:
        findings.append(f"updates were too large in epoch(s) {_epochs(health.large_update_epochs)}")
    if health.vanishing:
        findings.append(f"the first layer's gradients vanished (ratio to the last layer's "
                        f"{_number(health.depth_ratio_end)} at the end)")
    if health.saturated:
        findings.append(f"{_number(health.saturation_end * 100)}% of the gates ended saturated")
    if health.dead:
        findings.append(f"{_number(health.dead_end * 100)}% of the hidden units ended dead")
    parts.append(("Found: " + "; ".join(findings) + ".") if findings else
                 "No exploding or vanishing gradients, too-large updates, saturated gates or dead units were found.")
    return " ".join(parts)


def _epochs(epochs: tuple[int, ...], limit: int = 6) -> str:
    shown = ", ".join(str(epoch) for epoch in epochs[:limit])
    return shown + (f" and {len(epochs) - limit} more" if len(epochs) > limit else "")
