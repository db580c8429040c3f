"""Suspected mislabelled samples: lossgap's one training run against cleanlab's five-fold confident learning.

For each data set, noise kind, noise rate and seed: the data set's train and test splits are pooled and split
again, stratified, into 70% train and 30% val (train + test, because ItalyPowerDemand's own train split holds
67 series). Labels are then flipped, with known ids:

- ``symmetric``: exactly round(rate x N) samples, drawn uniformly, each moved to a uniformly drawn *other* class;
- ``class-conditional``: pair flips (Han et al. 2018): from every class c exactly round(rate x n_c) samples
  move to class (c + 1) mod K. With two classes only class 0 -> 1 flips (a two-way pair flip would be
  symmetric noise), so there the share of flipped samples is about rate / 2;
- ``none``: no flips; every flagged sample is a false alarm (the CONTROLS cases: rare classes, a model too
  small, jumping weights).

The val split gets the same kind and rate of noise (its own draw): whoever labelled the training data also
labelled the validation data, and both methods choose their epoch on that same val split, so neither is
favoured; ``--clean-val`` keeps val clean instead (an oracle that flatters both).

Methods, all fed the same noisy train split and the same val split:

- ``lossgap``: ONE ``lossgap.api.train`` run on an .npz file; suspects = ``suspected_mislabeled`` of the train
  split's dynamics up to the smoothed val-loss minimum, exactly as the diagnosis computes them.
- ``cleanlab-lstm``: ``cleanlab.filter.find_label_issues(labels, pred_probs)`` (defaults) with out-of-fold
  probabilities: the same configuration trained by lossgap's own trainer on 4 of 5 stratified folds (same
  epochs, same early stopping on the same val split), each predicting its held-out fold at the delivered epoch.
- ``cleanlab-logreg``: the same with a scikit-learn logistic regression on the flattened padded features.

Scores: precision, recall and F1 of the flagged set against the flipped ids; seconds of everything each method
needs (training, reading the run, finding issues). Runs with ``torch.set_num_threads(1)``.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_label_noise.py [--quick] [--seeds 3] [--first-seed 0]
        [--datasets JapaneseVowels,ItalyPowerDemand] [--no-controls] [--clean-val] [--json PATH]

Needs ``pip install -e '.[bench,data]'`` (cleanlab, aeon; scikit-learn comes with aeon).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from cleanlab.filter import find_label_issues  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import lossgap  # noqa: E402
from lossgap.analysis import analyze_generalization, sample_dynamics, suspected_mislabeled  # noqa: E402
from lossgap.api import train  # noqa: E402
from lossgap.data.aeon_source import load_aeon  # noqa: E402
from lossgap.data.synthetic import generate_synthetic  # noqa: E402
from lossgap.training.config import (DataConfig, EarlyStoppingConfig, ModelConfig, OptimizerConfig,  # noqa: E402
                                     TrainConfig)

#: One configuration for every method and fold: the README's recommendation for real data, made cheaper
#: (32 units, batch 32, patience 10, at most 60 epochs) so that the 6 trainings of a cell take ~30 s.
CONFIG = TrainConfig(
    model=ModelConfig(hidden_size=32, bidirectional=True, readout="auto", patch_length="auto"),
    optimizer=OptimizerConfig(name="adamw", lr=0.005, weight_decay=1e-4, clip_grad=1.0),
    early_stopping=EarlyStoppingConfig(patience=10, monitor="val_loss"),
    epochs=60, batch_size=32,
)
DATASETS = ("JapaneseVowels", "ItalyPowerDemand")
NOISE = (("symmetric", 0.1), ("symmetric", 0.2), ("symmetric", 0.4),
         ("class-conditional", 0.1), ("class-conditional", 0.2), ("class-conditional", 0.4))
QUICK_NOISE = (("symmetric", 0.2), ("class-conditional", 0.4))
#: Cases beside the grid (left out with ``--no-controls``), each (data, noise, rate, config overrides). Without
#: flips, where every suspect is a false alarm: rare hard classes (90/5/5, where rare-class samples used to be
#: flagged), a model far too small (hidden size 1), an optimiser whose weights jump (SGD at lr 3). With flips:
#: rare classes the model can learn (80/10/10), 10% symmetric.
CONTROLS = (
    ("synthetic:sum-sign,samples=800,classes=3,shares=90/5/5,sigma=1.0", "none", 0.0, {}),
    ("JapaneseVowels", "none", 0.0, {"model": {"hidden_size": 1, "bidirectional": False}}),
    ("ItalyPowerDemand", "none", 0.0, {"optimizer": {"name": "sgd", "lr": 3.0, "clip_grad": None}}),
    ("synthetic:frequency,samples=1000,classes=3,shares=80/10/10,sigma=0.8", "symmetric", 0.1, {}),
)
METHODS = ("lossgap", "cleanlab-lstm", "cleanlab-logreg")
FOLDS = 5
VAL_SHARE = 0.3


def load_pool(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All samples of a data set (aeon: its train and test splits; or a ``synthetic:`` source): features
    float32 (N, T, F) zero-padded, lengths (N,), clean labels int (N,)."""
    if name.startswith("synthetic:"):
        made = generate_synthetic(name)
        parts = [made.data] + ([made.test] if made.test is not None else [])
    else:
        parts = list(load_aeon(name))
    width = max(part.features.shape[1] for part in parts)
    features = np.concatenate([np.pad(part.features, ((0, 0), (0, width - part.features.shape[1]), (0, 0)))
                               for part in parts])
    return features, np.concatenate([part.lengths for part in parts]), np.concatenate([part.labels for part in parts])


