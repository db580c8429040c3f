"""The Lightning callback records through the Recorder and writes a run directory lossgap can diagnose."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

pytest.importorskip("lightning")

from lossgap import read_run  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "lightning_example.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("lightning_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_callback_writes_one_epoch_per_fit_epoch_with_every_sample_seen(tmp_path, example):
    run_dir = example.main(["--out", str(tmp_path / "run"), "--epochs", "4"])
    record = read_run(run_dir)
    assert record.num_epochs == 4
    assert record.dynamics["train"].num_samples == 320 and record.dynamics["val"].num_samples == 80
    for split in ("train", "val"):
        assert record.dynamics[split].seen.all()  # sanity-check batches were not counted as an epoch
    assert (run_dir / "diagnosis.json").exists() and "lr" in record.metrics


def test_the_last_val_epoch_equals_a_direct_evaluation_after_fit(tmp_path, example):
    import lightning.pytorch as pl

    from lossgap.integrations.lightning import LossgapCallback

    pl.seed_everything(1, verbose=False)
    train_loader, val_loader = example.loaders(samples=200, seed=1)
    model = example.SequenceModel()
    trainer = pl.Trainer(max_epochs=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, accelerator="cpu", num_sanity_val_steps=2,
                         callbacks=[LossgapCallback(tmp_path / "run")])
    trainer.fit(model, train_loader, val_loader)
    record = read_run(tmp_path / "run")
    val = record.dynamics["val"]
    ids, x, y = val_loader.dataset.tensors
    model.eval()
    with torch.inference_mode():
        direct = torch.log_softmax(model(x), dim=1)[torch.arange(len(y)), y].numpy()
    order = np.argsort(ids.numpy())
    assert np.array_equal(val.sample_ids, ids.numpy()[order])
    assert np.allclose(val.true_log_prob[-1], direct[order], atol=1e-5)
    assert abs(record.metrics["val_accuracy"][-1] - float((val.predicted[-1] == val.labels).mean())) < 1e-12
