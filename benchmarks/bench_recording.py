"""What recording every sample costs: epochs with lossgap's recording against the same loop without it.

Two comparisons, each timed in this one process, alternating (A B A B ...), one torch thread:

(1) own loop: ``examples/own_loop.py``'s GRU loop (480 train sequences, batch 32, DataLoader) with its five
    lossgap lines (``recorder.update`` for train and val, ``end_epoch``; no ``observe``, which
    ``bench_observe.py`` measures) against the same loop computing val loss and accuracy itself;
(2) lossgap's trainer with ``--record-train pass`` (train dynamics taken from the training pass, val recorded
    per sample, optimisation evidence observed: what ``lossgap train ... --record-train pass`` does) against
    a hand-written loop doing the same training (same model, same tensor-indexed shuffled batches, Adam,
    gradient norm) and one val pass per epoch for loss and accuracy, with and without the optimisation
    observer; and the default ``--record-train eval``, whose extra end-of-epoch pass over train is the exact
    per-sample record (its cost is that pass).

Prints the median epoch of each and the ratio (target <= 1.05 for the recording itself).

    .venv/bin/python benchmarks/bench_recording.py [--repeats 5] [--epochs 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from bench_observe import UnobservedRecorder, load_example, own_loop_epochs
from lossgap.data import load_data
from lossgap.training.once import model_for
from lossgap.training.batching import DeviceSplit, contiguous_slices, shuffled_batches
from lossgap.training.config import DataConfig, ModelConfig, TrainConfig
from lossgap.training.optim import build_optimizer
from lossgap.training.recorder import Recorder
from lossgap.training.seeding import seeded
from lossgap.training.trainer import fit


def trainer_epochs(config: TrainConfig, observe: bool = True) -> list[float]:
    """Seconds of each epoch of lossgap's trainer (its metrics.csv ``seconds`` column); ``observe`` False
    leaves out the optimisation observer (``bench_observe.py`` measures it alone)."""
    splits = load_data(config.data, config.seed).splits
    with seeded(config.seed, torch.device("cpu")) as generator:
        model = model_for(config, splits)
        result = fit(model, splits, config, Recorder() if observe else UnobservedRecorder(), generator)
    return [row["seconds"] for row in result.history]


def bare_epochs(config: TrainConfig) -> list[float]:
    """Seconds of each epoch of a hand-written loop: the trainer's training, then val loss and accuracy."""
    splits = load_data(config.data, config.seed).splits
    device = torch.device("cpu")
    train, val = DeviceSplit.from_data(splits.train, device), DeviceSplit.from_data(splits.val, device)
    seconds = []
    with seeded(config.seed, device) as generator:
        model = model_for(config, splits)
        optimizer = build_optimizer(model, config.optimizer)
        loss_function = nn.CrossEntropyLoss()
        for _ in range(config.epochs):
            started = time.perf_counter()
            model.train()
            loss_sum, norms = torch.zeros(()), []
            for index in shuffled_batches(train.num_samples, config.batch_size, generator, device):
                logits = model(train.features[index], train.batch_lengths(index))
                loss = loss_function(logits, train.labels[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                norms.append(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()], foreach=True))
                optimizer.step()
                loss_sum += loss.detach() * index.numel()
            float(loss_sum), float(torch.stack(norms).mean())
            model.eval()
            with torch.inference_mode():
                total, right = 0.0, 0
                for index in contiguous_slices(val.num_samples, config.eval_batch_size):
                    logits = model(val.features[index], val.batch_lengths(index))
                    total += float(nn.functional.cross_entropy(logits, val.labels[index], reduction="sum"))
                    right += int((logits.argmax(dim=1) == val.labels[index]).sum())
            seconds.append(time.perf_counter() - started)
    return seconds


def compare(name: str, plain, recorded, repeats: int) -> float:
    """Time both alternately; prints and returns the ratio of median epochs recorded / plain."""
    plain(), recorded()   # warm-up: first-call costs hit neither side
    times: dict[str, list[float]] = {"plain": [], "recorded": []}
    for _ in range(repeats):
        times["plain"].extend(plain())
        times["recorded"].extend(recorded())
    without, with_ = statistics.median(times["plain"]), statistics.median(times["recorded"])
    print(f"{name}: median epoch {without * 1000:.1f} ms without, {with_ * 1000:.1f} ms with: "
          f"ratio {with_ / without:.3f}")
    return with_ / without


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per side (alternating)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per run")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    example = load_example()
    config = TrainConfig(data=DataConfig(source="synthetic:frequency,samples=2000"), model=ModelConfig(hidden_size=32),
                         epochs=args.epochs, batch_size=32)
    passing = config.model_copy(update={"record_train": "pass"})
    return {
        "own loop": compare("own loop (GRU example), Recorder vs none", lambda: own_loop_epochs(example, args.epochs,
                            observe=False, record=False), lambda: own_loop_epochs(example, args.epochs,
                            observe=False), args.repeats),
        "trainer, pass": compare("trainer --record-train pass vs hand-written loop (1600 x 20, hidden 32)",
                                 lambda: bare_epochs(passing), lambda: trainer_epochs(passing), args.repeats),
        "trainer, pass, no observer": compare("the same without the optimisation observer (the Recorder alone)",
                                              lambda: bare_epochs(passing), lambda: trainer_epochs(passing, False),
                                              args.repeats),
        "trainer, eval": compare("trainer --record-train eval (default) vs hand-written loop",
                                 lambda: bare_epochs(config), lambda: trainer_epochs(config), args.repeats),
    }


if __name__ == "__main__":
    main()
