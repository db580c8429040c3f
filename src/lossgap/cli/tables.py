"""Rich tables for the terminal: run summaries and the demo comparison."""

from __future__ import annotations

from rich.table import Table


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def run_summary_table(summary: dict, title: str = "run") -> Table:
    """A table of the best and final epochs' figures and the test figures of the delivered model."""
    table = Table(title=title)
    for column in ("", "epoch", "train loss", "train acc", "val loss", "val acc"):
        table.add_column(column, justify="right" if column else "left")
    for label, key in (("best", "best"), ("final", "final")):
        row = summary.get(key)
        if row:
            table.add_row(label, _fmt(row.get("epoch")), _fmt(row.get("train_loss")),
                          _fmt(row.get("train_accuracy"), 3), _fmt(row.get("val_loss")),
                          _fmt(row.get("val_accuracy"), 3))
    test = summary.get("test")
    if test:
        table.caption = (f"test (model of epoch {test['epoch']}): loss {test['loss']:.4f}, "
                         f"accuracy {test['accuracy']:.3f}, balanced accuracy {test['balanced_accuracy']:.3f}")
    return table
