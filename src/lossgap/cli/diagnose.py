"""``lossgap diagnose RUN``: the verdict on a run, as rich tables or as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from lossgap import api
from lossgap.cli.app import app
from lossgap.diagnosis.verdict import Diagnosis


@app.command()
def diagnose(
    run: Path = typer.Argument(..., help="A run directory (written by 'lossgap train', the Recorder or Lightning)."),
    as_json: bool = typer.Option(False, "--json", help="Print the diagnosis as JSON (the shape of diagnosis.json)."),
    split: str = typer.Option("val", "--split", help="Split whose plateaus, ledger and per-class figures are shown "
                              "(val, train or test); causes are always decided from train and val."),
    write: bool = typer.Option(True, "--write/--no-write", help="Also (re)write RUN/diagnosis.json."),
) -> None:
    """Name the causes of a run's curves ("loss falls, accuracy plateaus"), with numbers and remedies."""
    diagnosis = api.diagnose(run, split=split, write=write)
    if as_json:
        typer.echo(json.dumps(diagnosis.to_dict(), indent=2, allow_nan=False, default=str))
        return
    print_diagnosis(diagnosis, Console())


def print_diagnosis(diagnosis: Diagnosis, console: Console) -> None:
    """The verdict as a headline, a table of findings with remedies, the ledger sentence and the limitations."""
    # Text objects, not markup: summaries quote class names and intervals, which must print as written.
    console.print(Text(diagnosis.headline, style="bold"))
    if diagnosis.verdicts:
        console.print(verdict_table(diagnosis))
    if diagnosis.ledger_sentence:
        console.print(Text.assemble(("ledger ", "bold"), diagnosis.ledger_sentence))
    for limitation in diagnosis.limitations:
        console.print(Text.assemble(("note ", "yellow"), limitation))


def verdict_table(diagnosis: Diagnosis) -> Table:
    """Findings best first: cause, confidence, the sentence with numbers, and what to try."""
    table = Table(title=f"diagnosis of {diagnosis.run}", show_lines=True)
    table.add_column("cause", style="bold", no_wrap=True)
    table.add_column("confidence", justify="right")
    table.add_column("what the numbers show")
    table.add_column("try")
    for verdict in diagnosis.verdicts:
        remedies = "\n".join(f"- {remedy.action}" for remedy in verdict.remedies) or "-"
        table.add_row(Text(verdict.cause), f"{verdict.confidence:.2f}", Text(verdict.summary), Text(remedies))
    return table
