"""``lossgap sweep`` as a user runs it: a table, the best command, files; bad input is one line, exit 2."""

import pytest
from typer.testing import CliRunner

from lossgap.cli.app import register_commands

runner = CliRunner()
app = register_commands()


def test_a_small_sweep_writes_its_files_and_the_best_command_trains(tmp_path):
    result = runner.invoke(app, ["sweep", "synthetic:sum-sign,samples=100", "--trials", "3", "--epochs", "3",
                                 "--hidden-choices", "8", "--layers-range", "1:1", "--out", str(tmp_path / "sw")])
    assert result.exit_code == 0, result.output
    for name in ("sweep.json", "sweep.db", "sweep.html", "figures/history.png"):
        assert (tmp_path / "sw" / name).exists(), name
    command = " ".join(result.stdout.split("best configuration:")[1].split("\n3 trials")[0].split())
    args = command.split()[2:] + ["--out", str(tmp_path / "best")]
    assert runner.invoke(app, ["train", *args]).exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--trials", "0"], "--trials"),
    (["--workers", "0"], "--workers"),
    (["--lr-range", "0.1"], "--lr-range"),
    (["--lr-range", "0.1:0.01"], "--lr-range"),
    (["--hidden-choices", "a,b"], "--hidden-choices"),
    (["--pruner", "random"], "--pruner"),
    (["--storage", "postgresql+psycopg2://x:pw@127.0.0.1:1/db"], "cannot open study storage"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    result = runner.invoke(app, ["sweep", "synthetic:sum-sign,samples=100", "--out", str(tmp_path / "sw"), *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "pw@" not in lines[0], result.stderr
