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


def test_the_compare_table_never_cuts_a_run_name_or_cause_at_80_columns():
    from rich.console import Console

    from lossgap.cli.report import comparison_table

    names = ["refine_lr_0.001_hidden64", "refine_lr_0.001_hidden32", "own_loop_experiment"]
    causes = ["confidence_refinement", "overfitting", "label_noise"]
    rows = [{"run": name, "best_epoch": 14, "best_val_loss": 0.65292, "best_val_accuracy": 0.7,
             "final_val_loss": 0.6621, "final_val_accuracy": 0.3, "test_accuracy": 0.5667, "main_cause": cause}
            for name, cause in zip(names, causes)]
    console = Console(width=80, record=True)
    console.print(comparison_table(rows))
    lines = console.export_text().splitlines()
    assert "\u2026" not in "\n".join(lines) and all(len(line) <= 80 for line in lines)
    cells = [line.split("\u2502") for line in lines if line.startswith("\u2502")]
    run_column = "".join(cell[1].strip() for cell in cells)
    cause_column = "".join(cell[-2].strip() for cell in cells)
    assert run_column == "".join(names) and cause_column == "".join(causes)
    assert all(cell[3].strip() in ("", "0.6529") for cell in cells)   # figures stay whole on one line
