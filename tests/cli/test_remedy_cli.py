"""``lossgap remedy`` bad input: one line, exit 2."""

import pytest
from typer.testing import CliRunner

from lossgap.cli.app import register_commands

runner = CliRunner()
app = register_commands()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("remedy_cli") / "run"
    assert runner.invoke(app, ["train", "synthetic:sum-sign,samples=80", "--out", str(out), "--epochs", "3"]).exit_code == 0
    return out


@pytest.mark.parametrize("args, message", [
    (["--replicates", "1"], "at least 2"),
    (["--only", "dropout,teleport"], "unknown remedy 'teleport'"),
    (["--metric", "f1"], "unknown --metric"),
])
def test_bad_requests_get_one_line_and_exit_2(run_dir, args, message):
    result = runner.invoke(app, ["remedy", str(run_dir), *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_a_small_remedy_run_prints_the_table(run_dir):
    result = runner.invoke(app, ["remedy", str(run_dir), "--only", "lower_lr", "-k", "2"])
    assert result.exit_code == 0, result.output
    assert "baseline" in result.stdout and "lower_lr" in result.stdout and (run_dir / "remedy.json").exists()


def test_switch_model_trains_the_other_family_side_by_side(run_dir):
    import json

    result = runner.invoke(app, ["remedy", str(run_dir), "--only", "switch_model", "-k", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    payload = json.loads((run_dir / "remedy.json").read_text())
    switched = next(candidate for candidate in payload["candidates"] if candidate["name"] == "switch_model")
    assert switched["config"]["model"]["kind"] == "lstm-fcn" and "--model lstm-fcn" in switched["command"]
    assert payload["baseline"]["config"]["model"]["kind"] == "lstm"
    seed_run = run_dir / "remedy" / "switch_model" / "seed_0" / "config.json"
    assert json.loads(seed_run.read_text())["model"]["kind"] == "lstm-fcn"


def test_the_remedy_table_fits_80_columns(run_dir):
    result = runner.invoke(app, ["remedy", str(run_dir), "--only", "lower_lr", "-k", "2"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    assert "\u2026" not in result.stdout and "±" in result.stdout   # no header or cell is cut
