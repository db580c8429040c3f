"""Output into a pipe whose reader went away (``lossgap diagnose RUN | head``): exit 0, nothing on stderr,
whether the command prints through rich, typer.echo or click's help. A progress display on stderr whose reader
went away (``lossgap train ... 2>&1 | head -1``) stops training as Ctrl-C does and exits 141 (0 when the work
had finished first)."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from fixtures.streams import GoneReader
from fixtures.training import cli_trained_run
from lossgap.cli.app import register_commands

LOSSGAP = [sys.executable, "-m", "lossgap"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return cli_trained_run(tmp_path_factory.mktemp("pipe") / "run")


def into_closed_pipe(*args, stream="stdout", env=None) -> subprocess.CompletedProcess:
    """Run ``lossgap ARGS`` with ``stream`` (stdout or stderr) a pipe whose read end is already closed: its
    first write fails (EPIPE), as in ``| head`` once head has its lines, but every time rather than by a race.
    The other stream is captured."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, stream: write_end}
    try:
        return subprocess.run([*LOSSGAP, *map(str, args)], **streams, text=True, timeout=300,
                              env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    finally:
        os.close(write_end)


@pytest.mark.parametrize("args", [
    ("diagnose", "{run}"),              # rich Console (exited 1 before)
    ("diagnose", "{run}", "--json"),    # typer.echo
    ("report", "{run}"),                # rich, after writing the report
    ("datasets",),                      # a rich table
    ("train", "--help"),                # click's help
])
def test_a_reader_that_went_away_ends_every_command_with_exit_0_and_no_traceback(run_dir, args):
    result = into_closed_pipe(*(arg.format(run=run_dir) for arg in args))
    assert (result.returncode, result.stderr) == (0, ""), result.stderr


def test_the_console_hands_a_broken_pipe_to_the_cli_instead_of_exiting_1():
    from lossgap.cli.console import Console

    console = Console(file=GoneReader())
    with pytest.raises(BrokenPipeError):   # rich's own Console raises SystemExit(1) here
        console.print("verdict")
    console.print("nothing more is written")   # quiet from now on


def summary_of(run):
    return json.loads((run / "summary.json").read_text())


#: rich draws a live display into a pipe only when it stops; TTY_COMPATIBLE=1 makes it draw at every epoch,
#: as in a terminal, so the reader is found gone while training still runs.
DRAWN_AT_ONCE = {"TTY_COMPATIBLE": "1"}


def test_train_whose_progress_reader_went_away_after_training_exits_0_with_the_whole_run(tmp_path):
    run = tmp_path / "run"
    result = into_closed_pipe("train", "synthetic:sum-sign,samples=80", "--epochs", "3", "--out", run,
                              stream="stderr")
    assert (result.returncode, result.stdout) == (0, "")   # exited 1 before: rich's SystemExit(1)
    assert summary_of(run)["status"] == "epochs" and (run / "report.html").exists()


def test_train_whose_progress_reader_went_away_stops_as_on_ctrl_c_exits_141_and_resumes(tmp_path):
    run = tmp_path / "run"
    result = into_closed_pipe("train", "synthetic:sum-sign,samples=80", "--epochs", "6", "--out", run,
                              stream="stderr", env=DRAWN_AT_ONCE)
    # Training did not finish: the status a shell gives a process a closed pipe ended, so that a
    # `set -o pipefail` script sees it (exit 0 read as success before).
    assert (result.returncode, result.stdout) == (141, "")
    # Stopped after the epoch whose bar found the reader gone, with what finished on disk, as after Ctrl-C.
    summary = summary_of(run)
    assert (summary["status"], summary["epochs_run"]) == ("interrupted", 1)
    assert (run / "report.html").exists() and (run / "checkpoints" / "last.pt").exists()
    resumed = CliRunner().invoke(register_commands(), ["train", "--resume", str(run)])
    assert resumed.exit_code == 0, resumed.output
    assert (summary_of(run)["status"], summary_of(run)["epochs_run"]) == ("epochs", 6)


def test_a_sweep_whose_progress_reader_went_away_exits_141_and_keeps_its_page(tmp_path):
    out = tmp_path / "sweep"
    result = into_closed_pipe("sweep", "synthetic:sum-sign,samples=100", "--trials", "3", "--epochs", "3",
                              "--hidden-choices", "8", "--layers-range", "1:1", "--batch-choices", "32",
                              "--threads", "1", "--out", out, stream="stderr", env=DRAWN_AT_ONCE)
    assert (result.returncode, result.stdout) == (141, "")
    assert json.loads((out / "sweep.json").read_text())["this_run"]["stopped"] == "interrupted"
    assert (out / "sweep.html").exists()   # written as after Ctrl-C, before the command ended