def flip_labels(labels: np.ndarray, kind: str, rate: float, num_classes: int,
                rng: np.random.Generator) -> np.ndarray:
    """Noisy copy of ``labels`` as the module docstring defines ``kind`` (symmetric, class-conditional, none)."""
    noisy = labels.copy()
    if kind == "symmetric":
        chosen = rng.choice(labels.size, size=int(round(rate * labels.size)), replace=False)
        noisy[chosen] = (labels[chosen] + rng.integers(1, num_classes, size=chosen.size)) % num_classes
    elif kind == "class-conditional":
        for source in range(num_classes if num_classes > 2 else 1):
            members = np.flatnonzero(labels == source)
            chosen = rng.choice(members, size=int(round(rate * members.size)), replace=False)
            noisy[chosen] = (source + 1) % num_classes
    elif kind != "none":
        raise ValueError(f"unknown noise kind {kind!r}")
    return noisy


def write_npz(path: Path, features, lengths, labels, ids, val, test=None) -> Path:
    """An .npz data file (train arrays, fixed ``_val`` split, optional ``_test``) as lossgap reads it."""
    arrays = {"X": features, "lengths": lengths, "y": labels, "ids": ids}
    for suffix, part in (("_val", val), ("_test", test)):
        if part is not None:
            arrays.update({f"X{suffix}": part[0], f"lengths{suffix}": part[1], f"y{suffix}": part[2],
                           f"ids{suffix}": part[3]})
    np.savez(path, **arrays)
    return path


def config_for(source: Path, seed: int, overrides: dict) -> TrainConfig:
    """CONFIG on ``source`` with ``seed``; ``overrides`` maps "model"/"optimizer" to fields to change."""
    return CONFIG.model_copy(update={
        "data": DataConfig(source=str(source)), "seed": seed,
        **{part: getattr(CONFIG, part).model_copy(update=fields) for part, fields in overrides.items()}})


def lossgap_suspects(config: TrainConfig, out: Path) -> tuple[np.ndarray, dict]:
    """Ids lossgap suspects after one training run, and details (seconds, epochs, extra Suspects fields)."""
    started = time.perf_counter()
    train(config, out, overwrite=True, diagnose_run=False)
    run = lossgap.read_run(out)
    dynamics = run.dynamics["train"]
    # As the diagnosis does: statistics up to the smoothed val-loss minimum.
    best = analyze_generalization(run.metrics["train_loss"], run.metrics["val_loss"],
                                  patience=config.early_stopping.patience).best_epoch or dynamics.num_epochs
    suspects = suspected_mislabeled(sample_dynamics(dynamics, until_epoch=max(2, min(best, dynamics.num_epochs))))
    seconds = time.perf_counter() - started
    details = {key: value for key, value in suspects.to_dict().items()
               if key not in ("sample_ids", "indices", "scores")}
    return np.asarray(suspects.sample_ids), {"seconds": seconds, "epochs_run": run.summary["epochs_run"],
                                             "until_epoch": best, "suspects": details}


