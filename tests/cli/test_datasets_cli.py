"""``lossgap datasets``: the table of shipped aeon sets, and exit code 2 with one line when aeon is missing."""

import sys
from importlib.util import find_spec

import pytest
from typer.testing import CliRunner

from lossgap.cli import datasets as datasets_command  # noqa: F401 - registers the command on the app
from lossgap.cli.app import register_commands
from lossgap.data.aeon_source import AEON_DATASETS

runner = CliRunner()
app = register_commands()


@pytest.mark.skipif(find_spec("aeon") is None, reason="aeon (lossgap[data]) is not installed")
def test_lists_every_shipped_set_with_its_sizes():
    result = runner.invoke(app, ["datasets"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): [cell.strip() for cell in line.split("│")[2:-1]]
            for line in result.output.splitlines() if line.startswith("│")}
    assert set(rows) == set(AEON_DATASETS)
    # train, test, classes, channels, length
    assert rows["GunPoint"] == ["50", "150", "2", "1", "150"]
    assert rows["JapaneseVowels"] == ["270", "370", "9", "12", "7-29"]
    assert rows["BasicMotions"] == ["40", "40", "4", "6", "100"]


def test_missing_aeon_exits_2_with_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "aeon", None)
    monkeypatch.setitem(sys.modules, "aeon.datasets", None)
    result = runner.invoke(app, ["datasets"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "lossgap: error: listing the aeon data sets needs the optional extra: pip install 'lossgap[data]'"]


def test_the_help_names_the_extra_to_install():
    from typer.testing import CliRunner

    from lossgap.cli.app import register_commands

    result = CliRunner().invoke(register_commands(), ["datasets", "--help"], terminal_width=80)
    assert "pip install 'lossgap[data]'" in " ".join(result.stdout.split())
