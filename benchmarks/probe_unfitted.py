"""Models that never left the prior, and models that memorised: labels without signal against rules not yet found.

A model at the constant guess, or one that memorised its training set while val stayed at chance, reads the same
whether the labels carry no signal or the model has not found the rule they follow. This probe trains both kinds,
judged by construction rather than by any rule: shuffled labels (2 and 4 classes of Gaussian sequences) against
learnable rules an LSTM finds hard (the parity of 3 bits, sign(x0 * x39) over 40 steps, a label in step 3 of 150),
each under a grid of settings (hidden 16 / 64 / 256, Adam 0.01 or 0.001, early stopping 5 or 10 or none). Every run
is diagnosed; each run whose first remedy is a command is then followed once (that command trained and diagnosed),
so the table shows where the advice leads. A reference run shows each learnable rule can be learned (64 units, Adam
0.003, 150 epochs). One row per run: task, truth, settings, verdict and confidence, the first remedy, and the
verdict after following it.

    .venv/bin/python benchmarks/probe_unfitted.py [--out runs/probe_unfitted] [--seed 1] [--no-follow]

Session 38's figures (docs/diagnosis_rules.md, "Added in session 38") were measured with this grid.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np

#: (name, truth) of the tasks: "none" for shuffled labels, "rule" for a learnable rule.
TASKS = (("rand2", "none"), ("rand4", "none"), ("par3", "rule"), ("xor40", "rule"), ("early150", "rule"))
#: The settings every task is trained under.
GRID = {"c1": ["--epochs", "40", "--early-stopping", "10"],
        "c2": ["--hidden", "64", "--epochs", "40", "--early-stopping", "5"],
        "c3": ["--lr", "0.001", "--epochs", "20"],
        "c4": ["--hidden", "256", "--epochs", "40", "--early-stopping", "5"]}
#: What shows a rule is learnable.
REFERENCE = ["--hidden", "64", "--lr", "0.003", "--epochs", "150", "--early-stopping", "40"]


def make_task(name: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(inputs (N, T, F) float32, labels (N,)) of task ``name``."""
    if name == "rand2":
        return rng.normal(size=(600, 20, 3)).astype(np.float32), rng.integers(0, 2, 600)
    if name == "rand4":
        return rng.normal(size=(1200, 30, 5)).astype(np.float32), rng.integers(0, 4, 1200)
    if name == "par3":
        bits = rng.integers(0, 2, size=(1200, 3))
        inputs = rng.normal(scale=0.3, size=(1200, 23, 1))
        inputs[:, :3, 0] = 2 * bits - 1
        return inputs.astype(np.float32), bits.sum(axis=1) % 2
    if name == "xor40":
        inputs = rng.normal(size=(1200, 40, 2))
        return inputs.astype(np.float32), (inputs[:, 0, 0] * inputs[:, -1, 0] > 0).astype(int)
    labels = rng.integers(0, 3, 900)
    inputs = rng.normal(size=(900, 150, 2))
    inputs[np.arange(900), 3, 0] += 2.0 * (labels - 1)
    return inputs.astype(np.float32), labels


def train(data: Path, args: list[str], out: Path) -> dict:
    """Train (one torch thread) unless ``out`` holds a finished run; its diagnosis.json."""
    if not (out / "diagnosis.json").exists():
        command = [sys.executable, "-m", "lossgap", "train", str(data), *args, "--threads", "1", "--out", str(out),
                   "--overwrite"]
        done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        if done.returncode != 0:
            raise SystemExit(f"training {out.name} failed: {done.stderr.strip().splitlines()[-1]}")
    return json.loads((out / "diagnosis.json").read_text())


def top(diagnosis: dict) -> str:
    """'cause/form 0.80' of the top verdict, or the headline's opening words."""
    if diagnosis["verdicts"]:
        verdict = diagnosis["verdicts"][0]
        form = verdict["evidence"].get("form")
        return f"{verdict['cause']}{'/' + form if form else ''} {verdict['confidence']:.2f}"
    return diagnosis["headline"].split(":")[0]


def follow(diagnosis: dict, out: Path) -> tuple[str, str]:
    """(first remedy's name, verdict after training its command), or ("-", "") when it has no command."""
    remedies = diagnosis["verdicts"][0]["remedies"] if diagnosis["verdicts"] else []
    if not remedies or not remedies[0].get("command"):
        return "-", ""
    first = remedies[0]
    words = shlex.split(first["command"])[2:]
    data, options = Path(words[0]), words[1:]
    # train() gives the thread count and the run directory itself.
    dropped = {index + offset for index, word in enumerate(options) if word in ("--out", "--threads")
               for offset in (0, 1)}
    options = [word for index, word in enumerate(options) if index not in dropped]
    return first["name"], top(train(data, options, out.with_name(out.name + "-" + first["name"])))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/probe_unfitted")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-follow", action="store_true", help="do not train the first remedies")
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    print(f"{'task':9s} {'truth':5s} {'run':4s} {'verdict':34s} {'first remedy':14s} after it")
    for name, truth in TASKS:
        inputs, labels = make_task(name, rng)
        data = out / f"{name}_s{args.seed}.npz"
        np.savez(data, X=inputs, y=labels)
        runs = dict(GRID, **({"ref": REFERENCE} if truth == "rule" else {}))
        for tag, options in runs.items():
            run = out / f"{name}_s{args.seed}_{tag}"
            diagnosis = train(data, options, run)
            name_first, after = ("-", "") if args.no_follow or tag == "ref" else follow(diagnosis, run)
            print(f"{name:9s} {truth:5s} {tag:4s} {top(diagnosis):34s} {name_first:14s} {after}", flush=True)


if __name__ == "__main__":
    main()