def out_of_fold_lstm(config: TrainConfig, train_part, val_part, seed: int, tmp: Path) -> tuple[np.ndarray, float]:
    """Out-of-fold class probabilities (N, K) of the train split from FOLDS lossgap runs, and their seconds."""
    features, lengths, labels, ids = train_part
    num_classes = int(max(labels.max(), val_part[2].max())) + 1
    probabilities = np.zeros((labels.size, num_classes))
    position = {sample_id: index for index, sample_id in enumerate(ids.tolist())}
    started = time.perf_counter()
    folds = StratifiedKFold(FOLDS, shuffle=True, random_state=seed)
    for fold, (fit, held) in enumerate(folds.split(features, labels)):
        source = write_npz(tmp / f"fold{fold}.npz", features[fit], lengths[fit], labels[fit], ids[fit], val_part,
                           test=(features[held], lengths[held], labels[held], ids[held]))
        run_dir = tmp / f"fold{fold}"
        train(config.model_copy(update={"data": DataConfig(source=str(source))}), run_dir, overwrite=True,
              diagnose_run=False)
        run = lossgap.read_run(run_dir)
        test = run.dynamics["test"]
        logits = test.logits[run.summary["delivered_epoch"] - 1].astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        rows = [position[sample_id] for sample_id in np.asarray(test.sample_ids).tolist()]
        probabilities[rows] = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, time.perf_counter() - started


def out_of_fold_logreg(train_part, seed: int) -> tuple[np.ndarray, float]:
    """Out-of-fold probabilities of a standardised logistic regression on flattened features, and seconds."""
    features, _, labels, _ = train_part
    started = time.perf_counter()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    probabilities = cross_val_predict(model, features.reshape(len(features), -1), labels, method="predict_proba",
                                      cv=StratifiedKFold(FOLDS, shuffle=True, random_state=seed))
    return probabilities, time.perf_counter() - started


def cleanlab_flags(labels: np.ndarray, probabilities: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, float]:
    """Ids cleanlab's find_label_issues flags (default filter_by="prune_by_noise_rate"), and seconds."""
    started = time.perf_counter()
    mask = find_label_issues(labels=labels, pred_probs=probabilities)
    return ids[mask], time.perf_counter() - started


def scores(flagged_ids: np.ndarray, flipped_ids: np.ndarray) -> dict:
    """Precision, recall, F1 of the flagged ids against the flipped ids (None where undefined), and counts."""
    hits = np.intersect1d(flagged_ids, flipped_ids).size
    precision = hits / flagged_ids.size if flagged_ids.size else None
    recall = hits / flipped_ids.size if flipped_ids.size else None
    f1 = 2 * hits / (flagged_ids.size + flipped_ids.size) if flipped_ids.size else None
    return {"precision": precision, "recall": recall, "f1": f1, "flagged": int(flagged_ids.size),
            "flipped": int(flipped_ids.size)}


