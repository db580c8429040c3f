"""Sweep throughput: trials per minute with 1 and 2 worker processes, and the time the pruner saves.

One fixed task (synthetic:frequency, 2000 samples, 15 epochs per trial), 12 trials per measurement,
a fresh SQLite study each time, all in this process's machine. The pruning comparison runs the same sampler
seed with the median pruner and with none.

    .venv/bin/python benchmarks/bench_sweep.py [--trials 12]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import optuna

from lossgap.sweep import SearchSpace, SweepSettings, run_sweep
from lossgap.training.config import DataConfig, TrainConfig

BASE = TrainConfig(data=DataConfig(source="synthetic:frequency,samples=2000"), epochs=15)
SPACE = SearchSpace(lr=(1e-5, 3e-2), hidden=(16, 32), layers=(1, 2), batch=(32, 64))


def timed(trials: int, workers: int, pruner: str) -> tuple[float, int, int]:
    """(seconds, pruned trials, epochs run) of a fresh sweep."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        study = run_sweep(BASE, SPACE, SweepSettings(out=Path(tmp), trials=trials, workers=workers, pruner=pruner))
        seconds = time.perf_counter() - started
    pruned = sum(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    return seconds, pruned, sum(len(t.intermediate_values) for t in study.trials)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    args = parser.parse_args()
    one, _, _ = timed(args.trials, 1, "median")
    two, _, _ = timed(args.trials, 2, "median")
    print(f"{args.trials} trials, median pruner:  1 worker {args.trials / one * 60:.1f} trials/min ({one:.1f} s);  "
          f"2 workers {args.trials / two * 60:.1f} trials/min ({two:.1f} s); ratio {one / two:.2f}x")
    pruned_time, pruned, epochs = timed(args.trials, 1, "median")
    full_time, _, full_epochs = timed(args.trials, 1, "none")
    print(f"pruning: median {pruned_time:.1f} s ({pruned} trials pruned, {epochs} epochs) vs none {full_time:.1f} s "
          f"({full_epochs} epochs): saves {100 * (1 - pruned_time / full_time):.0f}% of the time")


if __name__ == "__main__":
    main()
