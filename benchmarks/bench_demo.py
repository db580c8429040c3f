"""The demo against the article's bare loop, whole process against whole process, same torch.

(a) ``python benchmarks/article_loop.py``: the article's three experiments, nothing recorded or written;
(b) ``lossgap demo --out TMP --overwrite``: the same three experiments with a held-out split, every sample
    recorded every epoch, each run diagnosed and reported (three report.html pages with their figures),
    trained side by side by one worker per core.

Runs (a) and (b) alternately, ``--pairs`` times, with nothing else running, and prints each pair's seconds
and the median ratio (b)/(a); target <= 1.0. ``--workers 1`` times the demo one experiment after another.

    .venv/bin/python benchmarks/bench_demo.py [--pairs 3] [--workers K]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from commands import LOSSGAP, seconds

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3, help="alternating (article, demo) pairs timed")
    parser.add_argument("--workers", type=int, default=None, help="the demo's --workers (default: its own)")
    args = parser.parse_args(argv)
    out = Path(tempfile.mkdtemp(prefix="lossgap-demo-bench-"))
    article = [sys.executable, str(HERE / "article_loop.py")]
    demo = [*LOSSGAP, "demo", "--out", str(out), "--overwrite",
            *(["--workers", str(args.workers)] if args.workers else [])]
    try:
        seconds(demo)   # warm the file cache and the bytecode of both
        seconds(article)
        ratios = []
        for pair in range(args.pairs):
            reference, measured = seconds(article), seconds(demo)
            ratios.append(measured / reference)
            print(f"pair {pair + 1}: article {reference:.2f} s, lossgap demo {measured:.2f} s, "
                  f"ratio {measured / reference:.2f}")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    median = statistics.median(ratios)
    print(f"median ratio demo / article {median:.2f} (target <= 1.0: {'met' if median <= 1.0 else 'NOT met'})")
    return median


if __name__ == "__main__":
    main()
