"""``lossgap report`` and ``lossgap compare`` as a user runs them."""

import json

from typer.testing import CliRunner

import lossgap.cli.report  # noqa: F401  (registers the commands until the lead lists them in register_commands)
from lossgap.cli.app import register_commands

runner = CliRunner()
app = register_commands()


def train_run(path, *extra):
    result = runner.invoke(app, ["train", "synthetic:sum-sign,samples=100", "--out", str(path), "--epochs", "3",
                                 *extra])
    assert result.exit_code == 0, result.output
    return path


def test_report_writes_the_page_and_prints_where_and_the_verdict(tmp_path):
    run = train_run(tmp_path / "a")
    (run / "report.html").unlink()
    (run / "diagnosis.json").unlink()
    result = runner.invoke(app, ["report", str(run)])
    assert result.exit_code == 0, result.output
    assert (run / "report.html").exists() and (run / "diagnosis.json").exists()
    # Six figures from the dynamics, and the optimisation figure: every lossgap train run records it.
    assert len(list((run / "figures").glob("*.png"))) == 7
    lines = result.output.splitlines()  # printed unwrapped, so a path can be copied whole
    assert lines[0] == json.loads((run / "diagnosis.json").read_text())["headline"]
    assert lines[1].startswith(f"report written to {run / 'report.html'} (7 figures also in ")


def test_compare_writes_one_page_and_prints_a_table(tmp_path):
    first, second = train_run(tmp_path / "a"), train_run(tmp_path / "b", "--lr", "0.001")
    out = tmp_path / "cmp.html"
    result = runner.invoke(app, ["compare", str(first), str(second), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.exists() and out.read_text().count("data:image/png;base64,") == 1
    assert "runs compared" in result.output
    assert result.output.splitlines()[-1] == f"comparison of 2 runs written to {out}"


def test_report_of_a_missing_run_is_one_line_and_exit_code_2(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path / "none")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "does not exist" in result.stderr


def test_compare_refuses_a_directory_as_out(tmp_path):
    run = train_run(tmp_path / "a")
    result = runner.invoke(app, ["compare", str(run), "--out", str(tmp_path)])
    assert result.exit_code == 2 and "is a directory" in result.stderr
