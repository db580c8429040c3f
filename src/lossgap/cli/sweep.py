"""``lossgap sweep DATA --trials N``: hyperparameter search with Optuna (TPE, pruning, workers, shared storage)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import optuna
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from lossgap.cli.app import app
from lossgap.io import write_bytes
from lossgap.report.compare import write_sweep_page
from lossgap.sweep import SearchSpace, SweepSettings, best_command, run_sweep
from lossgap.sweep.figures import sweep_figures
from lossgap.sweep.space import parse_choices, parse_range
from lossgap.sweep.study import open_study
from lossgap.training.config import DataConfig, EarlyStoppingConfig, TrainConfig, build_config


@app.command()
def sweep(
    data: str = typer.Argument(..., help="Data source, as for 'lossgap train'."),
    trials: int = typer.Option(20, "--trials", help="Finished trials to add to the study (a rerun adds more)."),
    workers: int = typer.Option(1, "--workers", help="Local worker processes, one torch thread each."),
    storage: Optional[str] = typer.Option(None, "--storage", help="Optuna storage URL, e.g. postgresql://user@host/db "
                                          "to share one study between machines (default: SQLite in --out)."),
    study: str = typer.Option("lossgap", "--study", help="Study name; rerunning continues it."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop starting trials after this many seconds."),
    out: Path = typer.Option(Path("runs/sweep"), "--out", "-o", help="Directory for sweep.db, sweep.json, figures."),
    epochs: int = typer.Option(30, "--epochs", help="Maximum epochs per trial."),
    patience: Optional[int] = typer.Option(None, "--early-stopping", help="Early-stopping patience per trial."),
    pruner: str = typer.Option("median", "--pruner", help="median, hyperband or none."),
    seed: int = typer.Option(0, "--seed", help="Base seed (trial k uses seed + k) and sampler seed."),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Share of train held out for validation."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    lr_range: str = typer.Option("1e-4:3e-2", "--lr-range", help="Learning rate LOW:HIGH (log scale)."),
    hidden_choices: str = typer.Option("16,32,64,128", "--hidden-choices", help="Hidden sizes to try."),
    layers_range: str = typer.Option("1:2", "--layers-range", help="LSTM layers LOW:HIGH."),
    dropout_range: str = typer.Option("0:0.5", "--dropout-range", help="Dropout LOW:HIGH."),
    weight_decay_range: str = typer.Option("1e-6:1e-2", "--weight-decay-range", help="Weight decay LOW:HIGH (log)."),
    batch_choices: str = typer.Option("16,32,64", "--batch-choices", help="Batch sizes to try."),
) -> None:
    """Search learning rate, hidden size, layers, dropout, weight decay and batch size on the val split."""
    space = SearchSpace(lr=parse_range(lr_range, "--lr-range"), hidden=parse_choices(hidden_choices, "--hidden-choices"),
                        layers=parse_range(layers_range, "--layers-range", int),
                        dropout=parse_range(dropout_range, "--dropout-range"),
                        weight_decay=parse_range(weight_decay_range, "--weight-decay-range"),
                        batch=parse_choices(batch_choices, "--batch-choices"))
    base = build_config(TrainConfig, data=build_config(DataConfig, source=data, val_fraction=val_fraction),
                        early_stopping=build_config(EarlyStoppingConfig, patience=patience),
                        epochs=epochs, seed=seed, device=device)
    settings = SweepSettings(out=out, trials=trials, workers=workers, storage=storage, study=study, pruner=pruner,
                             timeout=timeout)
    open_study(settings, space, base)  # storage and search space are checked before any output
    with Progress(TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(stderr=True), transient=False) as progress:
        task = progress.add_task("trials", total=trials)
        result = run_sweep(base, space, settings, on_trial=lambda *_: progress.advance(task))
        progress.update(task, completed=trials)
    console = Console()
    console.print(best_trials_table(result))
    pngs = sweep_figures(result)
    for name, png in pngs.items():
        write_bytes(out / "figures" / f"{name}.png", png)
    page = write_sweep_page(out / "sweep.html", study=study, rows=best_rows(result), pngs=pngs,
                            command=best_command(result))
    command = best_command(result)
    if command:
        console.print(Text("best configuration:", style="bold"))
        console.print(Text(command))
    console.print(f"{len(result.trials)} trials in study '{study}'; written {out / 'sweep.json'} and {page}")


def best_rows(study: optuna.Study, limit: int = 10) -> list[dict]:
    """The best completed trials, best first: number, value, parameters."""
    completed = sorted((t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
                       key=lambda trial: trial.value)
    return [{"number": t.number, "value": t.value, **t.params} for t in completed[:limit]]


def best_trials_table(study: optuna.Study) -> Table:
    """A table of the best completed trials and the study's state counts."""
    states = {}
    for trial in study.trials:
        states[trial.state.name.lower()] = states.get(trial.state.name.lower(), 0) + 1
    table = Table(title="best trials (" + ", ".join(f"{n} {s}" for s, n in states.items()) + ")")
    for column in ("trial", "best val loss", "lr", "hidden", "layers", "dropout", "weight decay", "batch"):
        table.add_column(column, justify="right")
    for row in best_rows(study):
        table.add_row(str(row["number"]), f"{row['value']:.4f}", f"{row['lr']:.2e}", str(row["hidden"]),
                      str(row["layers"]), f"{row['dropout']:.2f}", f"{row['weight_decay']:.1e}", str(row["batch"]))
    return table
