"""Writing a run's report (report.html and its figures) for each of the demo's three runs, in this process.

Trains the demo into a temporary directory (``lossgap demo``), diagnoses each run once, then times
``write_report(run, diagnosis)`` ``--repeats`` times per run (after one warm-up that pays matplotlib's
first-use costs) and prints the median per run (target <= 1.0 s) and its ratio to a reference measured in
the same run: one plain 9 x 4 inch line plot rendered to PNG.

    .venv/bin/python benchmarks/bench_report.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from lossgap.diagnosis import diagnose_record
from lossgap.report import html
from lossgap.run.rundir import read_run


def reference_seconds() -> float:
    """Seconds to draw one 9 x 4 inch figure with one 50-point line and save it as PNG."""
    started = time.perf_counter()
    figure = Figure(figsize=(9, 4), dpi=100)
    figure.subplots().plot(np.arange(50), np.random.default_rng(0).random(50))
    figure.savefig(io.BytesIO(), format="png")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed reports per run (median reported)")
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="lossgap-report-bench-"))
    medians = {}
    try:
        subprocess.run([sys.executable, "-m", "lossgap.cli.app", "demo", "--out", str(out)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        reference_seconds()
        reference = statistics.median(reference_seconds() for _ in range(args.repeats))
        for run in sorted(path for path in out.iterdir() if path.is_dir()):
            record = read_run(run)
            diagnosis = diagnose_record(record)
            html.write_report(run, diagnosis)   # warm-up
            seconds = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                html.write_report(run, diagnosis)
                seconds.append(time.perf_counter() - started)
            medians[run.name] = statistics.median(seconds)
            print(f"{run.name}: write_report median {medians[run.name]:.3f} s "
                  f"({medians[run.name] / reference:.1f}x the reference figure)")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    worst = max(medians.values())
    print(f"reference figure {reference * 1000:.0f} ms; slowest report {worst:.3f} s "
          f"(target <= 1.0 s: {'met' if worst <= 1.0 else 'NOT met'})")
    return medians


if __name__ == "__main__":
    main()
