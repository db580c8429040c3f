"""Start-up: how long a user waits for the commands that do little work, whole process against whole process.

Trains the demo's first experiment once (``lossgap train`` with the demo's options) into a temporary
directory, then times, alternating and with nothing else running:

(ref) ``python -c pass``, the floor every command pays;
(a)   ``lossgap --help`` (target <= 0.3 s);
(b)   ``lossgap diagnose RUN --no-write`` (target <= 1.0 s);
(c)   ``lossgap report RUN`` (the page and its figures).

Prints the median seconds of each and its ratio to the reference measured in the same run.

    .venv/bin/python benchmarks/bench_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from commands import LOSSGAP, seconds

TARGETS = {"lossgap --help": 0.3, "lossgap diagnose RUN --no-write": 1.0}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each command (median reported)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lossgap-startup-"))
    try:
        run = work / "run"
        seconds([*LOSSGAP, "train", "synthetic:random-labels", "--out", str(run), "--epochs", "50"])
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "lossgap --help": [*LOSSGAP, "--help"],
            "lossgap diagnose RUN --no-write": [*LOSSGAP, "diagnose", str(run), "--no-write"],
            "lossgap report RUN": [*LOSSGAP, "report", str(run)],
        }
        for command in commands.values():   # warm the file cache and the bytecode
            seconds(command)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                times[name].append(seconds(command))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    reference = medians["python -c pass"]
    for name, median in medians.items():
        target = TARGETS.get(name)
        verdict = "" if target is None else f"  target <= {target} s: {'met' if median <= target else 'NOT met'}"
        print(f"{name:<34} median {median:6.3f} s  ({median / reference:5.1f}x python -c pass){verdict}")
    return medians


if __name__ == "__main__":
    main()
