"""Scale: 1,000,000 training samples (length 20) recorded for 20 epochs, then diagnosed and reported.

``synthetic:frequency,samples=1250000`` gives 1,000,000 train and 250,000 val sequences of 20 steps; hidden 16,
batch 1024. Each step runs in its own process under ``/usr/bin/time`` (peak resident memory):

(1) training with every sample recorded every epoch (``lossgap.train(..., diagnose_run=False)``), for 2 and
    for 20 epochs: the peak must not grow with epochs (target: 20 epochs within 10% of 2), because every
    finished epoch goes to the run's epoch store and ``dynamics.npz`` is gathered one epoch row at a time;
(2) ``lossgap diagnose RUN --no-write`` of the 20-epoch run (targets < 30 s, < 2 GB);
(3) ``lossgap report RUN`` (target < 30 s).

    .venv/bin/python benchmarks/bench_scale.py [--epochs 20]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TRAIN = """
import sys
from lossgap import api
from lossgap.training.config import DataConfig, ModelConfig, TrainConfig
config = TrainConfig(data=DataConfig(source="synthetic:frequency,samples=1250000"), model=ModelConfig(hidden_size=16),
                     epochs=int(sys.argv[2]), batch_size=1024)
api.train(config, sys.argv[1], overwrite=True, diagnose_run=False)
"""


def measured(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak resident memory in MB) of ``command`` run under /usr/bin/time."""
    completed = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M", *command], capture_output=True, text=True)
    if completed.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{completed.stderr[-2000:]}")
    seconds, kilobytes = re.findall(r"TIME ([\d.]+) (\d+)", completed.stderr)[-1]
    return float(seconds), int(kilobytes) / 1024


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs of the long run (the short one has 2)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lossgap-scale-"))
    try:
        short_seconds, short_peak = measured([sys.executable, "-c", TRAIN, str(work / "short"), "2"])
        long_seconds, long_peak = measured([sys.executable, "-c", TRAIN, str(work / "long"), str(args.epochs)])
        print(f"training, 2 epochs: {short_seconds:.0f} s, peak {short_peak:.0f} MB; {args.epochs} epochs: "
              f"{long_seconds:.0f} s, peak {long_peak:.0f} MB: ratio {long_peak / short_peak:.3f} (target <= 1.10)")
        size = (work / "long" / "dynamics.npz").stat().st_size / 2**20
        diagnose_seconds, diagnose_peak = measured([sys.executable, "-m", "lossgap.cli.app", "diagnose",
                                                    str(work / "long"), "--no-write"])
        print(f"diagnose of {args.epochs} epochs ({size:.0f} MB of dynamics): {diagnose_seconds:.1f} s, peak "
              f"{diagnose_peak:.0f} MB (targets < 30 s, < 2048 MB)")
        report_seconds, report_peak = measured([sys.executable, "-m", "lossgap.cli.app", "report", str(work / "long")])
        print(f"report: {report_seconds:.1f} s, peak {report_peak:.0f} MB (target < 30 s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"train_peak_ratio": long_peak / short_peak, "diagnose_seconds": diagnose_seconds,
            "diagnose_peak_mb": diagnose_peak, "report_seconds": report_seconds}


if __name__ == "__main__":
    main()
