"""Timing whole commands, as a user waits for them: shared by the benchmarks that compare processes."""

from __future__ import annotations

import subprocess
import sys
import time

#: The lossgap command line, run with this interpreter (the project's venv).
LOSSGAP = [sys.executable, "-m", "lossgap.cli.app"]


def seconds(command: list[str]) -> float:
    """Wall seconds of one run of ``command`` (output discarded); raises if it fails."""
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started
