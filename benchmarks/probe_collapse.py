"""Looking for collapses to a constant guess on real data, judged independently of the rule that names them.

``unstable_optimization`` names a collapse from the train *loss* (back at the prior's entropy after being well
below it). This probe trains aeon sets at learning rates high enough to throw weights around and judges each
run from its *predictions* instead: a run collapsed when its train accuracy had once been at least 0.15 above
the majority share and, in each of its last 3 epochs, at least 95% of the training samples were predicted as
one class. It prints one row per run (collapsed or not, the diagnosis's top verdict and whether the collapse
was the evidence) and the counts: collapses found, how many the diagnosis named `unstable_optimization` with
the collapse as evidence, and in how many runs that were not collapses it named a collapse (false alarms).

    .venv/bin/python benchmarks/probe_collapse.py [--out runs/probe_collapse] [--datasets A,B]
        [--optimizers adam:0.03,sgd:1] [--hidden 16] [--layers 1] [--epochs 40] [--seeds 0,1]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import torch

from lossgap.api import train
from lossgap.diagnosis.engine import diagnose_record
from lossgap.run.reader import read_run
from lossgap.training.config import DataConfig, ModelConfig, OptimizerConfig, TrainConfig

#: A run counts as having learned when its train accuracy was once this far above the majority share.
LEARNED_ABOVE_MAJORITY = 0.15
#: ... and as collapsed when, in each of its last COLLAPSED_EPOCHS epochs, this share of the training samples
#: was predicted as one class.
ONE_CLASS_SHARE = 0.95
COLLAPSED_EPOCHS = 3


def collapsed(record) -> tuple[bool, float, float]:
    """(collapsed by the predictions, best train accuracy, majority share) of a run's train records."""
    train_split = record.dynamics["train"]
    predicted, labels = train_split.predicted, train_split.labels
    majority = float(np.bincount(labels).max() / labels.size)
    accuracy = (predicted == labels[None, :]).mean(axis=1)
    one_class = np.array([np.bincount(row[row >= 0]).max() / max(1, int((row >= 0).sum())) for row in predicted])
    learned = accuracy.max() >= majority + LEARNED_ABOVE_MAJORITY
    return bool(learned and (one_class[-COLLAPSED_EPOCHS:] >= ONE_CLASS_SHARE).all()), float(accuracy.max()), majority


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/probe_collapse"))
    parser.add_argument("--datasets", default="JapaneseVowels,GunPoint,ItalyPowerDemand,BasicMotions")
    parser.add_argument("--optimizers", default="adam:0.03,adam:0.1,adam:0.3,sgd:1,sgd:3",
                        help="comma-separated NAME:LR pairs")
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args()
    torch.set_num_threads(1)
    optimizers = [(name, float(lr)) for name, lr in (pair.split(":") for pair in args.optimizers.split(","))]
    counts = {"runs": 0, "collapsed": 0, "named": 0, "false_alarms": 0}
    for dataset, (name, lr), seed in itertools.product(args.datasets.split(","), optimizers,
                                                       [int(seed) for seed in args.seeds.split(",")]):
        run = args.out / f"{dataset}_{name}{lr:g}_h{args.hidden}x{args.layers}_e{args.epochs}_s{seed}"
        if not (run / "summary.json").exists():
            config = TrainConfig(data=DataConfig(source=f"aeon:{dataset}"), epochs=args.epochs, seed=seed,
                                 model=ModelConfig(hidden_size=args.hidden, num_layers=args.layers),
                                 optimizer=OptimizerConfig(name=name, lr=lr))
            train(config, run, overwrite=True, diagnose_run=False)
        record = read_run(run)
        is_collapse, best_accuracy, majority = collapsed(record)
        diagnosis = diagnose_record(record)
        top = diagnosis.verdicts[0] if diagnosis.verdicts else None
        named = bool(top and top.cause == "unstable_optimization" and top.evidence.get("collapse"))
        counts["runs"] += 1
        counts["collapsed"] += is_collapse
        counts["named"] += is_collapse and named
        counts["false_alarms"] += named and not is_collapse
        verdict = f"{top.cause} {top.confidence:.2f}" if top else "no problem"
        print(f"{run.name:50s} best train acc {best_accuracy:.2f} (majority {majority:.2f}) "
              f"{'COLLAPSED' if is_collapse else 'no collapse':11s} -> {verdict}{' (collapse named)' if named else ''}",
              flush=True)
    print(f"runs {counts['runs']}, collapsed {counts['collapsed']}, named {counts['named']}, "
          f"false alarms {counts['false_alarms']}")


if __name__ == "__main__":
    main()