def run_cell(data: str, kind: str, rate: float, seed: int, tmp: Path, *, clean_val: bool,
             overrides: dict | None = None, pool=None) -> list[dict]:
    """All methods on one (data, noise, seed) cell; returns one result row per method."""
    features, lengths, clean = pool if pool is not None else load_pool(data)
    num_classes = int(clean.max()) + 1
    ids = np.arange(clean.size, dtype=np.int64)
    train_ids, val_ids = train_test_split(ids, test_size=VAL_SHARE, stratify=clean, random_state=seed)
    rng = np.random.default_rng(seed)
    noisy = clean.copy()
    noisy[train_ids] = flip_labels(clean[train_ids], kind, rate, num_classes, rng)
    if not clean_val:
        noisy[val_ids] = flip_labels(clean[val_ids], kind, rate, num_classes, rng)
    flipped = train_ids[noisy[train_ids] != clean[train_ids]]
    train_part = (features[train_ids], lengths[train_ids], noisy[train_ids], train_ids)
    val_part = (features[val_ids], lengths[val_ids], noisy[val_ids], val_ids)
    config = config_for(write_npz(tmp / "data.npz", *train_part, val_part), seed, overrides or {})

    base = {"data": data, "noise": kind, "rate": rate, "seed": seed, "overrides": overrides or {},
            "train_samples": int(train_ids.size), "val_samples": int(val_ids.size), "clean_val": clean_val}
    flagged, details = lossgap_suspects(config, tmp / "lossgap")
    rows = [{**base, "method": "lossgap", **scores(flagged, flipped), **details}]
    probabilities, seconds = out_of_fold_lstm(config, train_part, val_part, seed, tmp)
    flagged, find_seconds = cleanlab_flags(train_part[2], probabilities, train_ids)
    rows.append({**base, "method": "cleanlab-lstm", **scores(flagged, flipped), "seconds": seconds + find_seconds})
    probabilities, seconds = out_of_fold_logreg(train_part, seed)
    flagged, find_seconds = cleanlab_flags(train_part[2], probabilities, train_ids)
    rows.append({**base, "method": "cleanlab-logreg", **scores(flagged, flipped), "seconds": seconds + find_seconds})
    return rows


def _mean(rows: list[dict], key: str) -> float | None:
    values = [row[key] for row in rows if row[key] is not None]
    return statistics.mean(values) if values else None


def summarise(rows: list[dict]) -> list[dict]:
    """Mean over seeds of each (data, model, noise, rate, method) cell."""
    cells: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["data"], json.dumps(row["overrides"], sort_keys=True), row["noise"], row["rate"], row["method"])
        cells.setdefault(key, []).append(row)
    return [{"data": key[0], "overrides": json.loads(key[1]), "noise": key[2], "rate": key[3], "method": key[4],
             "seeds": len(group), **{name: _mean(group, name) for name in
                                     ("precision", "recall", "f1", "flagged", "flipped", "seconds")}}
            for key, group in cells.items()]


def overall_figures(summary: list[dict]) -> dict:
    """Per method over the cells with flips: mean F1, total seconds, and for lossgap how many cells it matches."""
    cells = [cell for cell in summary if cell["f1"] is not None]
    by_key = {(cell["data"], json.dumps(cell["overrides"]), cell["noise"], cell["rate"], cell["method"]): cell
              for cell in cells}
    out = {}
    for method in METHODS:
        mine = [cell for cell in cells if cell["method"] == method]
        out[method] = {"mean_f1": statistics.mean(c["f1"] for c in mine) if mine else None,
                       "seconds": sum(c["seconds"] for c in mine), "cells": len(mine)}
    for rival, name in (("cleanlab-lstm", "cells_at_least_lstm"), ("cleanlab-logreg", "cells_at_least_logreg")):
        out["lossgap"][name] = sum(
            1 for cell in cells if cell["method"] == "lossgap"
            and cell["f1"] >= by_key[(cell["data"], json.dumps(cell["overrides"]), cell["noise"], cell["rate"],
                                      rival)]["f1"] - 1e-12)
    return out


def short_name(data: str) -> str:
    """A data set's name for tables: the aeon name, or the synthetic task with its class shares."""
    if not data.startswith("synthetic:"):
        return data
    options = dict(part.split("=") for part in data.split(",")[1:] if "=" in part)
    return data.split(",")[0].removeprefix("synthetic:") + (f" {options['shares']}" if "shares" in options else "")


