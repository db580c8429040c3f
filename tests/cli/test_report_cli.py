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
             "delivered_epoch": 14, "delivered_val_loss": 0.6621, "delivered_val_accuracy": 0.3,
             "test_accuracy": 0.5667, "main_cause": cause}
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


def test_compare_figures_keep_a_fixed_precision_and_a_narrow_window_gets_one_block_per_run():
    from rich.console import Console

    from lossgap.cli.report import comparison_table, comparison_view

    rows = [{"run": "imbal60", "best_epoch": 59, "best_val_loss": 0.0021987, "best_val_accuracy": 1.0,
             "delivered_epoch": 60, "delivered_val_loss": 0.003382, "delivered_val_accuracy": 1.0,
             "test_accuracy": None, "main_cause": None},
            {"run": "tiny", "best_epoch": 3, "best_val_loss": 0.00001234, "best_val_accuracy": 0.975,
             "delivered_epoch": 9, "delivered_val_loss": 123.456, "delivered_val_accuracy": 0.5,
             "test_accuracy": 0.8, "main_cause": "overfitting"}]
    console = Console(width=80, record=True)
    console.print(comparison_table(rows))
    cells = [[cell.strip() for cell in line.split("\u2502")[1:-1]] for line in console.export_text().splitlines()
             if line.startswith("\u2502")]
    # 0.003382 printed as "0.00338" with a stray "2" on the next line before; accuracy 1.0 as "1" beside "0.975"
    assert cells[0][1:7] == ["59", "0.0022", "60", "0.0034", "1.000", "-"]
    assert cells[1][1:7] == ["3", "1.2e-05", "9", "123.5", "0.500", "0.800"]
    narrow = Console(width=60, record=True)
    narrow.print(comparison_view(rows, narrow.width))
    text = narrow.export_text()
    assert all(len(line) <= 60 for line in text.splitlines()) and "\u2503" not in text  # no table grid
    assert "kept val loss" in text and "0.0034" in text and "kept: the epoch whose model" in text and "overfitting" in text and "imbal60" in text
    wide = Console(width=100, record=True)
    wide.print(comparison_view(rows, wide.width))
    assert "\u2503" in wide.export_text()  # the table, when it fits
