"""Report: one self-contained HTML page and PNG figures per run, and comparisons of several runs."""

from lossgap.report.compare import comparison_rows, overlay_figure, write_comparison
from lossgap.report.html import write_report

__all__ = ["comparison_rows", "overlay_figure", "write_comparison", "write_report"]
