"""Data-parallel training: epoch time of 1 process against 2 ranks (torchrun, gloo) on a 2-core machine, and
what gathering every rank's per-sample records costs per epoch.

Three runs of lossgap's trainer with the same flags and seed, each in its own process started by this script
(the reference first, then the others, in that order each repeat):

- ``1 process, 1 thread``: the reference;
- ``1 process, 2 threads``: what one process does with both cores;
- ``2 ranks x 1 thread``: ``torchrun --standalone --nproc-per-node 2``, the global batch split in two.

For each: the median epoch seconds (metrics.csv's ``seconds``, training plus the recording passes), and for
the 2-rank run the seconds per epoch spent in the gather of the records (``gather_records``, on rank 0) as a
share of the epoch (target: under 5%). Ratios are against the reference measured by the same invocation.
JSON under ``benchmarks/results/bench_ddp.json``.

    .venv/bin/python benchmarks/bench_ddp.py [--samples 100000] [--hidden 128] [--epochs 2] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "bench_ddp.json"


def worker(args: argparse.Namespace) -> None:
    """One training (alone or as one torchrun rank); rank 0 writes epoch and gather seconds to ``args.report``."""
    import torch

    from lossgap.data import load_data
    from lossgap.training import distributed as ddp
    from lossgap.training.config import DataConfig, ModelConfig, TrainConfig
    from lossgap.training.once import train_once
    from lossgap.training.recorder import Recorder

    torch.set_num_threads(args.threads)
    gathers: list[float] = []
    original = ddp.gather_records

    def timed_gather(local, distributed):
        started = time.perf_counter()
        try:
            return original(local, distributed)
        finally:
            gathers.append(time.perf_counter() - started)

    ddp.gather_records = timed_gather  # the recorder looks it up at each epoch's end
    config = TrainConfig(data=DataConfig(source=f"synthetic:sum-sign,samples={args.samples}"),
                         model=ModelConfig(hidden_size=args.hidden), epochs=args.epochs, batch_size=args.batch_size,
                         control="none")
    ddp.check_batch_size(config.batch_size)
    distributed = ddp.setup("cpu")
    splits = load_data(config.data, config.seed).splits
    recorder = Recorder() if distributed is None or distributed.is_writer else Recorder(keep_records=False)
    trained = train_once(config, splits, recorder, distributed=distributed)
    if distributed is None or distributed.is_writer:
        # One gather per epoch end (all splits at once); a test split's evaluation after training would add
        # one more, which is not an epoch's.
        epochs = len(trained.fit.history)
        Path(args.report).write_text(json.dumps({
            "epoch_seconds": [row["seconds"] for row in trained.fit.history],
            "gather_seconds": gathers[:epochs], "train_loss": [row["train_loss"] for row in trained.fit.history],
            "world_size": 1 if distributed is None else distributed.world_size}))
    ddp.teardown()


def run(kind: str, args: argparse.Namespace, report: Path) -> dict:
    """Start one measured run of ``kind`` and return its report."""
    flags = ["--worker", "--report", str(report), "--samples", str(args.samples), "--hidden", str(args.hidden),
             "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    script = str(Path(__file__).resolve())
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if kind == "2 ranks x 1 thread":
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", script,
                   *flags, "--threads", "1"]
    else:
        threads = "2" if kind == "1 process, 2 threads" else "1"
        command = [sys.executable, script, *flags, "--threads", threads]
        env["OMP_NUM_THREADS"] = threads
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    return json.loads(report.read_text())


KINDS = ("1 process, 1 thread", "1 process, 2 threads", "2 ranks x 1 thread")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000, help="synthetic:sum-sign samples (80%% train)")
    parser.add_argument("--hidden", type=int, default=128, help="LSTM hidden size")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run")
    parser.add_argument("--batch-size", type=int, default=256, help="global batch size")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each kind")
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON file of the results")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return {}
    epochs: dict[str, list[float]] = {kind: [] for kind in KINDS}
    gathers: list[float] = []
    losses: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for repeat in range(args.repeats):
            for kind in KINDS:
                result = run(kind, args, Path(scratch) / f"{repeat}-{kind.replace(' ', '_')}.json")
                epochs[kind] += result["epoch_seconds"]
                losses[kind] = result["train_loss"]
                if kind.startswith("2 ranks"):
                    gathers += result["gather_seconds"]
    reference = statistics.median(epochs[KINDS[0]])
    rows = {kind: {"median_epoch_seconds": round(statistics.median(values), 3),
                   "ratio_to_reference": round(statistics.median(values) / reference, 3),
                   "final_train_loss": losses[kind][-1]} for kind, values in epochs.items()}
    ddp_epoch = statistics.median(epochs[KINDS[2]])
    gather = statistics.median(gathers) if gathers else float("nan")
    results = {"settings": {"samples": args.samples, "hidden": args.hidden, "epochs": args.epochs,
                            "batch_size": args.batch_size, "repeats": args.repeats, "cpu_count": os.cpu_count()},
               "runs": rows, "gather_seconds_per_epoch": round(gather, 4),
               "gather_share_of_ddp_epoch": round(gather / ddp_epoch, 4),
               "command": "python benchmarks/bench_ddp.py " + " ".join(sys.argv[1:] if argv is None else argv)}
    for kind, row in rows.items():
        print(f"{kind:22s} median epoch {row['median_epoch_seconds']:8.2f} s   ratio {row['ratio_to_reference']:.2f}"
              f"   final train loss {row['final_train_loss']:.5f}")
    print(f"gather of the records: {gather:.3f} s per epoch = {100 * gather / ddp_epoch:.2f}% of a 2-rank epoch "
          "(target < 5%)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
