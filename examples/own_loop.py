"""Diagnose a model trained in your own loop: a GRU (not lossgap's model), a plain DataLoader, an ordinary loop.

The lines marked ``# lossgap`` are everything diagnosis adds to the loop: the import, one Recorder,
``recorder.observe(model, optimizer)`` (optional: gradient norms, update ratios and GRU gate saturation per epoch,
written as ``optimization.csv``, and the settings the diagnosis checks: hidden size, dropout, learning rate,
weight decay), one ``recorder.update`` per split inside the loop, ``recorder.end_epoch()`` after each
epoch, and two lines at the end that write the run directory and print the diagnosis. The only other
requirement is that each batch carries the sample ids (here the TensorDataset holds them beside x and y).

    python examples/own_loop.py --out runs/own_loop --epochs 15
    lossgap report runs/own_loop      # the same run, as curves and an HTML report
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lossgap  # lossgap

CLASS_NAMES = ["negative", "positive"]


class GRUClassifier(nn.Module):
    """A user's own model: a GRU reading the sequence, a linear head on its last hidden state."""

    def __init__(self, features: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, classes) for x of shape (batch, time, features)."""
        _, last = self.gru(x)
        return self.head(last[-1])


def make_datasets(samples: int = 600, length: int = 20, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """Train (80%) and val (20%) TensorDatasets of (sample id, x, y) for a learnable sequence task.

    The label says whether the first feature summed over time is positive, judged with noise: about 10% of
    the samples sit close enough to zero that their label is a coin flip, so accuracy has a ceiling near
    90% while the loss can keep falling: the situation lossgap diagnoses.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, length, 2)).astype(np.float32)
    judged_sum = x[:, :, 0].sum(axis=1) + 0.25 * np.sqrt(length) * rng.standard_normal(samples)
    y = (judged_sum > 0).astype(np.int64)
    ids = torch.arange(samples)
    inputs, labels = torch.from_numpy(x), torch.from_numpy(y)
    cut = int(0.8 * samples)
    return (TensorDataset(ids[:cut], inputs[:cut], labels[:cut]),
            TensorDataset(ids[cut:], inputs[cut:], labels[cut:]))


@dataclass(frozen=True, eq=False)
class LoopResult:
    """What the loop produced: the run directory, the final model, and the loop's own per-epoch figures.

    ``train_loss`` is the mean training cross-entropy over samples (nats) from the training pass;
    ``val_accuracy`` the fraction of val samples predicted correctly after each epoch.
    """

    run_dir: Path
    model: GRUClassifier
    train_loss: list[float]
    val_accuracy: list[float]


def train(out: Path, epochs: int, seed: int = 0) -> LoopResult:
    """Train the GRU with Adam, validating after every epoch, and record the run into ``out``."""
    torch.manual_seed(seed)
    train_set, val_set = make_datasets(seed=seed)
    train_loader = DataLoader(train_set, batch_size=32, shuffle=True,
                              generator=torch.Generator().manual_seed(seed))
    val_loader = DataLoader(val_set, batch_size=256)
    model = GRUClassifier(features=2, hidden=32, classes=len(CLASS_NAMES))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
    loss_function = nn.CrossEntropyLoss()
    train_losses: list[float] = []
    val_accuracies: list[float] = []
    recorder = lossgap.Recorder()  # lossgap
    recorder.observe(model, optimizer)  # lossgap
    for epoch in range(1, epochs + 1):
        model.train()
        loss_sum = 0.0
        for ids, x, y in train_loader:
            logits = model(x)
            loss = loss_function(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(y)
            recorder.update("train", ids, logits, y)  # lossgap
        model.eval()
        correct = 0
        with torch.inference_mode():
            for ids, x, y in val_loader:
                logits = model(x)
                correct += int((logits.argmax(dim=1) == y).sum())
                recorder.update("val", ids, logits, y)  # lossgap
        recorder.end_epoch()  # lossgap
        train_losses.append(loss_sum / len(train_set))
        val_accuracies.append(correct / len(val_set))
        print(f"epoch {epoch:3d}  train loss {train_losses[-1]:.4f}  val accuracy {val_accuracies[-1]:.3f}")
    # overwrite=True: rerunning the example replaces its previous run; inputs (optional): what the model saw, per split,
    # so that a val prepared otherwise than train is named.
    lossgap.save_recorded_run(recorder, out, class_names=CLASS_NAMES, overwrite=True,  # lossgap
                              inputs={"train": train_set.tensors[1], "val": val_set.tensors[1]})
    return LoopResult(run_dir=out, model=model, train_loss=train_losses, val_accuracy=val_accuracies)


def main(argv: list[str] | None = None) -> Path:
    """Train, record, write the run directory and print its diagnosis; returns the run directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/own_loop"), help="run directory to write")
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    args = parser.parse_args(argv)
    result = train(args.out, args.epochs)
    print(lossgap.diagnose(result.run_dir).to_text())  # lossgap
    return result.run_dir


if __name__ == "__main__":
    main()
