"""Remedy throughput: runs per minute of ``lossgap remedy`` with 1 and with 2 worker processes.

Trains one run (``synthetic:frequency,samples=2000``, hidden 64, 20 epochs; a training of about 2 s on one
thread), then times the whole command ``lossgap remedy RUN --only ONLY -k 3`` with the article's seven remedies
(24 trainings: the baseline and seven remedies x 3 seeds, the size of a default remedy comparison) with
``--workers 1`` and ``--workers 2``, alternately, ``--pairs`` times, with nothing else running. Prints runs per
minute of each, their median ratio (target >= 1.8 on 2 cores), and checks that both produced the same numbers.
Fixed costs (start-up, diagnosis, the final report: about 5 s) weigh less in longer comparisons.

    .venv/bin/python benchmarks/bench_remedy.py [--pairs 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
from pathlib import Path

from commands import LOSSGAP, seconds

ONLY = "dropout,weight_decay,early_stopping,lower_lr,higher_lr,smaller_hidden,clip_grad"
RUNS = 24


def remedy_seconds(run: Path, workers: int) -> tuple[float, dict]:
    """Wall seconds of the whole remedy command, and its remedy.json. The earlier command's replicate runs are
    removed first: a rerun reuses finished runs, which would time nothing."""
    shutil.rmtree(run / "remedy", ignore_errors=True)
    taken = seconds([*LOSSGAP, "remedy", str(run), "--only", ONLY, "-k", "3", "--workers", str(workers)])
    return taken, json.loads((run / "remedy.json").read_text())


def per_seed(payload: dict) -> list:
    return [entry["per_seed"] for entry in [payload["baseline"], *payload["candidates"]]]


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=2, help="alternating (1 worker, 2 workers) pairs timed")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lossgap-remedy-bench-"))
    try:
        run = work / "run"
        seconds([*LOSSGAP, "train", "synthetic:frequency,samples=2000", "--out", str(run), "--hidden", "64",
                 "--epochs", "20"])
        ratios = []
        for pair in range(args.pairs):
            one, one_payload = remedy_seconds(run, 1)
            two, two_payload = remedy_seconds(run, 2)
            same = per_seed(one_payload) == per_seed(two_payload)
            ratios.append(one / two)
            print(f"pair {pair + 1}: 1 worker {RUNS / one * 60:.1f} runs/min ({one:.1f} s), 2 workers "
                  f"{RUNS / two * 60:.1f} runs/min ({two:.1f} s): {one / two:.2f}x; same numbers: {same}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    median = statistics.median(ratios)
    print(f"median speed-up of 2 workers over 1: {median:.2f}x (target >= 1.8: {'met' if median >= 1.8 else 'NOT met'})")
    return median


if __name__ == "__main__":
    main()
