"""How every figure of the reports looks: colours, sizes, fixed margins, the PNG renderer and the style guard.

Shared by the run report's figures (:mod:`lossgap.report.figures` and its siblings), the comparison page and the
sweep page, so that they look alike and none of them goes through pyplot's global state.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass

import matplotlib
import matplotlib.style
from matplotlib.figure import Figure

#: Resolution of every PNG (dots per inch); figures are 9 inches wide.
DPI = 100
WIDTH = 9.0
TRAIN_COLOUR = "#3b6ea8"
VAL_COLOUR = "#d9480f"
BEST_COLOUR = "#2b8a3e"
ONSET_COLOUR = "#c92a2a"
PLATEAU_COLOUR = "#ffd43b"
GROUP_COLOURS = {"stayed_correct": "#1c7ed6", "stayed_wrong_closer": "#a5d8ff", "stayed_wrong_further": "#ffa94d",
                 "became_correct": "#37b24d", "became_wrong": "#e03131"}
GROUP_LABELS = {"stayed_correct": "stayed right", "stayed_wrong_closer": "stayed wrong, moved closer",
                "stayed_wrong_further": "stayed wrong, moved away", "became_correct": "wrong \u2192 right",
                "became_wrong": "right \u2192 wrong"}
_RC = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8,
       "ytick.labelsize": 8, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
       "grid.color": "#e9ecef", "grid.linewidth": 0.6, "axes.axisbelow": True, "text.usetex": False}


@dataclass(frozen=True)
class Margins:
    """Fixed space around a figure's axes, in inches, and between them (fractions of an axis, as matplotlib's
    ``wspace``/``hspace``). Fixed margins draw a figure once; constrained layout draws it twice (once to
    measure its text), which was half of a report's time."""

    left: float = 0.75
    right: float = 0.2
    top: float = 0.3
    bottom: float = 0.5
    wspace: float = 0.2
    hspace: float = 0.2


#: One legend row of the report's 8-point legends, in inches.
LEGEND_ROW = 0.18


def legend_rows(entries: int, columns: int) -> int:
    """Rows a legend of ``entries`` in ``columns`` columns takes."""
    return max(1, -(-entries // max(1, columns)))


def new_figure(height: float, width: float = WIDTH, margins: Margins | None = None) -> Figure:
    """A blank figure with ``margins`` (default: :class:`Margins`' own); call inside :func:`styled`."""
    margins = margins or Margins()
    figure = Figure(figsize=(width, height), dpi=DPI)
    figure.subplots_adjust(left=margins.left / width, right=1 - margins.right / width, bottom=margins.bottom / height,
                           top=1 - margins.top / height, wspace=margins.wspace, hspace=margins.hspace)
    return figure


def to_png(figure: Figure) -> bytes:
    """The figure rendered as PNG bytes at :data:`DPI`."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def plain_label(text: object, limit: int = 24) -> str:
    """A user string safe for matplotlib text: "$" escaped (no mathtext parsing), cut to ``limit`` characters."""
    label = str(text)
    if len(label) > limit:
        label = label[:limit - 1] + "\u2026"
    return label.replace("$", r"\$")


def styled(draw):
    """Decorator: run a figure function with matplotlib's default style plus the report's settings, so a
    user's matplotlibrc (a dark style, LaTeX text) never changes how a report looks or breaks it."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs):
        with matplotlib.style.context("default"), matplotlib.rc_context(_RC):
            return draw(*args, **kwargs)

    return wrapper
