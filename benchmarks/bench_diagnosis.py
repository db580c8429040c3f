"""Diagnosis speed and memory on a large record: 100,000 train samples x 100 epochs (+ 20,000 val).

Target (issue 3): under 5 s and under 2 GB. The record is synthetic (no training needed) but shaped like a
real one: a learnable two-class task with 10% flipped labels, so every analysis has work to do. The run
directory is written first; the timed part is what ``lossgap diagnose RUN`` does: read the run, analyse,
write diagnosis.json. Peak memory is the process's maximum resident set size, measured in a fresh
subprocess so nothing else is counted. The reference in the same process is reading the record alone.

    .venv/bin/python benchmarks/bench_diagnosis.py [--train 100000] [--val 20000] [--epochs 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def make_record(out: Path, num_train: int, num_val: int, epochs: int, seed: int = 0) -> None:
    """Write a run directory (through the Recorder, as any loop would) of a model learning a rule with 10%
    label noise: clean samples' margins rise, flipped ones stay negative until train memorises them."""
    import torch

    from lossgap.api import save_recorded_run
    from lossgap.training.recorder import Recorder

    rng = np.random.default_rng(seed)
    recorder = Recorder()
    splits = {}
    for split, n, first_id in (("train", num_train, 0), ("val", num_val, num_train)):
        labels = rng.integers(0, 2, n)
        flipped = rng.random(n) < 0.1
        difficulty = rng.uniform(0.5, 3.0, n).astype(np.float32)
        splits[split] = (torch.arange(first_id, first_id + n), torch.as_tensor(labels), labels, flipped, difficulty)
    for epoch in range(epochs):
        progress = epoch / max(1, epochs - 1)
        for split, (ids, targets, labels, flipped, difficulty) in splits.items():
            memorised = 4.0 * progress ** 3 if split == "train" else 0.0
            margin = np.where(flipped, -difficulty + memorised, difficulty * (4.0 * progress - 0.5))
            margin = margin + rng.normal(0, 0.3, margin.shape)
            logits = np.zeros((len(labels), 2), dtype=np.float32)
            logits[np.arange(len(labels)), labels] = margin
            recorder.update(split, ids, torch.from_numpy(logits), targets)
        recorder.end_epoch()
    save_recorded_run(recorder, out, description="benchmark record", overwrite=True)


def measure(run: str) -> None:
    """Child process: time reading alone (reference), then the full diagnosis; print JSON."""
    from lossgap.api import diagnose
    from lossgap.run.rundir import read_run

    started = time.perf_counter()
    read_run(run)
    read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    diagnosis = diagnose(run)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"read_seconds": read_seconds, "diagnose_seconds": seconds, "peak_mb": peak_mb,
                      "causes": diagnosis.causes, "suspects": len(diagnosis.suspected_mislabeled)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--val", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "run"
        make_record(run, args.train, args.val, args.epochs)
        size_mb = (run / "dynamics.npz").stat().st_size / 1e6
        child = subprocess.run([sys.executable, __file__, "--measure", str(run)], capture_output=True, text=True,
                               check=True)
        result = json.loads(child.stdout.strip().splitlines()[-1])
    print(f"record: {args.train:,} train + {args.val:,} val samples x {args.epochs} epochs ({size_mb:.0f} MB on disk)")
    print(f"read the run (reference):   {result['read_seconds']:.2f} s")
    print(f"diagnose (read + analyse):  {result['diagnose_seconds']:.2f} s   target < 5 s   "
          f"ratio to reading {result['diagnose_seconds'] / result['read_seconds']:.1f}")
    print(f"peak memory:                {result['peak_mb']:.0f} MB   target < 2048 MB")
    print(f"verdict: {', '.join(result['causes']) or 'healthy'}; {result['suspects']:,} suspected mislabeled")


if __name__ == "__main__":
    main()
