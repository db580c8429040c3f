"""``lossgap predict RUN [RUN ...]``: the delivered models of runs scored on one of their splits, and their average
(a seed ensemble), optionally written as class probabilities."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from lossgap.cli.app import app
from lossgap.cli.console import Console


@app.command()
def predict(
    runs: list[Path] = typer.Argument(..., help="Run directories written by 'lossgap train' (several, e.g. one per "
                                      "--seed: their average, a seed ensemble, is scored too)."),
    split: str = typer.Option("test", "--split", help="train, val or test."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write the class probabilities as CSV (with several "
                                       "runs, their average): id, label, predicted, one column per class."),
) -> None:
    """Score the model each run delivers on a split (accuracy, log loss); with several runs, their average too."""
    from lossgap.errors import DataError
    from lossgap.run.predict import average_predictions
    from lossgap.run.predict import predict as predict_run

    predictions = [predict_run(run, split) for run in runs]
    table = Table(title=f"the delivered models on {split}")
    for column in ("run", "samples", "accuracy", "log loss (nats)"):
        table.add_column(column, justify="left" if column == "run" else "right")
    for run, found in zip(runs, predictions):
        table.add_row(str(run), str(found.labels.size), f"{found.accuracy:.4f}", f"{found.log_loss:.4f}")
    written = predictions[0]
    if len(predictions) > 1:
        try:
            written = average_predictions(predictions)
        except ValueError as error:
            raise DataError(str(error)) from None
        table.add_row(f"average of the {len(predictions)} (probabilities)", str(written.labels.size),
                      f"{written.accuracy:.4f}", f"{written.log_loss:.4f}", style="bold")
    Console().print(table)
    if out is not None:
        from lossgap.io import write_text

        write_text(out, _csv(written))
        typer.echo(f"written to {out}")


def _csv(predictions) -> str:
    """The rows of ``predictions``: id, label and predicted class names, then each class's probability."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = predictions.class_names
    writer.writerow(["id", "label", "predicted", *names])
    for sample_id, label, row in zip(predictions.ids.tolist(), predictions.labels, predictions.probabilities):
        writer.writerow([sample_id, names[int(label)], names[int(row.argmax())], *(f"{value:.6g}" for value in row)])
    return buffer.getvalue()
