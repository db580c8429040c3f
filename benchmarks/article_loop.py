"""The reference for ``bench_demo.py``: the source article's three experiments as a bare script.

Written for lossgap's benchmarks after the article's description (not its code): 100 random sequences of
length 20 with random binary labels, a DataLoader with batch 16, Adam at lr 0.01, 50 epochs; (1) one LSTM layer
of 16 units on 1 feature, (2) 32 units on 5 features (with a data loader built for the 5 features, which the
article forgot), (3) two layers of 32 units on 5 features. Accuracy over the training loader every 10 epochs,
printed with the last batch's loss, as the article does. Nothing is recorded, diagnosed or written: this is
the floor a tool that does all that is measured against.

    .venv/bin/python benchmarks/article_loop.py
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

SEQUENCES, LENGTH, EPOCHS = 100, 20, 50


class LastStepLSTM(nn.Module):
    """An LSTM whose last time step feeds a linear layer with two outputs."""

    def __init__(self, features: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.recurrent = nn.LSTM(features, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, 2)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        states, _ = self.recurrent(inputs)
        return self.head(states[:, -1, :])


def experiment(features: int, hidden: int, layers: int) -> None:
    """Train one model as the article does; prints the last batch's loss and train accuracy every 10 epochs."""
    inputs = torch.randn(SEQUENCES, LENGTH, features)
    labels = torch.randint(0, 2, (SEQUENCES,))
    loader = DataLoader(TensorDataset(inputs, labels), batch_size=16, shuffle=True)
    model = LastStepLSTM(features, hidden, layers)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        for batch, targets in loader:
            optimizer.zero_grad()
            loss = criterion(model(batch), targets)
            loss.backward()
            optimizer.step()
        if epoch % 10 == 0:
            with torch.no_grad():
                right = sum(int((model(batch).argmax(dim=1) == targets).sum()) for batch, targets in loader)
            print(f"epoch {epoch}: last batch loss {loss.item():.4f}, train accuracy {right / SEQUENCES:.3f}")


if __name__ == "__main__":
    torch.manual_seed(0)
    for features, hidden, layers in ((1, 16, 1), (5, 32, 1), (5, 32, 2)):
        experiment(features, hidden, layers)
