"""What recording the test split every epoch costs: ``--record-test epochs`` (default) against ``end``.

For each data set, lossgap's recommended configuration (``bench_accuracy.RECOMMENDED``) is trained for a few
epochs both ways, alternating, in this one process with one torch thread; prints the median epoch (metrics.csv's
``seconds``) of each and their ratio, and checks that the delivered model's test figures are the same (the
test pass changes nothing else).

    .venv/bin/python benchmarks/bench_record_test.py [--datasets ItalyPowerDemand,ArrowHead,OSULeaf] [--epochs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile

import torch

from bench_accuracy import RECOMMENDED
from lossgap.api import train
from lossgap.data import DataConfig


def epoch_seconds(dataset: str, record_test: str, epochs: int, out: str) -> tuple[list[float], dict]:
    """(seconds of each epoch, summary.json's test figures) of one run."""
    config = RECOMMENDED.model_copy(update={"data": DataConfig(source=f"aeon:{dataset}"), "epochs": epochs,
                                            "record_test": record_test})
    result = train(config, out, overwrite=True, diagnose_run=False)
    return [row["seconds"] for row in result.fit.history], result.summary["test"]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="ItalyPowerDemand,ArrowHead,OSULeaf")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2, help="runs per side (alternating)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    ratios = {}
    with tempfile.TemporaryDirectory() as scratch:
        for dataset in args.datasets.split(","):
            times = {"epochs": [], "end": []}
            tests = {}
            for _ in range(args.repeats):
                for way in times:
                    seconds, tests[way] = epoch_seconds(dataset, way, args.epochs, f"{scratch}/{dataset}_{way}")
                    times[way] += seconds[1:]   # the first epoch carries one-off costs
            every, end = statistics.median(times["epochs"]), statistics.median(times["end"])
            same = tests["epochs"] == tests["end"]
            ratios[dataset] = end / every
            print(f"{dataset}: median epoch {every * 1000:.0f} ms recording test every epoch, {end * 1000:.0f} ms "
                  f"at the end only: ratio {end / every:.2f}; delivered test figures identical: {same}")
    return ratios


if __name__ == "__main__":
    main()
