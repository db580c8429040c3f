"""User-facing errors and warnings: each message is one line that names the problem and the fix.

The CLI turns any :class:`LossgapError` into that one line on stderr and exit code 2, with no traceback. A
:class:`LossgapWarning` (something was damaged but what is whole is still used) prints as one line too,
``lossgap: warning: ...``, from the CLI or from Python.
"""

from __future__ import annotations

import warnings


class LossgapError(Exception):
    """A problem with the user's input or environment that the user can fix.

    ``cli_message`` is the same message worded for the command line when the fix names an option that the Python
    API spells differently (``--overwrite`` for ``overwrite=True``); ``str(error)`` is the Python wording, and the
    CLI prints ``cli_message``.
    """

    def __init__(self, message: str = "", *, cli: str | None = None) -> None:
        super().__init__(message)
        self.cli_message = cli if cli is not None else message

    def __reduce__(self):  # errors travel back from worker processes with both wordings
        return self.__class__, self.args, {"cli_message": self.cli_message}


class DataError(LossgapError):
    """The data (file, array shapes, values, labels, splits) cannot be used as given."""


class ConfigError(LossgapError):
    """An option value is out of range or inconsistent with others."""


class RunDirError(LossgapError):
    """A run directory is missing, incomplete, from a newer format, or would be overwritten."""


class LossgapWarning(UserWarning):
    """Part of a run was damaged and left out; the rest is read (the message says what and what to do)."""


def warn(message: str) -> None:
    """Emit ``message`` as a :class:`LossgapWarning`, shown as one line ``lossgap: warning: MESSAGE``."""
    warnings.warn(LossgapWarning(message), stacklevel=2)


def _one_line(message, category, filename, lineno, line=None) -> str:
    if isinstance(category, type) and issubclass(category, LossgapWarning):
        return f"lossgap: warning: {message}\n"
    return _default_format(message, category, filename, lineno, line)


_default_format = warnings.formatwarning
warnings.formatwarning = _one_line
