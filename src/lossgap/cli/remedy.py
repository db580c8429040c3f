"""``lossgap remedy RUN``: the run's remedies tried side by side over several seeds, with 95% intervals."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.table import Table
from rich.text import Text

from lossgap.cli.app import app
from lossgap.cli.console import Console
from lossgap.progress import JobsProgress

if TYPE_CHECKING:
    from lossgap.remedies import RemedyResult


@app.command()
def remedy(
    run: Path = typer.Argument(..., help="A run directory written by 'lossgap train'."),
    replicates: int = typer.Option(3, "--replicates", "-k", help="Seeds per configuration (at least 2)."),
    only: Optional[str] = typer.Option(None, "--only", help="Comma-separated remedies to try, e.g. "
                                       "dropout,weight_decay,early_stopping (default: the verdicts' remedies, for "
                                       "'No cause found' its likeliest candidate's, and the article's list); "
                                       "more_data trains a learning curve and predicts the val figures at 2x and 4x "
                                       "the data."),
    metric: Optional[str] = typer.Option(None, "--metric", help="Judge every remedy on val_loss, val_accuracy or "
                                         "val_balanced_accuracy (default: each on what it is meant to improve: "
                                         "monitor_accuracy on val accuracy, class_weights on balanced accuracy, "
                                         "the others on val loss)."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", help="Runs trained at once, one torch thread each "
                                          "(default: one per core). Results are the same as with 1."),
    # remedies.learning.CURVE_SEEDS, spelled out: importing it here would load matplotlib for every command
    # (tests/cli/test_remedy_cli.py checks the two agree).
    curve_seeds: int = typer.Option(10, "--curve-seeds", help="more_data: seeds per share of the learning curve "
                                    "(at least K; per-seed slopes scatter, and with 5 seeds a learnable curve "
                                    "read 'cannot tell' one time in three)."),
) -> None:
    """Rerun RUN's configuration and each remedy over K seeds; show which beat the baseline beyond noise."""
    from lossgap.remedies import run_remedies  # torch: imported by the command that trains
    from lossgap.remedies.runner import RemediesInterrupted

    # --only '' names nothing: refused (run_remedies) rather than read as "no --only", which tries everything.
    # A name given twice is tried once (it had been stored and shown twice from then on).
    names = list(dict.fromkeys(name.strip() for name in only.split(",") if name.strip())) if only is not None else None
    try:
        with JobsProgress() as progress:
            result = run_remedies(run, replicates=replicates, only=names, metric=metric, workers=workers,
                                  curve_seeds=curve_seeds, on_plan=progress.plan, on_epoch_end=progress.epoch_ended,
                                  on_job_end=progress.job_ended)
    except RemediesInterrupted:
        # Count what is really there: "the runs that finished are under ..." had been printed before any had.
        # A run cut short by the stop writes its summary too ("interrupted"): it is not one of the finished ones.
        kept = (sum(1 for path in (run / "remedy").rglob("summary.json") if not _interrupted(path))
                if (run / "remedy").is_dir() else 0)
        message = (f"interrupted; {kept} finished run{'s' if kept != 1 else ''} kept under {run / 'remedy'}: rerun "
                   "the command to reuse them and train the rest" if kept else
                   "interrupted before any remedy run finished; rerun the command to start them")
        Console(stderr=True).print(Text(message, style="yellow"), soft_wrap=True)
        raise typer.Exit(130) from None
    console = Console()
    if result.reused:
        console.print(f"{result.reused} replicate runs had finished earlier with the same configuration and seed; "
                      "they were used as they are")
    if result.note:
        Console(stderr=True).print(Text(f"note: {result.note}", style="yellow"), soft_wrap=True)
    console.print(remedy_table(result))
    if result.more_data is not None:
        console.print(more_data_table(result))
        console.print(Text(f"more data: {result.more_data.verdict.sentence}", style="bold"), soft_wrap=True)
    if result.control_reading:
        console.print(Text(result.control_reading, style="bold"))
    winner = result.winner
    if winner is None and not result.candidates:
        pass  # only the learning curve was asked for: there is nothing to win
    elif winner is None:
        judged = result.metric or "its own target"
        console.print(Text(f"no remedy beat the baseline on {judged} beyond noise ({result.replicates} seeds each)",
                           style="bold"))
    else:
        ranked = (" (ranked by balanced accuracy: the training set has minority classes)"
                  if result.metric is None and result.rank_on == "val_balanced_accuracy" else "")
        console.print(Text(f"winner: {winner.name} - {winner.action}{ranked}", style="bold green"))
        console.print(Text(winner.command or winner.config.command()), soft_wrap=True)
        for caution in result.cautions:
            console.print(Text(f"note: {caution}", style="yellow"))
    overlooked = result.overlooked
    if len(overlooked) > MAX_OVERLOOKED_NOTES:
        # One line for many: eight notes alike had said nothing each (trial 20).
        names = ", ".join(f"{outcome.name} (p={outcome.p_value:.3f})" for outcome in overlooked)
        console.print(Text(f"note: {len(overlooked)} remedies moved their figure clearly on average but not beyond "
                           f"noise with {result.replicates} seeds: {names}; rerun them with more --replicates "
                           "(--only) to decide", style="yellow"))
    for outcome in overlooked if len(overlooked) <= MAX_OVERLOOKED_NOTES else ():
        judged = outcome.judged_on or "val_loss"
        before, after = result.baseline.interval(judged).mean, outcome.interval(judged).mean
        console.print(Text(f"note: {outcome.name} moved {judged.replace('_', ' ')} {before:.3f} -> {after:.3f} on "
                           f"average{', far more than the winner' if winner else ''}, but its seeds "
                           f"differ too much to call it beyond noise with {result.replicates} (p={outcome.p_value:.3f}):"
                           " rerun with more --replicates to decide", style="yellow"), soft_wrap=True)
    if result.replicates == 2 and result.candidates:
        # Two seeds give one degree of freedom: every interval spans nearly the figure's whole range (trial 20).
        console.print(Text("note: with 2 seeds each the 95% intervals are wide and only large, steady gains can win; "
                           "--replicates 3 or more tells more", style="yellow"))
    console.print(f"written to {result.run / 'remedy.json'}")


