"""``lossgap report RUN`` and ``lossgap compare RUN RUN ... --out FILE.html``."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.console import Console as RichConsole, Group
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from lossgap.cli.app import app
from lossgap.cli.console import Console

# The report modules (matplotlib, jinja2) are imported by the commands that write one: `lossgap --help`
# and the other commands do not pay for them.


@app.command()
def report(run: Path = typer.Argument(..., help="A run directory (the --out of lossgap train).")) -> None:
    """Write RUN/report.html (one self-contained page: verdict, figures, tables) and RUN/figures/*.png."""
    from lossgap import api
    from lossgap.report.html import ALL_FIGURE_NAMES
    from lossgap.run.rundir import FIGURES_DIR

    diagnosis, path = api.report(run)
    console = Console()
    # Text objects, not markup strings: a path or cause text with [brackets] must print as it is; soft_wrap
    # keeps each on one line, so a path can be copied whole.
    console.print(Text(diagnosis.headline, style="bold"), soft_wrap=True)
    figures = path.parent / FIGURES_DIR
    count = sum((figures / f"{name}.png").exists() for name in ALL_FIGURE_NAMES)
    console.print(Text.assemble("report written to ", (str(path), "bold"), f" ({count} figures also in {figures})"),
                  soft_wrap=True)


@app.command()
def compare(runs: list[Path] = typer.Argument(..., help="Run directories to compare."),
            out: Path = typer.Option(Path("comparison.html"), "--out", "-o", help="HTML file to write.")) -> None:
    """Overlay the val curves of several runs and tabulate their best and final figures in one HTML page."""
    from lossgap.report import comparison_rows
    from lossgap.report.compare import read_runs, write_comparison_page

    records = read_runs(runs)
    path = write_comparison_page(records, out)
    console = Console()
    console.print(comparison_view(comparison_rows(records), console.width))
    console.print(Text.assemble(f"comparison of {len(runs)} runs written to ", (str(path), "bold")), soft_wrap=True)


def comparison_table(rows: list[dict]) -> Table:
    """The runs' best and delivered figures; a run's name and main cause are never cut: they fold onto more lines
    (two runs cut to the same "refine…" could not be told apart), while the figures keep one line each, at a
    fixed precision per column (losses to 4 decimals, accuracies to 3) so that no figure outgrows its column."""
    table = Table(title="runs compared", caption=KEPT_NOTE, padding=(0, 1), collapse_padding=True)
    for column in ("run", *FIGURE_NAMES, "main cause"):
        if column in ("run", "main cause"):
            table.add_column(column, justify="left", overflow="fold", min_width=8)
        else:
            # headers wrap onto two lines; a figure (at most 7 characters) never does
            table.add_column(column, justify="right", overflow="fold", min_width=5, max_width=7)
    for row in rows:
        table.add_row(Text(row["run"]), *_figures(row), Text(row["main_cause"] or "-"))
    return table


def comparison_lists(rows: list[dict]) -> Group:
    """The same figures as :func:`comparison_table`, one short two-column block per run: for a terminal too
    narrow for the table (its columns would run off the window's edge)."""
    blocks = []
    for row in rows:
        block = Table(title=Text(row["run"], style="bold"), show_header=False, box=None, padding=(0, 1))
        block.add_column(overflow="fold")
        block.add_column(justify="right", overflow="fold")
        for name, figure in zip(FIGURE_NAMES, _figures(row)):
            block.add_row(name, figure)
        block.add_row("main cause", Text(row["main_cause"] or "-"))
        blocks.append(block)
    return Group(Text("runs compared", style="italic"), *blocks, Text(KEPT_NOTE, style="italic"))


def comparison_view(rows: list[dict], width: int):
    """:func:`comparison_table` when it fits ``width`` columns, else :func:`comparison_lists`."""
    table = comparison_table(rows)
    wide = RichConsole(width=10_000)
    needed = Measurement.get(wide, wide.options, table).minimum
    return table if needed <= width else comparison_lists(rows)


#: The figure columns of the comparison, in order.
#: "kept": the epoch whose model the run delivered, the one its test accuracy belongs to (the last epoch's
#: figures of an early-stopped run describe a model nobody has).
#: (The val accuracy at the best epoch stays in the HTML page: nine columns do not fit 80.)
FIGURE_NAMES = ("best epoch", "best val loss", "kept epoch", "kept val loss", "kept val acc", "test acc")
#: What "kept" means, under the table ("delivered" is too long a word for a 7-character column).
KEPT_NOTE = "kept: the epoch whose model the run delivered (the restored best under early stopping, else the last)"


def _figures(row: dict) -> list[str]:
    return [_count(row["best_epoch"]), _loss(row["best_val_loss"]),
            _count(row.get("delivered_epoch")), _loss(row.get("delivered_val_loss")),
            _fraction(row.get("delivered_val_accuracy")), _fraction(row["test_accuracy"])]


def _finite(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(float(value)) else None


def _count(value) -> str:
    number = _finite(value)
    return "-" if number is None else str(int(number))


def _loss(value) -> str:
    """A loss in nats in at most 7 characters: 4 decimals, or 1.2e-05 below 0.001, or 1 decimal from 100."""
    number = _finite(value)
    if number is None:
        return "-"
    if number != 0 and abs(number) < 0.001:
        return f"{number:.1e}"
    return f"{number:.1f}" if abs(number) >= 100 else f"{number:.4f}"


def _fraction(value) -> str:
    number = _finite(value)
    return "-" if number is None else f"{number:.3f}"
