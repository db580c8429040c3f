"""``lossgap train DATA --out DIR``."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.text import Text

from lossgap.cli.app import app
from lossgap.cli.console import Console
from lossgap.cli.diagnose import print_diagnosis
from lossgap.cli.options import config_options
from lossgap.progress import TrainingProgress
from lossgap.cli.tables import run_summary_table

DATA_HELP = ("Data source: a .npz or .csv file, 'synthetic:random-labels' (the article's data; options as "
             "'synthetic:random-labels,samples=1000,features=5'), 'synthetic:sum-sign', 'synthetic:frequency', "
             "or 'aeon:NAME' (see 'lossgap datasets').")


@app.command()
@config_options()
def train(
    ctx: typer.Context,
    data: Optional[str] = typer.Argument(None, help=DATA_HELP + " Not with --resume."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Run directory to write."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a run already in --out."),
    resume: Optional[Path] = typer.Option(None, "--resume", metavar="RUN",
                                          help="Continue a killed or interrupted run from its last finished epoch, "
                                               "with the run's own options (give no other option)."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, metavar="N",
                                          help="torch threads for this run (default: torch's own, all cores). Part "
                                               "of a run's numbers (config.json's runtime.torch_threads): the "
                                               "commands remedy and sweep print pass the count their runs used."),
    **options: Any,
) -> None:
    """Train a sequence classifier, record every sample in every epoch, and write a run directory.

    Under ``torchrun --nproc-per-node K -m lossgap train ...`` the K processes train data-parallel (DDP,
    --batch-size is the global batch) and rank 0 writes the run directory.
    """
    from lossgap import api
    from lossgap.cli.options import config_from_options
    from lossgap.errors import ConfigError
    from lossgap.signals import handled_by, raise_interrupt
    from lossgap.training.distributed import launched_world_size, teardown

    if resume is not None and launched_world_size() > 1:
        raise ConfigError("--resume does not run under torchrun yet; continue the run in one process with "
                          "lossgap train --resume RUN (without torchrun)")
    if resume is not None:
        given = [name for name in ctx.params if name != "resume" and ctx.get_parameter_source(name) is not None
                 and ctx.get_parameter_source(name).name in ("COMMANDLINE", "ENVIRONMENT")]
        if given:
            raise ConfigError(f"--resume takes every option from the run itself; drop {', '.join(given)} "
                              f"(to change options, train a new run)")
    elif data is None or out is None:
        raise ConfigError("give the DATA to train on and --out DIR (or --resume RUN to continue a run)")
    config = config_from_options(data, options) if resume is None else None
    if threads is not None:
        import torch  # the command trains: torch is imported anyway

        torch.set_num_threads(threads)
    # SIGTERM (a cluster's or the OOM killer's polite kill) stops training as Ctrl-C does: the batch
    # finishes, the finished epochs stay on disk, and the run can be resumed.
    finished = False
    with handled_by(raise_interrupt, (signal.SIGTERM,)):
        try:
            result = (_resume(resume) if resume is not None
                      else api.train(config, out, overwrite=overwrite, progress=True))
            finished = True
        except BrokenPipeError:
            # The display's reader went away after the run was written (under DDP every rank stopped at the
            # same epoch): the ranks still leave together, or the others' last barrier finds this one gone.
            finished = True
            raise
        except KeyboardInterrupt as stop:
            target = resume if resume is not None else out
            said = (f"interrupted before the new run finished an epoch; {target} holds the earlier run again"
                    if isinstance(stop, api.PreviousRunRestored) else f"interrupted; what finished is in {target}")
            Console(stderr=True).print(f"[yellow]{said}[/]", soft_wrap=True)
            raise typer.Exit(130) from None
        finally:
            if launched_world_size() > 1:
                teardown(wait=finished)
    if launched_world_size() > 1 and os.environ.get("RANK", "0") != "0":
        # Rank 0 prints the run; the others only share its exit status.
        if result.summary["status"] == "interrupted":
            sys.exit(130)
        return
    _print_result(result)


def _resume(run: Path):
    from lossgap.resume import resume, resume_state_of

    _, config, state = resume_state_of(run)
    with TrainingProgress() as progress:
        bar, control_bar = progress.callbacks(run.name, config)
        for row in state["history"] if state is not None else ():
            bar(row)
        return resume(run, on_epoch_end=bar, control_epoch_end=control_bar)


def _print_result(result) -> None:
    console = Console()
    if result.summary["status"] == "interrupted" and not result.summary["epochs_run"]:
        # Nothing to tabulate or diagnose: only what to do next.
        console.print(f"[yellow]interrupted before its first epoch finished; continue it with lossgap train "
                      f"--resume {result.run_dir}[/]", soft_wrap=True)
        sys.exit(130)
    console.print(run_summary_table(result.summary, title=f"run {result.run_dir}"))
    if result.diagnosis is not None:
        print_diagnosis(result.diagnosis, console)
    if result.summary["status"] == "interrupted":
        console.print(f"[yellow]interrupted after epoch {result.summary['epochs_run']}; what finished is in "
                      f"{result.run_dir}; continue it with lossgap train --resume {result.run_dir}[/]", soft_wrap=True)
        sys.exit(130)
    refit = result.summary.get("refit")
    if refit is not None:
        test = refit["test"]
        tested = f"; test loss {test['loss']:.4f}, accuracy {test['accuracy']:.4f}" if test is not None else ""
        console.print(f"refit: {refit['epochs']} epochs on train + val ({refit['train_samples']} samples){tested}; "
                      f"model in checkpoints/{refit['checkpoint']} (the diagnosis is the val-split run's)",
                      soft_wrap=True)
    console.print(Text.assemble("written to ", (str(result.run_dir), "bold")), soft_wrap=True)
    from lossgap.run.rundir import REPORT_FILE

    report = result.run_dir / REPORT_FILE
    if report.exists():
        # Last, so the page to open is the one line a user sees when the command returns.
        console.print(Text.assemble("report: ", (str(report), "bold")), soft_wrap=True)
