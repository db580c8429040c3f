"""Diagnose a model trained in your own loop: a GRU (not lossgap's model), a plain DataLoader, five added lines.

The loop below is an ordinary PyTorch loop; the lines marked ``# lossgap`` are all that diagnosis needs:
the DataLoader yields each sample's index, the Recorder gets (ids, logits, targets) per batch, and at the
end the run directory is written and diagnosed.

    python examples/own_loop.py --out runs/own_loop --epochs 15
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lossgap import Recorder, diagnose, save_recorded_run  # lossgap


class GRUClassifier(nn.Module):
    """A user's own model: a GRU reading the sequence, a linear head on the last hidden state."""

    def __init__(self, features: int, hidden: int, classes: int) -> None:
        super().__init__()
        self.gru = nn.GRU(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, last = self.gru(x)
        return self.head(last[-1])


def make_data(samples: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A learnable task: is the running sum of the sequence positive at the end? (length 20, 2 features)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((samples, 20, 2)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > 0).astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def main(argv: list[str] | None = None) -> Path:
    """Train, record, write the run directory and print its diagnosis; returns the run directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/own_loop"))
    parser.add_argument("--epochs", type=int, default=15)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    x, y = make_data(600, seed=0)
    ids = torch.arange(len(y))
    train_ids, val_ids = ids[:480], ids[480:]
    train_loader = DataLoader(TensorDataset(train_ids, x[train_ids], y[train_ids]), batch_size=32, shuffle=True)
    val_loader = DataLoader(TensorDataset(val_ids, x[val_ids], y[val_ids]), batch_size=256)
    model = GRUClassifier(2, 32, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
    loss_function = nn.CrossEntropyLoss()
    recorder = Recorder()  # lossgap
    for _ in range(args.epochs):
        model.train()
        for batch_ids, batch_x, batch_y in train_loader:
            logits = model(batch_x)
            loss = loss_function(logits, batch_y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            recorder.update("train", batch_ids, logits, batch_y)  # lossgap
        model.eval()
        with torch.inference_mode():
            for batch_ids, batch_x, batch_y in val_loader:
                recorder.update("val", batch_ids, model(batch_x), batch_y)  # lossgap
        recorder.end_epoch()  # lossgap
    save_recorded_run(recorder, args.out, class_names=["negative", "positive"], overwrite=True)  # lossgap
    print(diagnose(args.out).to_text())  # lossgap
    return args.out


if __name__ == "__main__":
    main()
