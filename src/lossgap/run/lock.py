"""One writer per run directory: an advisory lock held on the directory while a run is trained into it.

Two processes training into the same ``--out`` (a second ``lossgap train --overwrite`` started while the first
still runs, or two benchmark processes sharing a cache) would interleave their files: the second sets the first's
entries aside, and the first goes on writing epochs beside the second's, leaving a metrics.csv and a dynamics.npz of
different runs. The lock is ``flock`` on the directory itself (no file of its own in the run), released when the
process ends however it ends, kill -9 included, so a stale lock cannot outlive its writer. Where the platform has no
``fcntl`` (Windows), runs are not guarded.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lossgap.errors import RunDirError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


@contextmanager
def writing(out: str | Path) -> Iterator[Path]:
    """Hold the run directory ``out`` (created if missing) for writing until the block ends; yields it as a Path.

    RunDirError (one line naming the fix) when another process holds it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover - Windows
        yield out
        return
    descriptor = os.open(out, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            what = f"{out} is being written by another process (a training run still going)"
            raise RunDirError(f"{what}; wait for it to finish, or choose another out directory",
                              cli=f"{what}; wait for it to finish, or choose another --out") from None
        yield out
    finally:
        os.close(descriptor)  # closing the descriptor releases the lock
