"""``lossgap sweep DATA --trials N``: hyperparameter search with Optuna (TPE, pruning, workers, shared storage)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from lossgap.cli.app import app
from lossgap.cli.console import Console
from lossgap.cli.options import config_options
from lossgap.cli.train import DATA_HELP
from lossgap.sweep.space import SWEEP_FIXED

if TYPE_CHECKING:
    import optuna


TRIALS_HELP = ("Finished (complete or pruned) trials to add to the study. Rerunning the command continues the "
               "study and adds N more; with --workers K the N are shared among the workers, exactly N in total.")


@app.command()
@config_options(exclude=SWEEP_FIXED, help_overrides={
    "early_stopping.patience": "Stop a trial after PATIENCE epochs without a lower val loss.",
    "seed": "Seed of the split, the sampler, and every trial's initialisation, shuffling and dropout (the "
            "same for all trials, so the best command repeats its trial)."})
def sweep(
    data: str = typer.Argument(..., help=DATA_HELP),
    trials: int = typer.Option(20, "--trials", help=TRIALS_HELP),
    workers: int = typer.Option(1, "--workers", help="Local worker processes, one torch thread each."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Torch threads per worker (default: 1 with several "
                                                                  "workers, torch's default with one)."),
    storage: Optional[str] = typer.Option(
        None, "--storage", help="Optuna storage URL (default: SQLite file OUT/sweep.db). A database such as "
                                "postgresql://user:pass@host/db lets several machines run one study."),
    study: str = typer.Option("lossgap", "--study", help="Study name; rerunning with the same name continues it."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Start no new trial after this many seconds."),
    out: Path = typer.Option(Path("runs/sweep"), "--out", "-o",
                             help="Directory for sweep.db, sweep.json, sweep.html and figures/."),
    pruner: str = typer.Option("median", "--pruner", help="median, hyperband or none: stops hopeless trials early."),
    pruner_startup: int = typer.Option(5, "--pruner-startup", help="Finished trials before the median pruner acts."),
    pruner_warmup: int = typer.Option(3, "--pruner-warmup", help="Epochs every trial runs before it can be pruned."),
    lr_range: str = typer.Option("1e-4:3e-2", "--lr-range", help="Learning rate LOW:HIGH, log scale."),
    hidden_choices: str = typer.Option("16,32,64,128", "--hidden-choices", help="Hidden sizes to try."),
    layers_range: str = typer.Option("1:2", "--layers-range", help="Stacked recurrent layers LOW:HIGH."),
    dropout_range: str = typer.Option("0:0.5", "--dropout-range", help="Dropout LOW:HIGH (0:0 for none)."),
    weight_decay_range: str = typer.Option("1e-6:1e-2", "--weight-decay-range",
                                           help="Weight decay LOW:HIGH, log scale (0:0 for none)."),
    batch_choices: str = typer.Option("16,32,64", "--batch-choices", help="Training batch sizes to try."),
    model_choices: str = typer.Option("lstm", "--model-choices",
                                      help="Model families to try, comma-separated (e.g. lstm,gru,lstm-fcn)."),
    **options: Any,
) -> None:
    """Search learning rate, hidden size, layers, dropout, weight decay and batch size with Optuna's TPE.

    Each trial trains on the train split and is judged by its best validation loss; the test split chooses
    nothing. The best configuration is printed as a ready 'lossgap train' command.
    """
    # optuna, torch and the report are imported by the command that uses them, not by `lossgap --help`.
    from lossgap.cli.options import config_from_options
    from lossgap.progress import SweepProgress
    from lossgap.signals import stops_held
    from lossgap.sweep import SearchSpace, SweepSettings, run_sweep
    from lossgap.sweep.page import write_sweep_outputs
    from lossgap.sweep.space import parse_choices, parse_model_choices, parse_range
    from lossgap.sweep.storage import masked
    from lossgap.sweep.summary import command_notes

    space = SearchSpace(lr=parse_range(lr_range, "--lr-range"), hidden=parse_choices(hidden_choices, "--hidden-choices"),
                        layers=parse_range(layers_range, "--layers-range", int),
                        dropout=parse_range(dropout_range, "--dropout-range"),
                        weight_decay=parse_range(weight_decay_range, "--weight-decay-range"),
                        batch=parse_choices(batch_choices, "--batch-choices"),
                        model=parse_model_choices(model_choices))
    base = space.fixed(config_from_options(data, options, exclude=SWEEP_FIXED))
    settings = SweepSettings(out=out, trials=trials, workers=workers, storage=storage, study=study, pruner=pruner,
                             pruner_startup=pruner_startup, pruner_warmup=pruner_warmup, timeout=timeout,
                             threads=threads)
    # The display appears once storage, study and data are checked, so a bad input prints one line only.
    with SweepProgress(trials) as progress:
        result = run_sweep(base, space, settings, on_start=progress.start, on_trial=progress.trial_finished,
                           on_epoch=progress.epoch_ended)
        # Inside the block: when the display's reader went away, leaving it ends the command (exit 141: the
        # sweep was cut short), and sweep.html must show the trials that finished, as after Ctrl-C.
        # A Ctrl-C while the page and figures are written waits until they are whole (it had left no page, an
        # empty figures/ and no word of what happened), then ends the command once everything is printed.
        stopped_while_writing, written = False, None
        try:
            with stops_held():
                written = write_sweep_outputs(result.study, out)
        except KeyboardInterrupt:
            if written is None:  # a second Ctrl-C cut the write short: the user means it
                raise
            stopped_while_writing = True
        page, command = written
    console = Console()
    held = len(result.study.trials)
    if finished_trials(result.study):
        console.print(best_trials_table(result.study))
    else:
        # An empty table would say nothing; say what happened and what to do.
        console.print(Text(f"no trial has finished in study '{study}' yet ({_state_words(result.study)}): "
                           "there is nothing to compare; run the same command again to continue the study",
                           style="bold"))
    if command:
        console.print(Text("best configuration:", style="bold"))
        # soft_wrap: a wrapped command would no longer paste as one line
        console.print(Text(command), soft_wrap=True)
        for note in command_notes(result.study):
            console.print(Text(f"note: {note}", style="yellow"), soft_wrap=True)
    console.print(f"{held} trial{'' if held == 1 else 's'} in study '{study}' at {masked(settings.storage_url)}; "
                  f"this run added {result.finished} of {trials}. Written {result.summary_path} and {page}",
                  soft_wrap=True)
    if result.stopped == "timeout":
        console.print(f"[yellow]--timeout reached after {result.finished} of {trials} trials[/]")
    if stopped_while_writing and result.stopped != "interrupted":
        console.print("[yellow]interrupted while the page was written, after the sweep had ended: everything is "
                      "written[/]")
        sys.exit(130)
    if result.stopped == "interrupted":
        if result.finished:
            console.print(f"[yellow]interrupted after {result.finished} of {trials} trials; the finished ones are "
                          "kept in the study, rerun the command to add more[/]")
        else:
            console.print("[yellow]interrupted before any trial finished (the trial that was running is marked "
                          "failed); rerun the same command to continue the study[/]")
        sys.exit(130)


def finished_trials(study: optuna.Study) -> list:
    """The study's complete and pruned trials (those with epochs to compare)."""
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                    optuna.trial.TrialState.PRUNED))