def print_table(summary: list[dict], title: str) -> None:
    """One line per cell: F1 (precision/recall) and seconds of each method."""
    def fmt(value, digits=2):
        return "-" if value is None else f"{value:.{digits}f}"

    table = Table(title=title)
    for column in ("data", "noise", "flipped", *METHODS):
        table.add_column(column, justify="left" if column in ("data", "noise") else "right")
    lines: dict[tuple, dict] = {}
    for cell in summary:
        changes = ",".join(f"{k}={v}" for part in cell["overrides"].values() for k, v in part.items())
        key = (short_name(cell["data"]) + (f" [{changes}]" if changes else ""), f"{cell['noise']} {cell['rate']:.0%}")
        lines.setdefault(key, {"flipped": cell["flipped"]})[cell["method"]] = cell
    for (data, noise), cells in lines.items():
        texts = []
        for method in METHODS:
            cell = cells.get(method)
            if cell is None:
                texts.append("-")
            elif cell["f1"] is None:  # no flips: report false alarms
                texts.append(f"{cell['flagged']:.1f} flagged, {fmt(cell['seconds'], 0)} s")
            else:
                texts.append(f"F1 {fmt(cell['f1'])} ({fmt(cell['precision'])}/{fmt(cell['recall'])}), "
                             f"{fmt(cell['seconds'], 0)} s")
        table.add_row(data, noise, f"{cells['flipped']:.0f}", *texts)
    Console(width=200).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--quick", action="store_true",
                        help=f"one seed, {QUICK_NOISE} and the 90/5/5 control only (about 2 minutes)")
    parser.add_argument("--no-controls", action="store_true", help="leave out the CONTROLS cases")
    parser.add_argument("--clean-val", action="store_true", help="keep the val split's labels clean")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_label_noise.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    seeds = range(args.first_seed, args.first_seed + (1 if args.quick else args.seeds))
    noise = QUICK_NOISE if args.quick else NOISE
    cases = [(name, kind, rate, {}) for name in args.datasets.split(",") for kind, rate in noise]
    if not args.no_controls:
        cases += list(CONTROLS[:1] if args.quick else CONTROLS)
    rows: list[dict] = []
    started = time.perf_counter()
    pools: dict[str, tuple] = {}
    for data, kind, rate, overrides in cases:
        pool = pools.setdefault(data, load_pool(data))
        for seed in seeds:
            with tempfile.TemporaryDirectory() as tmp:
                cell = run_cell(data, kind, rate, seed, Path(tmp), clean_val=args.clean_val,
                                overrides=overrides, pool=pool)
            rows += cell
            print(f"{short_name(data)} {kind} {rate:.0%} seed {seed}: " + ", ".join(
                f"{row['method']} F1 {row['f1'] if row['f1'] is None else round(row['f1'], 3)} "
                f"({row['flagged']} flagged / {row['flipped']} flipped, {row['seconds']:.1f} s)" for row in cell),
                flush=True)
    summary = summarise(rows)
    total = time.perf_counter() - started
    print_table(summary, f"Suspected mislabelled samples vs flipped ids, mean of {len(seeds)} seed(s); "
                         f"{'clean' if args.clean_val else 'noisy'} val; {total / 60:.1f} min in all")
    overall = overall_figures(summary)
    print("over the cells with flips: " + ", ".join(
        f"{method} mean F1 {figures['mean_f1']:.3f}, {figures['seconds']:.0f} s" for method, figures in overall.items()
        if figures["mean_f1"] is not None) + "; lossgap F1 >= cleanlab-lstm's in "
        f"{overall['lossgap']['cells_at_least_lstm']} of {overall['lossgap']['cells']} cells, >= cleanlab-logreg's in "
        f"{overall['lossgap']['cells_at_least_logreg']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "config": CONFIG.to_dict(), "folds": FOLDS, "val_share": VAL_SHARE, "clean_val": args.clean_val,
        "seeds": list(seeds), "total_seconds": total, "torch_threads": torch.get_num_threads(),
        "versions": {"lossgap": lossgap.__version__, "torch": torch.__version__,
                     "cleanlab": __import__("cleanlab").__version__, "python": platform.python_version()},
        "note": "seconds measured on a shared 2-core machine while other trainings ran (under load)",
        "overall": overall, "summary": summary, "runs": rows}, indent=2))


if __name__ == "__main__":
    main()
