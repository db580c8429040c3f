"""Diagnose a Lightning run: add LossgapCallback, return the logits from your steps, pass sample ids in batches.

    python examples/lightning_example.py --out runs/lightning --epochs 10
"""

from __future__ import annotations

import argparse
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from lossgap import diagnose
from lossgap.integrations.lightning import LossgapCallback


class SequenceModel(pl.LightningModule):
    """A small LSTM classifier whose steps return loss and logits (what the callback records)."""

    def __init__(self, features: int = 2, hidden: int = 16, classes: int = 2) -> None:
        super().__init__()
        self.lstm = nn.LSTM(features, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (last, _) = self.lstm(x)
        return self.head(last[-1])

    def training_step(self, batch, batch_idx):
        _, x, y = batch
        logits = self(x)
        return {"loss": nn.functional.cross_entropy(logits, y), "logits": logits}

    def validation_step(self, batch, batch_idx):
        _, x, y = batch
        logits = self(x)
        return {"loss": nn.functional.cross_entropy(logits, y), "logits": logits}

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=0.005)


def loaders(samples: int = 400, seed: int = 0) -> tuple[DataLoader, DataLoader]:
    """(ids, x, y) batches of a learnable task: the sign of the sum of the first feature."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, 20, 2, generator=generator)
    y = (x[:, :, 0].sum(dim=1) > 0).long()
    ids = torch.arange(samples)
    cut = int(0.8 * samples)
    train = TensorDataset(ids[:cut], x[:cut], y[:cut])
    val = TensorDataset(ids[cut:], x[cut:], y[cut:])
    return DataLoader(train, batch_size=32, shuffle=True), DataLoader(val, batch_size=128)


def main(argv: list[str] | None = None) -> Path:
    """Fit with the callback, then print the diagnosis; returns the run directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/lightning"))
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args(argv)
    pl.seed_everything(0, verbose=False)
    train_loader, val_loader = loaders()
    trainer = pl.Trainer(max_epochs=args.epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu",
                         callbacks=[LossgapCallback(args.out, overwrite=True)])
    trainer.fit(SequenceModel(), train_loader, val_loader)
    print(diagnose(args.out).to_text())
    return args.out


if __name__ == "__main__":
    main()
