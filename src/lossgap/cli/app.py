"""The ``lossgap`` command: a thin Typer layer that builds configs and calls the API.

Every :class:`~lossgap.errors.LossgapError` becomes one line on stderr and exit code 2, with no traceback.
"""

from __future__ import annotations

import sys

import typer

from lossgap.errors import LossgapError

app = typer.Typer(
    name="lossgap",
    help="Why does my LSTM's accuracy plateau while the loss keeps falling? Train, record every sample, "
         "diagnose the cause, and test the remedies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register_commands() -> None:
    # Imported here so that each command module can import `app` without a cycle.
    from lossgap.cli import demo, train  # noqa: F401


def main() -> None:
    """Console-script entry point."""
    _register_commands()
    try:
        app()
    except LossgapError as error:
        print(f"lossgap: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
