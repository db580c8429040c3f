"""``lossgap diagnose RUN``: the verdict on a run, as rich tables or as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.text import Text

from lossgap.cli.app import app
from lossgap.cli.console import Console

if TYPE_CHECKING:
    from lossgap.diagnosis.verdict import Diagnosis


@app.command()
def diagnose(
    run: Path = typer.Argument(..., help="A run directory (written by 'lossgap train', the Recorder or Lightning)."),
    as_json: bool = typer.Option(False, "--json", help="Print the diagnosis as JSON (the shape of diagnosis.json)."),
    split: str = typer.Option("val", "--split", help="Split whose plateaus, ledger and per-class figures are shown "
                              "(val, train or test); causes are always decided from train and val."),
    write: Optional[bool] = typer.Option(None, "--write/--no-write",
                                         help="Also (re)write RUN/diagnosis.json (default: only with --split val, "
                                              "so another split's view never replaces the report's diagnosis)."),
) -> None:
    """Name the causes of a run's curves ("loss falls, accuracy plateaus"), with numbers and remedies."""
    from lossgap import api
    from lossgap.run.rundir import write_diagnosis

    diagnosis = api.diagnose(run, split=split, write=False)
    if write if write is not None else split == "val":
        try:
            write_diagnosis(run, diagnosis.to_dict())
        except OSError as error:
            from lossgap.cli.app import os_error_line

            # The verdict is still worth printing when the run directory cannot take diagnosis.json.
            typer.echo(f"lossgap: note: diagnosis.json not written: {os_error_line(error)}", err=True)
    if as_json:
        typer.echo(json.dumps(diagnosis.to_dict(), indent=2, allow_nan=False, default=str))
        return
    print_diagnosis(diagnosis, Console())


def print_diagnosis(diagnosis: Diagnosis, console: Console) -> None:
    """The verdict as paragraphs: headline, each finding with its numbers and remedies (as commands), the
    explanations of the curves, causes considered at CONSIDERED_SHOWN or more (one sentence each), for "No cause
    found" the likeliest candidate's remedies (and the first of a candidate nearly as likely), the ledger sentence and
    what the run cannot show."""
    # Text objects, not markup: summaries quote class names and intervals, which must print as written.
    console.print(Text(diagnosis.headline, style="bold"))
    for rank, verdict in enumerate(diagnosis.verdicts):
        label = "main cause" if rank == 0 else "also"
        console.print(Text.assemble((f"\n{label}: ", "bold"), (verdict.cause, "bold red" if rank == 0 else "bold"),
                                    f" ({verdict.confidence:.2f})"))
        _print_body(verdict, console)
    for verdict in diagnosis.explanations:
        console.print(Text.assemble(("\nexplanation (not a fault): ", "bold"), (verdict.cause, "bold green"),
                                    f" ({verdict.confidence:.2f})"))
        _print_body(verdict, console)
    from lossgap.diagnosis.verdict import CONSIDERED_SHOWN, considered_confidence

    shown = [verdict for verdict in diagnosis.considered if verdict.confidence >= CONSIDERED_SHOWN]
    for verdict in shown:
        console.print(Text.assemble(("\nconsidered, not found: ", "bold"), verdict.cause,
                                    f" ({considered_confidence(verdict.confidence)})"))
        console.print(Text("  " + verdict.summary))
    step = diagnosis.next_steps
    if step is not None:
        console.print(Text.assemble(("\nnext, to test the likeliest candidate ", "bold"), f"({step.cause}):"))
        for remedy in step.remedies:
            _print_remedy(remedy, console)
    other = diagnosis.next_alternative
    if other is not None:
        console.print(Text.assemble(("or, to test the next candidate ", "bold"), f"({other.cause}):"))
        _print_remedy(other.remedies[0], console)
    if diagnosis.ledger_sentence:
        console.print(Text.assemble(("\nledger: ", "bold"), diagnosis.ledger_sentence))
    for limitation in diagnosis.limitations:
        console.print(Text.assemble(("note: ", "yellow"), limitation))


def _print_body(verdict, console: Console) -> None:
    console.print(Text("  " + verdict.summary))
    for remedy in verdict.remedies:
        _print_remedy(remedy, console)


def _print_remedy(remedy, console: Console) -> None:
    console.print(Text.assemble(("  try: ", "cyan"), remedy.action))
    if remedy.command:
        console.print(Text("    $ " + remedy.command, style="dim"))
