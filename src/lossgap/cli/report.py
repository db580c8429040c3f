"""``lossgap report RUN`` and ``lossgap compare RUN RUN ... --out FILE.html``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from lossgap import api
from lossgap.cli.app import app
from lossgap.report import write_comparison, write_report


@app.command()
def report(run: Path = typer.Argument(..., help="A run directory.")) -> None:
    """Write RUN/report.html (one self-contained page) and RUN/figures/*.png."""
    diagnosis = api.diagnose(run)
    path = write_report(run, diagnosis)
    console = Console()
    console.print(Text(diagnosis.headline, style="bold"))
    console.print(f"report written to {path}")


@app.command()
def compare(runs: list[Path] = typer.Argument(..., help="Two or more run directories."),
            out: Path = typer.Option(Path("comparison.html"), "--out", "-o", help="HTML file to write.")) -> None:
    """Overlay the val curves of several runs and tabulate their best and final figures."""
    path = write_comparison(runs, out)
    Console().print(f"comparison of {len(runs)} runs written to {path}")
