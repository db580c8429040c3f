"""User-facing errors: each message is one line that names the problem and the fix.

The CLI turns any :class:`LossgapError` into that one line on stderr and exit code 2, with no traceback.
"""


class LossgapError(Exception):
    """A problem with the user's input or environment that the user can fix."""


class DataError(LossgapError):
    """The data (file, array shapes, values, labels, splits) cannot be used as given."""


class ConfigError(LossgapError):
    """An option value is out of range or inconsistent with others."""


class RunDirError(LossgapError):
    """A run directory is missing, incomplete, from a newer format, or would be overwritten."""
