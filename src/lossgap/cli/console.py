"""The rich Console every command prints with: a reader that goes away ends the command quietly, exit code 0."""

from __future__ import annotations

from rich.console import Console as RichConsole


class Console(RichConsole):
    """rich's Console, but a closed pipe (``lossgap diagnose RUN | head``) is left to the CLI's one handler.

    rich's own ``on_broken_pipe`` exits with code 1, which fails a ``set -o pipefail`` script for a reader
    that simply read enough; this raises BrokenPipeError instead, which ``lossgap.cli.app`` turns into a
    quiet exit 0 as for every other output (Python docs, "Note on SIGPIPE").
    """

    def on_broken_pipe(self) -> None:
        """Print nothing more from this console and raise BrokenPipeError (never returns)."""
        self.quiet = True
        raise BrokenPipeError("the reader of this command's output went away")
