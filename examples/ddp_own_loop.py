"""Record a data-parallel run of your own loop: DistributedDataParallel, DistributedSampler, one Recorder per rank.

Each rank feeds its Recorder the batches it trains and validates on; ``recorder.end_epoch(gather=True)``
gathers every rank's records at the end of each epoch, so each rank's Recorder holds every sample once
(DistributedSampler's padding, which repeats a few samples to even out the ranks' shares, is kept once) and
rank 0 writes the run directory. The lines marked ``# lossgap`` are everything diagnosis adds; compared with
``examples/own_loop.py`` only ``gather=True`` and saving on rank 0 are new. The last line,
``lossgap.exit_rank()``, is not diagnosis: it ends each rank before Python's shutdown, where torch's gloo
threads can abort a finished job.

    torchrun --standalone --nproc-per-node 2 examples/ddp_own_loop.py --out runs/ddp_own_loop --epochs 15
    lossgap report runs/ddp_own_loop
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler

import lossgap  # lossgap

sys.path.insert(0, str(Path(__file__).resolve().parent))
from own_loop import CLASS_NAMES, GRUClassifier, make_datasets  # noqa: E402  (the same model and data)


def train(out: Path, epochs: int, seed: int = 0) -> list[float]:
    """Train the GRU data-parallel on this rank's shares and record the run into ``out`` (rank 0 writes it);
    returns the loop's own val accuracy per epoch (fraction of the val samples, counted over all ranks)."""
    torch.manual_seed(seed)
    train_set, val_set = make_datasets(seed=seed)
    train_sampler = DistributedSampler(train_set, shuffle=True, seed=seed)
    train_loader = DataLoader(train_set, batch_size=16, sampler=train_sampler)
    # Val is sharded without padding (every sample on exactly one rank), so the loop's own accuracy counts each
    # sample once; DistributedSampler would repeat a few to even out the shares.
    val_shard = Subset(val_set, range(dist.get_rank(), len(val_set), dist.get_world_size()))
    val_loader = DataLoader(val_shard, batch_size=256)
    # DDP broadcasts rank 0's initial weights, so every rank starts from the same model.
    model = DistributedDataParallel(GRUClassifier(features=2, hidden=32, classes=len(CLASS_NAMES)))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.005)
    loss_function = nn.CrossEntropyLoss()
    val_accuracies: list[float] = []
    recorder = lossgap.Recorder()  # lossgap
    for epoch in range(1, epochs + 1):
        train_sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank
        model.train()
        for ids, x, y in train_loader:
            logits = model(x)
            loss = loss_function(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            recorder.update("train", ids, logits, y)  # lossgap
        model.eval()
        correct = torch.zeros(2)  # (correct, counted) on this rank
        with torch.inference_mode():
            for ids, x, y in val_loader:
                logits = model.module(x)
                correct += torch.tensor([float((logits.argmax(dim=1) == y).sum()), float(len(y))])
                recorder.update("val", ids, logits, y)  # lossgap
        recorder.end_epoch(gather=True)  # lossgap
        dist.all_reduce(correct)
        val_accuracies.append(float(correct[0] / correct[1]))
        if dist.get_rank() == 0:
            print(f"epoch {epoch:3d}  val accuracy {val_accuracies[-1]:.3f}")
    if dist.get_rank() == 0:
        lossgap.save_recorded_run(recorder, out, class_names=CLASS_NAMES, overwrite=True)  # lossgap
    return val_accuracies


def main(argv: list[str] | None = None) -> Path:
    """Join the torchrun job (gloo on CPU), train, and on rank 0 print the diagnosis; returns the run directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/ddp_own_loop"), help="run directory to write")
    parser.add_argument("--epochs", type=int, default=15, help="training epochs")
    args = parser.parse_args(argv)
    dist.init_process_group("gloo")
    try:
        accuracies = train(args.out, args.epochs)
        if dist.get_rank() == 0:
            print("loop val accuracy: " + " ".join(f"{value:.6f}" for value in accuracies))
            print(lossgap.diagnose(args.out).to_text())  # lossgap
        # Leave together: a rank destroying the group while rank 0 still writes can abort in gloo's teardown.
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return args.out


if __name__ == "__main__":
    main()
    # Leave without Python's shutdown, where torch's gloo threads can abort a rank after the run was written
    # (torchrun would then call the job failed): see lossgap.exit_rank.
    lossgap.exit_rank()