def _state_words(study: optuna.Study) -> str:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] = counts.get(trial.state.name.lower(), 0) + 1
    return ", ".join(f"{count} {state}" for state, count in counts.items()) or "no trials"


def _seed_caption(study: optuna.Study) -> str:
    """How the study's trials were seeded: all with --seed (new studies), or some of an older lossgap with
    their own initialisation seed."""
    from lossgap.sweep.objective import INIT_SEED_ATTR
    from lossgap.sweep.storage import STUDY_ATTR, stored_base

    seed = stored_base(study).seed if STUDY_ATTR in study.user_attrs else None
    if all(trial.user_attrs.get(INIT_SEED_ATTR) == seed for trial in finished_trials(study)):
        return "trials train with --seed (one split, one initialisation): only their hyperparameters differ"
    return ("every trial is judged on the val split of --seed; trials of older lossgap versions had their own "
            "initialisation seeds (seed + trial number)")


def best_trials_table(study: optuna.Study, limit: int = 10) -> Table:
    """A rich table of the best complete trials, titled with the study's trial counts by state."""
    from lossgap.sweep.page import best_rows

    table = Table(box=box.SIMPLE_HEAD, collapse_padding=True,
                  title=f"best trials of '{study.study_name}' ({_state_words(study)})", caption=_seed_caption(study))
    rows = best_rows(study, limit)
    families = bool(rows) and "model" in rows[0]
    for column in ("trial", "val loss", "epochs", *(("model",) if families else ()), "lr", "hidden", "layers",
                   "dropout", "weight decay", "batch"):
        table.add_column(column, justify="right", min_width=7 if column in ("lr", "weight decay") else None)
    for row in rows:
        table.add_row(str(row["trial"]), f"{row['val_loss']:.4f}", str(row["epochs"]),
                      *((str(row["model"]),) if families else ()), f"{row['lr']:g}",
                      str(row["hidden"]), str(row["layers"]), f"{row['dropout']:g}", f"{row['weight_decay']:g}",
                      str(row["batch"]))
    return table
