"""``lossgap datasets``: the UCR/UEA classification sets shipped inside aeon, usable offline as ``aeon:NAME``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from lossgap.cli.app import app
from lossgap.cli.console import Console

if TYPE_CHECKING:
    from lossgap.data.aeon_source import AeonDatasetInfo


@app.command()
def datasets() -> None:
    """List the data sets shipped with aeon (needs aeon: pip install 'lossgap[data]'); train on one with aeon:NAME."""
    from lossgap.data.aeon_source import available_datasets

    Console().print(datasets_table(available_datasets()))


def datasets_table(infos: list[AeonDatasetInfo]) -> Table:
    """One row per data set: name, train / test samples, classes, channels and length in time steps."""
    table = Table(title="data sets shipped with aeon (use as aeon:NAME)")
    table.add_column("name", justify="left")
    for column in ("train", "test", "classes", "channels", "length"):
        table.add_column(column, justify="right")
    for info in infos:
        table.add_row(info.name, str(info.train_samples), str(info.test_samples), str(info.num_classes),
                      str(info.num_channels), info.length_text)
    return table
