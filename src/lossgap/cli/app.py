"""The ``lossgap`` command: a thin Typer layer that builds configs and calls the API.

Every :class:`~lossgap.errors.LossgapError` becomes one line on stderr and exit code 2, with no traceback.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from lossgap.errors import LossgapError


class _LossgapGroup(TyperGroup):
    """Turns user-facing errors from any command into one line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LossgapError as error:
            typer.echo(f"lossgap: error: {error}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_LossgapGroup,
    name="lossgap",
    help="Why does my LSTM's accuracy plateau while the loss keeps falling? Train, record every sample, "
         "diagnose the cause, and test the remedies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def register_commands() -> typer.Typer:
    """Import the command modules (each registers itself on ``app``); returns ``app``."""
    from lossgap.cli import datasets, demo, diagnose, remedy, report, sweep, train  # noqa: F401

    return app


def main() -> None:
    """Console-script entry point."""
    register_commands()()


if __name__ == "__main__":
    # Run as a script this file is "__main__", a second copy: commands register on the imported module's app.
    from lossgap.cli.app import main as package_main

    package_main()
