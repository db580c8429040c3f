"""Training speed: lossgap's trainer (recording train + val every epoch) against the article's loop.

Both run in this one process, on the same data, the same model class and the same number of optimiser steps:

(a) the article's loop: a DataLoader over a TensorDataset, batch 16, shuffled, and accuracy over the training
    loader every 10 epochs (its "Loss" print is the last batch's, which costs nothing);
(b) lossgap's trainer: tensor-indexed batches of 16, plus an exact end-of-epoch evaluation of train and val
    recorded per sample, every epoch.

For the article's three experiments at 50 epochs each. Prints both times and the ratio (b)/(a); target <= 0.5.

    python benchmarks/bench_training.py [--repeats 3] [--epochs 50]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lossgap.data import load_data
from lossgap.training.once import model_for
from lossgap.demo import demo_experiments
from lossgap.training.recorder import Recorder
from lossgap.training.seeding import seeded
from lossgap.training.trainer import fit


def article_loop(config, splits) -> float:
    """Seconds for the article's way of training (a), on lossgap's train split."""
    train = splits.train
    dataset = TensorDataset(torch.from_numpy(train.features), torch.from_numpy(train.labels))
    with seeded(config.seed, torch.device("cpu")):
        model = model_for(config, splits)
        loader = DataLoader(dataset, batch_size=config.batch_size, shuffle=True)
        optimizer = torch.optim.Adam(model.parameters(), lr=config.optimizer.lr)
        loss_function = nn.CrossEntropyLoss()
        started = time.perf_counter()
        for epoch in range(config.epochs):
            for inputs, labels in loader:
                optimizer.zero_grad()
                loss = loss_function(model(inputs), labels)
                loss.backward()
                optimizer.step()
            if epoch % 10 == 0:
                with torch.no_grad():
                    correct = total = 0
                    for inputs, labels in loader:
                        correct += (model(inputs).argmax(dim=1) == labels).sum().item()
                        total += labels.size(0)
        return time.perf_counter() - started


def lossgap_loop(config, splits) -> float:
    """Seconds for lossgap's trainer with per-epoch train + val recording (b)."""
    with seeded(config.seed, torch.device("cpu")) as generator:
        model = model_for(config, splits)
        started = time.perf_counter()
        fit(model, splits, config, Recorder(), generator)
        return time.perf_counter() - started


def _first(data):
    experiment, splits = data[0]
    return experiment.config, splits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()
    experiments = demo_experiments(epochs=args.epochs)
    data = [(experiment, load_data(experiment.config.data, experiment.config.seed).splits)
            for experiment in experiments]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.repeats} repeats, "
          f"{args.epochs} epochs per experiment")
    article_times, lossgap_times = [], []
    article_loop(*_first(data)); lossgap_loop(*_first(data))  # warm-up: lazy imports, oneDNN caches
    for _ in range(args.repeats):
        # Interleaved so that machine noise hits both the same way.
        article_times.append(sum(article_loop(e.config, splits) for e, splits in data))
        lossgap_times.append(sum(lossgap_loop(e.config, splits) for e, splits in data))
    article, ours = statistics.median(article_times), statistics.median(lossgap_times)
    print(f"(a) article loop (DataLoader, train-set accuracy every 10 epochs): {article:.3f} s")
    print(f"(b) lossgap trainer (train + val recorded every epoch):            {ours:.3f} s")
    print(f"ratio (b)/(a): {ours / article:.2f}  (target <= 0.50)")


if __name__ == "__main__":
    main()
