"""``lossgap demo --out DIR``: the article's three experiments, the right way, compared in one table."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.table import Table
from rich.text import Text

from lossgap.cli.app import app
from lossgap.cli.console import Console
from lossgap.progress import JobsProgress


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), "--out", "-o", help="Directory for the three runs."),
    epochs: int = typer.Option(50, "--epochs", help="Epochs per experiment (the article uses 50)."),
    seed: int = typer.Option(0, "--seed", help="Training seed of all three experiments."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace runs already in --out."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", help="Experiments trained at once, one torch "
                                          "thread each (default: one per core). Results are the same as with 1."),
) -> None:
    """Run the source article's three LSTM experiments with a held-out validation split and compare them."""
    from lossgap.demo import comparison_rows, run_demo
    from lossgap.parallel import check_counts

    check_counts(workers)   # before the progress display draws anything
    console = Console()
    try:
        with JobsProgress() as progress:
            results = run_demo(out, epochs=epochs, seed=seed, device=device, overwrite=overwrite, workers=workers,
                               on_plan=progress.plan, on_epoch_end=progress.epoch_ended, on_job_end=progress.job_ended)
    except KeyboardInterrupt:
        Console(stderr=True).print(Text(f"interrupted; what finished is under {out}", style="yellow"), soft_wrap=True)
        raise typer.Exit(130) from None
    console.print(comparison_table(comparison_rows(results)))
    for experiment, outcome in results:
        if outcome.headline is not None:
            console.print(Text.assemble((f"{experiment.name}: ", "bold"), outcome.headline))
    console.print(f"runs written under [bold]{out}[/]")


def comparison_table(rows: list[dict]) -> Table:
    """The demo's comparison: first, best and last epoch of each experiment."""
    table = Table(title="the article's three experiments, with a held-out validation split")
    for column in ("experiment", "epoch", "", "train loss", "train acc", "val loss", "val acc"):
        table.add_column(column, justify="left" if column in ("experiment", "") else "right")
    for row in rows:
        table.add_row(row["experiment"] if row["moment"] == "first" else "", str(row["epoch"]), row["moment"],
                      f"{row['train_loss']:.4f}", f"{row['train_accuracy']:.3f}",
                      f"{row['val_loss']:.4f}", f"{row['val_accuracy']:.3f}",
                      end_section=row["moment"] == "last")
    return table
