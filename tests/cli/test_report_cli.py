"""``lossgap report`` and ``lossgap compare`` as a user runs them."""

from typer.testing import CliRunner

from lossgap.cli.app import register_commands

runner = CliRunner()
app = register_commands()


def test_report_and_compare_write_their_files(tmp_path):
    for name in ("a", "b"):
        result = runner.invoke(app, ["train", "synthetic:sum-sign,samples=100", "--out", str(tmp_path / name),
                                     "--epochs", "3"])
        assert result.exit_code == 0, result.output
    (tmp_path / "a" / "report.html").unlink()
    result = runner.invoke(app, ["report", str(tmp_path / "a")])
    assert result.exit_code == 0 and (tmp_path / "a" / "report.html").exists()
    result = runner.invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--out", str(tmp_path / "c.html")])
    assert result.exit_code == 0 and (tmp_path / "c.html").exists()


def test_report_of_a_missing_run_is_one_line(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path / "none")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
