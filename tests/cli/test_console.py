"""Output into a pipe whose reader went away (``lossgap diagnose RUN | head``): exit 0, nothing on stderr,
whether the command prints through rich, typer.echo or click's help."""

import os
import subprocess
import sys

import pytest

from fixtures.training import cli_trained_run

LOSSGAP = [sys.executable, "-m", "lossgap"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return cli_trained_run(tmp_path_factory.mktemp("pipe") / "run")


def into_closed_pipe(*args) -> subprocess.CompletedProcess:
    """Run ``lossgap ARGS`` with stdout a pipe whose read end is already closed: its first write fails
    (EPIPE), as in ``| head`` once head has its lines, but every time rather than by a race."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([*LOSSGAP, *map(str, args)], stdout=write_end, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=300)
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


class GoneReader:
    """A stream whose reader went away."""

    def write(self, text):
        raise BrokenPipeError

    def flush(self):
        raise BrokenPipeError


def test_the_console_hands_a_broken_pipe_to_the_cli_instead_of_exiting_1():
    from lossgap.cli.console import Console

    console = Console(file=GoneReader())
    with pytest.raises(BrokenPipeError):   # rich's own Console raises SystemExit(1) here
        console.print("verdict")
    console.print("nothing more is written")   # quiet from now on
