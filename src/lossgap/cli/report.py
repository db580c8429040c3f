"""``lossgap report RUN`` and ``lossgap compare RUN RUN ... --out FILE.html``."""

from __future__ import annotations

from pathlib import Path

import typer
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
    console.print(comparison_table(comparison_rows(records)))
    console.print(Text.assemble(f"comparison of {len(runs)} runs written to ", (str(path), "bold")), soft_wrap=True)


def comparison_table(rows: list[dict]) -> Table:
    """The runs' best and final figures; a run's name and main cause are never cut: they fold onto more lines
    (two runs cut to the same "refine…" could not be told apart), while the figures keep one line each."""
    from lossgap.report.tables import format_number

    table = Table(title="runs compared", padding=(0, 1), collapse_padding=True)
    for column in ("run", "best epoch", "best val loss", "val acc at best", "final val loss", "final val acc",
                   "test acc", "main cause"):
        if column in ("run", "main cause"):
            table.add_column(column, justify="left", overflow="fold", min_width=8)
        else:
            # headers wrap onto two lines; a figure (at most 6 characters) never does
            table.add_column(column, justify="right", overflow="fold", max_width=7)
    for row in rows:
        table.add_row(Text(row["run"]), format_number(row["best_epoch"]), format_number(row["best_val_loss"]),
                      format_number(row["best_val_accuracy"], 3), format_number(row["final_val_loss"]),
                      format_number(row["final_val_accuracy"], 3), format_number(row["test_accuracy"], 3),
                      Text(row["main_cause"] or "-"))
    return table
