"""Diagnose a Lightning run: add LossgapCallback, return the logits from your steps, put sample ids in batches.

    python examples/lightning_example.py --out runs/lightning --epochs 10
    lossgap report runs/lightning      # curves and an HTML report of the same run
"""

from __future__ import annotations

import argparse
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import lossgap
from lossgap.integrations.lightning import LossgapCallback


class SequenceModel(pl.LightningModule):
    """A small LSTM classifier whose steps return the loss and the logits (the logits are what is recorded)."""

    def __init__(self, features: int = 2, hidden: int = 16, classes: int = 2, lr: float = 0.005) -> None:
        super().__init__()
        self.lr = lr
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, classes) for x of shape (batch, time, features)."""
        _, (last, _) = self.lstm(x)
        return self.head(last[-1])

    def training_step(self, batch, batch_idx):
        _, x, y = batch  # (ids, x, y): the ids are for the callback
        logits = self(x)
        return {"loss": nn.functional.cross_entropy(logits, y), "logits": logits}

    def validation_step(self, batch, batch_idx):
        _, x, y = batch
        logits = self(x)
        return {"loss": nn.functional.cross_entropy(logits, y), "logits": logits}

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def make_loaders(samples: int = 400, seed: int = 0, val_batch_size: int = 64) -> tuple[DataLoader, DataLoader]:
    """Train (80%) and val (20%) loaders of (ids, x, y) batches for a learnable task.

    The label is the sign of the first feature summed over 20 steps; the ids are the sample indices.
    """
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, 20, 2, generator=generator)
    y = (x[:, :, 0].sum(dim=1) > 0).long()
    ids = torch.arange(samples)
    cut = int(0.8 * samples)
    train = TensorDataset(ids[:cut], x[:cut], y[:cut])
    val = TensorDataset(ids[cut:], x[cut:], y[cut:])
    return (DataLoader(train, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(seed)),
            DataLoader(val, batch_size=val_batch_size))


def main(argv: list[str] | None = None) -> Path:
    """Fit with the callback, then print the diagnosis; returns the run directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/lightning"), help="run directory to write")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs")
    args = parser.parse_args(argv)
    pl.seed_everything(0, verbose=False)
    train_loader, val_loader = make_loaders()
    trainer = pl.Trainer(max_epochs=args.epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu",
                         callbacks=[LossgapCallback(args.out, overwrite=True)])
    trainer.fit(SequenceModel(), train_loader, val_loader)
    print(lossgap.diagnose(args.out).to_text())
    return args.out


if __name__ == "__main__":
    main()
