"""Fault-injection benchmark: does the diagnosis name the cause each run was built to have?

Every run is built from clean data with one injected fault (see ``benchmarks/fault_suite/cases.py``), so
its true cause is known before any rule sees it. The runs are trained once (in parallel, cached under
``--cache``) and then diagnosed; the script prints the confusion matrix (true cause x top verdict), recall
and precision per cause, top-1 accuracy, the false-alarm rate on healthy runs, the calibration error (ECE)
of the top verdict's confidence, and the top-1 accuracy of two published rule sets (AutoTrainer,
SageMaker Debugger) on the same runs. The last line is::

    top-1 A, false alarms F, ECE E, rule baseline B

Usage::

    .venv/bin/python benchmarks/bench_diagnosis_suite.py            # the full suite (4 data sets x 3 seeds)
    .venv/bin/python benchmarks/bench_diagnosis_suite.py --quick    # every fault on the synthetic task, 1 seed
    .venv/bin/python benchmarks/bench_diagnosis_suite.py --datasets JapaneseVowels --seeds 3,4 --show-runs
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_suite.cases import DEVELOPMENT, FAULTS, FULL, QUICK, cases  # noqa: E402
from fault_suite.runner import train_cases  # noqa: E402
from fault_suite.scoring import score_run, summarise  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def format_report(summary: dict) -> str:
    """The printed report: confusion matrix, per-cause figures, baselines, and the final summary line."""
    lines = []
    confusion = summary["confusion"]
    labels = list(confusion)
    width = max(len(label) for label in labels) + 2
    short = {label: label[:12] for label in labels}
    lines.append("confusion (rows: true cause, columns: top verdict)")
    lines.append(" " * width + "".join(f"{short[label]:>13}" for label in labels))
    for truth in labels:
        lines.append(f"{truth:<{width}}" + "".join(f"{confusion[truth][top]:>13d}" for top in labels))
    lines.append("")
    lines.append(f"{'cause':<{width}}{'recall':>8}{'precision':>11}")
    for cause in labels:
        recall = summary["recall"].get(cause)
        precision = summary["precision"].get(cause)
        lines.append(f"{cause:<{width}}" + (f"{recall:>8.2f}" if recall is not None else f"{'-':>8}")
                     + (f"{precision:>11.2f}" if precision is not None else f"{'-':>11}"))
    lines.append("")
    lines.append("top-1 by data set: " + ", ".join(f"{name} {value:.3f}"
                                                  for name, value in summary["top1_by_dataset"].items()))
    for name, baseline in summary["baselines"].items():
        how = baseline.get("decided_by") or f"best priority order: {' > '.join(baseline['order'])}"
        lines.append(f"{name}: top-1 {baseline['top1_accuracy']:.3f} ({how})")
    lines.append(f"underfitting form (stopped early / capacity) right in {summary['underfitting_form_accuracy']:.2f} "
                 f"of the underfitting runs named right ({summary['underfitting_no_fit_runs']} more never fitted at "
                 "all, which cannot tell the form)")
    lines.append(f"runs: {summary['runs']}, scored: {summary['runs_scored']}, premise failed: "
                 f"{len(summary['premise_failed'])}")
    for failed in summary["premise_failed"]:
        lines.append(f"  premise failed: {failed['case']}: {failed['why']}")
    lines.append(f"figures in sentences that metrics.csv or summary.json contradict: {len(summary['sentence_problems'])}"
                 " (fault_suite/sentences.py)")
    for problem in summary["sentence_problems"]:
        lines.append(f"  {problem['case']}: {problem['problem']}")
    best_baseline = max(baseline["top1_accuracy"] for baseline in summary["baselines"].values())
    lines.append(f"top-1 {summary['top1_accuracy']:.3f}, false alarms {summary['false_alarm_rate']:.3f}, "
                 f"ECE {summary['ece']:.3f}, rule baseline {best_baseline:.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="every fault on the synthetic task, one seed")
    parser.add_argument("--development", action="store_true",
                        help="the runs the rules were written on (seeds 0-1), instead of the held-out suite")
    parser.add_argument("--datasets", help="comma-separated data sets (default: all four)")
    parser.add_argument("--seeds", help="comma-separated seeds (default: the plan's, 2,3,4 for the full suite; pass fresh ones for a held-out measurement)")
    parser.add_argument("--faults", help="comma-separated faults (default: all)")
    parser.add_argument("--workers", type=int, default=2, help="training processes (one torch thread each)")
    parser.add_argument("--cache", default="runs/suite", help="where runs are trained and kept")
    parser.add_argument("--rebuild", action="store_true", help="retrain runs even when cached")
    parser.add_argument("--show-runs", action="store_true", help="print every run's verdict")
    parser.add_argument("--json", help="where to write the results (default benchmarks/results/...)")
    args = parser.parse_args(argv)
    plan = QUICK if args.quick else DEVELOPMENT if args.development else FULL
    datasets = args.datasets.split(",") if args.datasets else list(plan["datasets"])
    seeds = [int(seed) for seed in args.seeds.split(",")] if args.seeds else list(plan["seeds"])
    fault_names = args.faults.split(",") if args.faults else list(FAULTS)
    if "healthy" not in fault_names:
        fault_names.append("healthy")  # every premise is judged against the healthy run
    chosen = cases(datasets, seeds, fault_names)
    cache = Path(args.cache)
    started = time.perf_counter()
    train_seconds = train_cases(chosen, cache, workers=args.workers, rebuild=args.rebuild)
    scored_started = time.perf_counter()
    runs = [score_run(case, cache) for case in chosen]
    diagnose_seconds = time.perf_counter() - scored_started
    summary = summarise(runs)
    summary.update({"datasets": datasets, "seeds": seeds, "train_seconds": train_seconds,
                    "diagnose_seconds": diagnose_seconds, "wall_seconds": time.perf_counter() - started,
                    "per_run": [vars(run) for run in runs]})
    if args.show_runs:
        for run in runs:
            mark = "ok " if run.correct else ("-- " if not run.premise else "XX ")
            print(f"{mark}{run.dataset:16s} {run.fault:22s} s{run.seed} truth={run.truth:22s} "
                  f"top={run.top:22s} {run.confidence:.2f} {run.top_form or ''}")
    print(f"{len(runs)} runs; training {train_seconds:.0f} s (cached runs not retrained), diagnosis "
          f"{diagnose_seconds:.1f} s")
    print(format_report(summary))
    name = "quick" if args.quick else "development" if args.development else "heldout"
    out = Path(args.json) if args.json else RESULTS / f"bench_diagnosis_suite_{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1, default=float) + "\n")
    return summary


if __name__ == "__main__":
    main()
