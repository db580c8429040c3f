"""``lossgap train DATA --out DIR``."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from lossgap.cli.app import app
from lossgap.cli.diagnose import print_diagnosis
from lossgap.cli.progress import TrainingProgress
from lossgap.cli.tables import run_summary_table

DATA_HELP = ("Data source: a .npz or .csv file, 'synthetic:random-labels' (the article's data; options as "
             "'synthetic:random-labels,samples=1000,features=5'), 'synthetic:sum-sign', 'synthetic:frequency', "
             "or 'aeon:NAME' (see 'lossgap datasets').")


@app.command()
def train(
    ctx: typer.Context,
    data: Optional[str] = typer.Argument(None, help=DATA_HELP + " Not with --resume."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory to write."),
    hidden: int = typer.Option(16, "--hidden", help="LSTM hidden units per direction."),
    layers: int = typer.Option(1, "--layers", help="Stacked LSTM layers (the article's MultiLayerLSTM uses 2)."),
    dropout: float = typer.Option(0.0, "--dropout", help="Dropout in [0, 1) between layers and before the head."),
    bidirectional: bool = typer.Option(False, "--bidirectional", help="Read sequences in both directions."),
    readout: str = typer.Option("last", "--readout",
                                help="What the head reads: last (valid step), mean or max over the valid steps; "
                                     "auto: max when --patch merges steps, else last."),
    patch: str = typer.Option("1", "--patch", help="Time steps merged into one LSTM step, or auto (at most 32 "
                                                   "LSTM steps): faster and easier on long series."),
    optimizer: str = typer.Option("adam", "--optimizer", help="adam, adamw or sgd (with momentum)."),
    lr: float = typer.Option(0.01, "--lr", help="Learning rate."),
    weight_decay: float = typer.Option(0.0, "--weight-decay", help="L2 weight decay (decoupled for adamw)."),
    momentum: float = typer.Option(0.9, "--momentum", help="SGD momentum."),
    batch_size: int = typer.Option(16, "--batch-size", help="Training batch size."),
    epochs: int = typer.Option(50, "--epochs", help="Maximum epochs."),
    early_stopping: Optional[int] = typer.Option(
        None, "--early-stopping", metavar="PATIENCE",
        help="Stop after PATIENCE epochs without improvement of --monitor and restore the best weights."),
    monitor: str = typer.Option("val_loss", "--monitor", help="val_loss or val_accuracy: chooses the best epoch."),
    min_delta: float = typer.Option(0.0, "--min-delta", help="Smallest change of --monitor counted as improvement."),
    val_fraction: float = typer.Option(0.2, "--val-fraction", help="Share of train held out (stratified), in (0, 1)."),
    seed: int = typer.Option(0, "--seed", help="Seed of split, initialisation, shuffling and dropout."),
    clip_grad: Optional[float] = typer.Option(None, "--clip-grad", help="Clip the total gradient norm to this."),
    scheduler: str = typer.Option("none", "--scheduler", help="none, plateau (reduce on plateau) or cosine."),
    class_weights: str = typer.Option("none", "--class-weights", help="none or balanced (inverse frequency)."),
    standardize: Optional[bool] = typer.Option(
        None, "--standardize/--no-standardize",
        help="Per-feature standardisation fitted on train. Default: on for real data, off for synthetic."),
    control: str = typer.Option("none", "--control",
                                help="permuted-labels: train on labels shuffled within train (a no-signal control)."),
    record_train: str = typer.Option("eval", "--record-train",
                                     help="eval: exact train dynamics from one more pass over train after each "
                                          "epoch (most of what recording costs, ~20% of an epoch); pass: from the "
                                          "training pass (~6%, mid-epoch weights)."),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a run already in --out."),
    resume: Optional[Path] = typer.Option(None, "--resume", metavar="RUN",
                                          help="Continue a killed or interrupted run from its last finished epoch, "
                                               "with the run's own options (give no other option)."),
) -> None:
    """Train an LSTM classifier, record every sample in every epoch, and write a run directory."""
    from lossgap import api
    from lossgap.errors import ConfigError
    from lossgap.signals import handled_by, raise_interrupt
    from lossgap.training.config import (DataConfig, EarlyStoppingConfig, ModelConfig, OptimizerConfig, TrainConfig,
                                         build_config, parse_patch_length)

    if resume is not None:
        given = [name for name in ctx.params if name != "resume" and ctx.get_parameter_source(name) is not None
                 and ctx.get_parameter_source(name).name in ("COMMANDLINE", "ENVIRONMENT")]
        if given:
            raise ConfigError(f"--resume takes every option from the run itself; drop {', '.join(given)} "
                              f"(to change options, train a new run)")
    elif data is None or out is None:
        raise ConfigError("give the DATA to train on and --out DIR (or --resume RUN to continue a run)")
    config = None
    if resume is None:
        config = build_config(
            TrainConfig,
            data=build_config(DataConfig, source=data, val_fraction=val_fraction, standardize=standardize),
            model=build_config(ModelConfig, hidden_size=hidden, num_layers=layers, dropout=dropout,
                               bidirectional=bidirectional, readout=readout, patch_length=parse_patch_length(patch)),
            optimizer=build_config(OptimizerConfig, name=optimizer, lr=lr, weight_decay=weight_decay,
                                   momentum=momentum, clip_grad=clip_grad, scheduler=scheduler),
            early_stopping=build_config(EarlyStoppingConfig, patience=early_stopping, monitor=monitor,
                                        min_delta=min_delta),
            epochs=epochs, batch_size=batch_size, seed=seed, device=device, class_weights=class_weights,
            record_train=record_train, control=control,
        )
    # SIGTERM (a cluster's or the OOM killer's polite kill) stops training as Ctrl-C does: the batch
    # finishes, the finished epochs stay on disk, and the run can be resumed.
    with handled_by(raise_interrupt, (signal.SIGTERM,)):
        try:
            result = _resume(resume) if resume is not None else _train(api, config, out, overwrite)
        except KeyboardInterrupt:
            target = resume if resume is not None else out
            Console(stderr=True).print(f"[yellow]interrupted; what finished is in {target}[/]", soft_wrap=True)
            raise typer.Exit(130) from None
    _print_result(result)


def _resume(run: Path):
    from lossgap.resume import resume, resume_state_of

    _, config, state = resume_state_of(run)
    with TrainingProgress() as progress:
        bar = progress.run_callback(f"resume {run.name}", config.epochs)
        for row in state["history"] if state is not None else ():
            bar(row)
        control_bar = (progress.run_callback("control (permuted labels)", config.epochs)
                       if config.control == "permuted-labels" else None)
        return resume(run, on_epoch_end=bar, control_epoch_end=control_bar)


def _train(api, config, out: Path, overwrite: bool):
    with TrainingProgress() as progress:
        control_bar = (progress.run_callback("control (permuted labels)", config.epochs)
                       if config.control == "permuted-labels" else None)
        return api.train(config, out, overwrite=overwrite,
                         on_epoch_end=progress.run_callback(f"train {Path(out).name}", config.epochs),
                         control_epoch_end=control_bar)


def _print_result(result) -> None:
    console = Console()
    console.print(run_summary_table(result.summary, title=f"run {result.run_dir}"))
    if result.diagnosis is not None:
        print_diagnosis(result.diagnosis, console)
    if result.summary["status"] == "interrupted":
        console.print(f"[yellow]interrupted after epoch {result.summary['epochs_run']}; what finished is in "
                      f"{result.run_dir}; continue it with lossgap train --resume {result.run_dir}[/]", soft_wrap=True)
        sys.exit(130)
    console.print(f"written to [bold]{result.run_dir}[/]")
