"""Does the ``more_data`` remedy answer "would more data help?" correctly where the answer is known?

Two checks, each a run trained by ``lossgap train`` and then ``lossgap remedy RUN --only more_data``:

* **Learnable, cut to 20%.** ``synthetic:frequency,samples=1500,classes=4,sigma=1.0`` (4 sine frequencies in
  noise; 300 val samples) trained with ``--train-fraction 0.2`` (240 of its 1200 train samples). Its learning
  curve (8/12/16/20% of the training split) must say more data helps, and its predictions at 2x and 4x must hold
  what training the same configuration on 40% and 80% actually gives (the curve's seeds, so the same val
  splits, trained by the same parallel workers): the measured mean must lie inside the predicted interval.
* **Random labels.** ``synthetic:random-labels,samples=2000`` (labels independent of the inputs; 400 val
  samples): the curve must say "little to gain".

Both use hidden 32, lr 0.01, batch 16, 60 epochs with early stopping (patience 15), remedies run with K seeds
(the curve takes max(K, CURVE_SEEDS) seeds per share: ``lossgap.remedies.learning.curve_seeds``). Writes
``benchmarks/results/bench_more_data.json`` and prints the table the README shows, with the count of trainings.

    .venv/bin/python benchmarks/bench_more_data.py [--seeds 5] [--workers 2] [--data-seed N]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "bench_more_data.json"
LEARNABLE = "synthetic:frequency,samples=1500,classes=4,sigma=1.0"
RANDOM = "synthetic:random-labels,samples=2000"
CUT = 0.2
#: Shares of the full training split the predictions at 2x and 4x stand for.
CHECKED = {2.0: 0.4, 4.0: 0.8}


def base_config(source: str, train_fraction: float = 1.0):
    """The configuration both checks train (the one the remedy's curve reruns)."""
    from lossgap.training.config import (DataConfig, EarlyStoppingConfig, ModelConfig, OptimizerConfig,
                                         TrainConfig)

    return TrainConfig(data=DataConfig(source=source, train_fraction=train_fraction),
                       model=ModelConfig(hidden_size=32), optimizer=OptimizerConfig(lr=0.01), epochs=60,
                       batch_size=16, early_stopping=EarlyStoppingConfig(patience=15))


def curve_of(source: str, train_fraction: float, work: Path, seeds: int, workers: int) -> dict:
    """Train the run, then its more_data remedy; returns remedy.json's more_data entry and the timing."""
    from lossgap.api import train
    from lossgap.remedies import run_remedies

    run = work / source.split(":")[1].split(",")[0]
    train(base_config(source, train_fraction), run, diagnose_run=False)
    started = time.perf_counter()
    result = run_remedies(run, replicates=seeds, only=["more_data"], workers=workers)
    seconds = time.perf_counter() - started
    return {"run": str(run), "seconds": seconds, **json.loads((run / "remedy.json").read_text())["more_data"]}


def measured(source: str, work: Path, seeds: int, workers: int) -> dict[float, dict]:
    """Val figures of the configuration trained on each checked share (seeds 0..``seeds``-1: the curve's), by
    the same workers."""
    from lossgap.parallel import TrainingPool, TrainJob
    from lossgap.remedies.runner import mean_interval

    jobs = [TrainJob(f"{share:.0%} seed {seed}", base_config(source, share).model_copy(update={"seed": seed}),
                     work / "truth" / f"share_{round(share * 100)}" / f"seed_{seed}", diagnose_run=False)
            for share in CHECKED.values() for seed in range(seeds)]
    with TrainingPool(workers) as pool:
        outcomes = pool.run(jobs).outcomes
    out = {}
    for index, (multiple, share) in enumerate(CHECKED.items()):
        runs = outcomes[index * seeds:(index + 1) * seeds]
        size = json.loads((runs[0].run_dir / "config.json").read_text())["data"]["sizes"]["train"]
        figures = {}
        for metric in ("val_loss", "val_accuracy"):
            values = [float(run.delivered_row[metric]) for run in runs]
            figures[metric] = {"per_seed": values, **mean_interval(values).to_dict()}
        out[multiple] = {"share": share, "size": size, **figures}
    return out


def inside(prediction: dict, value: float) -> bool:
    return prediction["low"] <= value <= prediction["high"]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5, help="remedies' seeds (K); the curve trains max(K, CURVE_SEEDS) per share")
    parser.add_argument("--workers", type=int, default=2, help="training processes")
    parser.add_argument("--keep", type=Path, default=None, help="keep the runs in this directory")
    parser.add_argument("--data-seed", type=int, default=None, help="another draw of both data sets (default: "
                        "the sources' own seed 0); results then go to bench_more_data_seedN.json")
    parser.add_argument("--output", type=Path, default=None, help="results file (default: see --data-seed)")
    args = parser.parse_args(argv)
    suffix = "" if args.data_seed is None else f",seed={args.data_seed}"
    learnable_source, random_source = LEARNABLE + suffix, RANDOM + suffix
    output = args.output or (RESULTS if args.data_seed is None
                             else RESULTS.with_name(f"bench_more_data_seed{args.data_seed}.json"))
    work = args.keep or Path(tempfile.mkdtemp(prefix="lossgap-more-data-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        learnable = curve_of(learnable_source, CUT, work / "learnable", args.seeds, args.workers)
        truth = measured(learnable_source, work / "learnable", learnable["seeds"], args.workers)
        random = curve_of(random_source, 1.0, work / "random", args.seeds, args.workers)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    checks = []
    for multiple, actual in truth.items():
        for metric in ("val_loss", "val_accuracy"):
            predicted = next(p for p in learnable[metric]["predictions"] if p["multiple"] == multiple)
            checks.append({"multiple": multiple, "share": actual["share"], "size": actual["size"], "metric": metric,
                           "predicted": predicted, "measured": actual[metric],
                           "inside": inside(predicted, actual[metric]["mean"])})
    words = sys.argv[1:] if argv is None else argv
    # The remedy trains the baseline's K, the curve's M per smaller share and the full share's M - K more:
    # M per share, the full one included.
    trainings = {"learnable": {"run": 1, "remedy": (len(learnable["commands"]) + 1) * learnable["seeds"],
                               "truth": len(CHECKED) * learnable["seeds"]},
                 "random_labels": {"run": 1, "remedy": (len(random["commands"]) + 1) * random["seeds"]}}
    payload = {"command": " ".join([".venv/bin/python benchmarks/bench_more_data.py", *words]), "seeds": args.seeds,
               "curve_seeds": learnable["seeds"], "trainings": trainings,
               "learnable": {"source": learnable_source, "train_fraction": CUT, **learnable}, "checks": checks,
               "random_labels": {"source": random_source, **random},
               "passed": {"learnable_says_helps": learnable["verdict"] == "helps",
                          "predictions_hold": all(check["inside"] for check in checks),
                          "random_says_little_to_gain": random["verdict"] == "little_to_gain"}}
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    print(f"learnable cut to 20% ({learnable['sizes'][-1]} train samples): {learnable['sentence']}")
    print("| share of the data | train samples | figure | predicted from the 20% curve | measured (mean [95% t]) | inside |")
    print("|---|---|---|---|---|---|")
    for check in checks:
        p, m = check["predicted"], check["measured"]
        print(f"| {check['share']:.0%} ({check['multiple']:g}x) | {check['size']} | {check['metric'].replace('_', ' ')} "
              f"| {p['value']:.3f} [{p['low']:.3f}, {p['high']:.3f}] | {m['mean']:.3f} [{m['low']:.3f}, {m['high']:.3f}] "
              f"| {'yes' if check['inside'] else 'no'} |")
    print(f"random labels ({random['sizes'][-1]} train samples): {random['sentence']}")
    print(f"trainings: {trainings} (remedy: the baseline's K runs and the curve's)")
    print(f"remedy --only more_data: {learnable['seconds']:.0f} s learnable, {random['seconds']:.0f} s random labels "
          "(a figure only with nothing else running)")
    print(f"passed: {payload['passed']}")
    return payload


if __name__ == "__main__":
    main()
