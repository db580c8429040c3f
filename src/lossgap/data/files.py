"""Checks shared by the file sources: the path exists and is a readable file."""

from __future__ import annotations

from pathlib import Path

from lossgap.errors import DataError


def existing_file(path: str | Path) -> Path:
    """``path`` as a Path, after checking it names a readable file; raises DataError otherwise."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"data file {path} does not exist; check the path")
    if not path.is_file():
        raise DataError(f"data file {path} is not a file (it is a directory); give the path of a .npz or .csv file")
    try:
        with path.open("rb") as handle:
            handle.read(1)
    except OSError as error:
        raise DataError(f"data file {path} cannot be read ({error.strerror}); check its permissions") from None
    return path