def _interrupted(summary: Path) -> bool:
    """True when the run whose summary.json this is was stopped before its end (or the file cannot be read), as
    :func:`lossgap.remedies.earlier.finished_outcome` reads it."""
    from lossgap.errors import LossgapError
    from lossgap.run import rundir

    try:
        return rundir.read_summary(summary.parent).get("status") == "interrupted"
    except LossgapError:
        return True


#: Overlooked candidates named one note each up to this many; more share one line.
MAX_OVERLOOKED_NOTES = 3


#: How the table names a judging figure, short enough for 80 columns.
SHORT_METRICS = {"val_loss": "loss", "val_accuracy": "acc", "val_balanced_accuracy": "bal acc"}


def remedy_table(result: RemedyResult) -> Table:
    """Baseline and candidates: each val figure of the delivered model as mean and ± the 95% interval's half
    width ([low, high] where the figure's range clipped it), what each is judged on, whether it beats the
    baseline and the p-value."""
    from lossgap.remedies.candidates import CONTROL
    from lossgap.remedies.runner import METRICS

    judged = f"judged on {result.metric}" if result.metric else "each judged on its own target"
    table = Table(title=f"remedies for {result.run} ({result.replicates} seeds each, {judged}; "
                        "wins: beats the baseline beyond noise)")
    table.add_column("configuration", no_wrap=True)
    for metric in METRICS:
        table.add_column(metric.replace("_", " "), justify="right")
    table.add_column("judged", justify="center")
    table.add_column("wins", justify="center")
    table.add_column("p", justify="right")
    for outcome in (result.baseline, *result.candidates):
        cells = []
        for metric in METRICS:
            cells.append(interval_cell(outcome.interval(metric)))
        # The control is no remedy: what it shows is said under the table (RemedyResult.control_reading).
        verdict = ("-" if outcome is result.baseline or outcome.name == CONTROL
                   else "yes" if outcome.beats_baseline else "no")
        # Nor its p-value: the line under the table gives the one that reads it (val accuracy against the true labels';
        # a trial's table showed the control's val-loss p 0.253 beside that line's 0.222).
        control = outcome.name == CONTROL
        p_value = "-" if outcome.p_value is None or control else f"{outcome.p_value:.3f}"
        judged_on = "-" if control else SHORT_METRICS.get(outcome.judged_on or "", "-")
        table.add_row(Text(outcome.name), *cells, judged_on, verdict, p_value)
    return table


def interval_cell(interval) -> str:
    """Mean over ± the 95% interval's half width (two short lines fit 80 columns); [low, high] when the
    figure's range clipped the interval, where ± would claim ends it does not have."""
    if interval.low != interval.low:
        return f"{interval.mean:.3f}"
    if interval.symmetric:
        return f"{interval.mean:.3f}\n±{(interval.high - interval.low) / 2:.3f}"
    return f"{interval.mean:.3f}\n[{interval.low:.3f}, {interval.high:.3f}]"


def more_data_table(result: RemedyResult) -> Table:
    """The learning curve: each share of the training set with its size and the mean delivered val loss and
    accuracy over seeds (the shares left out of the fit too, marked), then the fitted predictions at 2x and 4x and
    the asymptote with 95% intervals: the rows of the report's table
    (:func:`lossgap.report.tables.more_data_section`), read from the same remedy.json entry."""
    from lossgap.plain import to_plain
    from lossgap.report.tables import more_data_section

    curve = result.more_data
    table = Table(title=f"more data: learning curve ({curve.seeds} seeds per share; predictions: fit "
                        "and 95% interval)")
    table.add_column("training set", no_wrap=True)
    table.add_column("samples", justify="right")
    table.add_column("val loss", justify="right")
    table.add_column("val accuracy", justify="right")
    section = more_data_section(to_plain(curve.to_dict()))
    for row in section["rows"] if section is not None else ():
        table.add_row(row["name"], row["size"], *row["cells"])
    return table
