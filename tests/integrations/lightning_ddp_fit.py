"""Started by torchrun from test_lightning_ddp.py (not a test module): the Lightning example's model fitted with
``strategy="ddp"`` on 2 CPU processes (gloo) and LossgapCallback with a store beside OUT (``OUT-epochs``); rank 0
also saves the final weights, and every rank prints where its recorder writes epochs.

    torchrun --standalone --nproc-per-node 2 tests/integrations/lightning_ddp_fit.py OUT EPOCHS
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import lightning.pytorch as pl
import torch

from lossgap.integrations.lightning import LossgapCallback
from lossgap.training.distributed import exit_rank

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lightning_example.py"
#: 254 samples: 203 train and 51 val, both odd, so DistributedSampler pads one rank's share with a repeat.
SAMPLES = 254


def main() -> None:
    out, epochs = Path(sys.argv[1]), int(sys.argv[2])
    spec = importlib.util.spec_from_file_location("lossgap_example_lightning", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = example
    spec.loader.exec_module(example)
    pl.seed_everything(0, verbose=False)
    train_loader, val_loader = example.make_loaders(samples=SAMPLES, val_batch_size=16)
    model = example.SequenceModel()
    callback = LossgapCallback(out, store=out.with_name(out.name + "-epochs"))
    trainer = pl.Trainer(max_epochs=epochs, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", devices=2, strategy="ddp",
                         callbacks=[callback])
    trainer.fit(model, train_loader, val_loader)
    print(f"rank {trainer.global_rank} writes epochs to {callback.recorder.store}", flush=True)
    if trainer.is_global_zero:
        torch.save(model.state_dict(), out / "final_weights.pt")
    # Lightning leaves the process group to the script; even destroyed, torch keeps it (and gloo's threads)
    # alive to the interpreter's shutdown, where a rank can abort: exit_rank leaves before it.
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    exit_rank()


if __name__ == "__main__":
    main()
