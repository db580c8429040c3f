"""Atomic file writes: a reader never sees a half-written file, and an interrupted write leaves the old one.

Each writer writes to a temporary file in the target's directory, flushes it to disk, then renames it over the
target with :func:`os.replace` (atomic on POSIX and Windows for files on one file system). And reading back the
per-epoch CSV files (``metrics.csv``, ``optimization.csv``) from a disk or copy that cut them short.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lossgap.plain import to_plain


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on clean exit it replaces ``path`` atomically.

    Yields the open file object. On an exception the temporary file is removed and ``path`` is untouched.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as error:
        # Name the file the user asked for, not the temporary one.
        raise type(error)(error.errno, error.strerror, str(target)) from None
    try:
        with os.fdopen(fd, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; give the file the permissions a plain open() would (0666 minus the umask).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_name, 0o666 & ~umask)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """Write ``payload`` as indented UTF-8 JSON, atomically. Non-finite floats are written as null."""
    text = json.dumps(to_plain(payload), indent=2, sort_keys=False, ensure_ascii=False)
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` as UTF-8, atomically."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write raw bytes, atomically."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)


def read_csv_rows(path: str | os.PathLike) -> tuple[list[str], list[dict[str, str]], bool]:
    """(header, rows, cut) of a CSV file with a header line. A last row cut short (fewer fields than the header,
    or no line end: the file was truncated) is left out and ``cut`` is True. ValueError naming the row for a
    short row before the last; OSError, UnicodeDecodeError or csv.Error as reading raises them."""
    with open(path, newline="", encoding="utf-8") as handle:
        text = handle.read()
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    cut = bool(rows) and (None in rows[-1].values() or not text.endswith("\n"))
    if cut:
        rows.pop()
    for number, row in enumerate(rows, start=1):
        if None in row.values():
            raise ValueError(f"{Path(path).name} row {number} has fewer fields than the header")
    return list(reader.fieldnames or ()), rows, cut
