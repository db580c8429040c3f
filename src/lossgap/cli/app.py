"""The ``lossgap`` command: a thin Typer layer that builds configs and calls the API.

Every :class:`~lossgap.errors.LossgapError` becomes one line on stderr and exit code 2, with no traceback.
"""

from __future__ import annotations

import os
import sys

import typer
from typer.core import TyperGroup

from lossgap.errors import LossgapError

try:  # typer >= 0.22 carries its own copy of click
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - typer with click as a dependency
    from click.exceptions import NoArgsIsHelpError, UsageError


class _LossgapGroup(TyperGroup):
    """Turns user-facing errors from any command, and click's usage errors (a bad option value, an unknown
    option or command), into one line and exit code 2."""

    def make_context(self, info_name, args, parent=None, **extra):
        # The group's own options and an unknown command fail here, before any command is invoked.
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except UsageError as error:
            _usage_error(error)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as error:
            # a command's options are parsed here (its make_context), so '--epochs abc' lands here
            _usage_error(error)
        except LossgapError as error:
            typer.echo(f"lossgap: error: {error.cli_message}", err=True)
            raise typer.Exit(2) from None
        except BrokenPipeError as error:
            # The reader went away (`lossgap diagnose RUN | head`; rich's Console hands it here, see
            # lossgap.cli.console): nothing more can be said on stdout; point it at /dev/null so the
            # interpreter's last flush stays quiet too. Work that was complete exits 0; training the closed
            # pipe stopped early (WorkCutShort) exits as a process a closed pipe ended.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            from lossgap.progress import CUT_SHORT_EXIT, WorkCutShort

            raise typer.Exit(CUT_SHORT_EXIT if isinstance(error, WorkCutShort) else 0) from None
        except OSError as error:
            # An unwritable or vanished path (a read-only or full disk, a directory where a file should be):
            # every file is written atomically, so what was written before stays whole.
            typer.echo(f"lossgap: error: {os_error_line(error)}", err=True)
            raise typer.Exit(2) from None


def _usage_error(error: UsageError) -> None:
    """Print click's usage error as the one line every bad input gets, and exit with its code (2); the help
    that ``no_args_is_help`` asks for is shown as click shows it."""
    if isinstance(error, NoArgsIsHelpError):
        raise error
    command = error.ctx.command_path if error.ctx is not None else "lossgap"
    typer.echo(f"lossgap: error: {error.format_message().rstrip('.')}; see '{command} --help'", err=True)
    raise typer.Exit(error.exit_code) from None


def os_error_line(error: OSError) -> str:
    """One line for a failed file operation: what, where, and what to do."""
    where = error.filename2 if isinstance(error, IsADirectoryError) and error.filename2 else error.filename
    reason = error.strerror or type(error).__name__
    return (f"cannot write or read {where}: {reason}; choose a writable location (or free space) and run the "
            "command again" if where else f"{reason}; check the paths given and run the command again")


#: Widest help text, whatever the terminal: lines beyond it are hard to read.
HELP_WIDTH = 100

app = typer.Typer(
    cls=_LossgapGroup,
    name="lossgap",
    help="Why does my LSTM's accuracy plateau while the loss keeps falling? Train, record every sample, "
         "diagnose the cause, and test the remedies.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Plain click help: rich's option panel gave the descriptions a ~24-column strip at 80 columns (five
    # columns of flags, negations and types beside them); click's two columns leave them ~50, up to 100 wide.
    rich_markup_mode=None,
    context_settings={"max_content_width": HELP_WIDTH},
)


def register_commands() -> typer.Typer:
    """Import the command modules (each registers itself on ``app``); returns ``app``."""
    from lossgap.cli import datasets, demo, diagnose, predict, remedy, report, sweep, train  # noqa: F401

    return app


def main() -> None:
    """Console-script entry point."""
    if os.environ.get("WORLD_SIZE", "1") in ("", "1"):
        register_commands()()
        return
    # A rank of a torchrun job leaves without the interpreter's shutdown, where torch's gloo threads can
    # abort the process after the run was written (see lossgap.training.distributed.exit_rank).
    try:
        register_commands()()
        code: int | str | None = 0
    except SystemExit as stop:
        code = stop.code
    from lossgap.training.distributed import exit_rank

    exit_rank(code)


if __name__ == "__main__":
    # Run as a script this file is "__main__", a second copy: commands register on the imported module's app.
    from lossgap.cli.app import main as package_main

    package_main()
