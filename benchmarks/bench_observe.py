"""Cost of ``recorder.observe(model)``: seconds per epoch with and without the optimisation observer.

Four loops, each timed with and without observing, in this one process, alternating (A B A B ...) so that
load from other work hits both alike:

- tiny: lossgap's trainer on the article's data (``synthetic:random-labels``: 80 train sequences of 20 steps,
  batch 16, hidden 16: 5 optimiser steps and about 4 ms per epoch);
- small: lossgap's trainer on ``synthetic:frequency,samples=800`` (batch 16, hidden 16: 40 steps per epoch);
- medium: lossgap's trainer on ``synthetic:frequency,samples=2000,length=50`` (batch 32, hidden 64: 50 steps);
- own loop: ``examples/own_loop.py``'s GRU with a plain DataLoader (480 train sequences, batch 32: 15 steps).

An epoch is everything the loop does per epoch: training, the evaluation passes and recording (including the
observer's end-of-epoch gate statistics and host sync). Per loop it prints the median epoch with and without
observing and their ratio (the steady state; target <= 1.05), the ratio of whole runs, which includes the
densely measured first epoch, and the share of the run spent inside the observer's own code (its hooks and
end of epoch, timed directly: less sensitive to other load than the difference of two timings, but blind
to indirect costs such as autograd calling the hooks).

    python benchmarks/bench_observe.py [--repeats 5] [--epochs 10]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader

from lossgap.data import load_data
from lossgap.training.once import model_for
from lossgap.training.config import DataConfig, ModelConfig, TrainConfig
from lossgap.training.observer import OptimizationObserver
from lossgap.training.recorder import Recorder
from lossgap.training.seeding import seeded
from lossgap.training.trainer import fit

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "own_loop.py"


class UnobservedRecorder(Recorder):
    """A Recorder whose ``observe`` does nothing: lossgap's trainer without the observer, otherwise unchanged."""

    def observe(self, model, **options):
        return None


#: Seconds spent inside the observer's own code (its hooks and end_epoch) since the last reset.
OWN_TIME = [0.0]


class TimedObserver(OptimizationObserver):
    """The observer with a stopwatch around its hooks and its end of epoch (adds two clock reads per call)."""

    def _on_gradient(self, index, parameter):
        started = time.perf_counter()
        super()._on_gradient(index, parameter)
        OWN_TIME[0] += time.perf_counter() - started

    def end_epoch(self):
        started = time.perf_counter()
        observation = super().end_epoch()
        OWN_TIME[0] += time.perf_counter() - started
        return observation


class TimedRecorder(Recorder):
    """A Recorder whose ``observe`` attaches a :class:`TimedObserver`."""

    def observe(self, model, **options):
        self.stop_observing()
        self._observer = TimedObserver(model, **options)
        return self._observer


def trainer_epochs(config: TrainConfig, observe: bool) -> list[float]:
    """Seconds of each epoch of lossgap's trainer (the ``seconds`` column of metrics.csv)."""
    splits = load_data(config.data, config.seed).splits
    recorder = TimedRecorder() if observe else UnobservedRecorder()
    with seeded(config.seed, torch.device("cpu")) as generator:
        model = model_for(config, splits)
        result = fit(model, splits, config, recorder, generator)
    return [row["seconds"] for row in result.history]


def load_example():
    spec = importlib.util.spec_from_file_location("lossgap_example_own_loop", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def own_loop_epochs(example, epochs: int, observe: bool, record: bool = True) -> list[float]:
    """Seconds of each epoch of the own-loop example's GRU loop (train, validate, record, end_epoch); with
    ``record`` False the same loop without any Recorder call (the loop a user had before lossgap)."""
    torch.manual_seed(0)
    train_set, val_set = example.make_datasets(seed=0)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(0))
    val_loader = DataLoader(val_set, batch_size=256)
    model = example.GRUClassifier(features=2, hidden=32, classes=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
    loss_function = nn.CrossEntropyLoss()
    recorder = TimedRecorder()
    if observe:
        recorder.observe(model)
    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        model.train()
        for ids, x, y in train_loader:
            logits = model(x)
            loss = loss_function(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if record:
                recorder.update("train", ids, logits, y)
        model.eval()
        with torch.inference_mode():
            for ids, x, y in val_loader:
                logits = model(x)
                if record:
                    recorder.update("val", ids, logits, y)
                else:   # what a loop without lossgap computes: val loss and accuracy
                    loss_function(logits, y).item(), (logits.argmax(dim=1) == y).sum().item()
        if record:
            recorder.end_epoch()
        seconds.append(time.perf_counter() - started)
    recorder.stop_observing()
    return seconds


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run the benchmark; prints and returns the ratio observed / not observed per loop."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per loop and setting (alternating)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    def config(source: str, hidden: int, batch: int) -> TrainConfig:
        return TrainConfig(data=DataConfig(source=source), model=ModelConfig(hidden_size=hidden),
                           epochs=args.epochs, batch_size=batch)

    tiny = config("synthetic:random-labels", 16, 16)
    small = config("synthetic:frequency,samples=800", 16, 16)
    medium = config("synthetic:frequency,samples=2000,length=50", 64, 32)
    example = load_example()
    loops = {
        "tiny (trainer, article data, 5 steps)": lambda observe: trainer_epochs(tiny, observe),
        "small (trainer, 800 x 20, 40 steps)": lambda observe: trainer_epochs(small, observe),
        "medium (trainer, 2000 x 50, hidden 64)": lambda observe: trainer_epochs(medium, observe),
        "own loop (GRU example, DataLoader)": lambda observe: own_loop_epochs(example, args.epochs, observe),
    }
    ratios = {}
    for name, run in loops.items():
        run(True)  # warm-up: first-call costs (allocations, lazy imports) hit neither side
        epochs: dict[bool, list[float]] = {False: [], True: []}
        runs: dict[bool, list[float]] = {False: [], True: []}
        own = []
        for _ in range(args.repeats):
            for observe in (False, True):
                OWN_TIME[0] = 0.0
                seconds = run(observe)
                epochs[observe].extend(seconds)
                runs[observe].append(sum(seconds))
                if observe:
                    own.append(OWN_TIME[0] / sum(seconds))
        plain, observed = statistics.median(epochs[False]), statistics.median(epochs[True])
        ratios[name] = observed / plain
        whole = statistics.median(runs[True]) / statistics.median(runs[False])
        print(f"{name}: median epoch {plain * 1000:.1f} ms without, {observed * 1000:.1f} ms with observe: "
              f"ratio {ratios[name]:.3f}; whole runs of {args.epochs} epochs: ratio {whole:.3f}; time inside "
              f"the observer's hooks and end_epoch: {100 * statistics.median(own):.1f}% of the run")
    print(f"worst epoch ratio {max(ratios.values()):.3f} (target <= 1.05)")
    return ratios


if __name__ == "__main__":
    main()
