"""LossgapCallback under Lightning's ``strategy="ddp"`` (2 CPU processes, gloo, launched by torchrun): the run
directory holds every train and val sample once per epoch, with the values of the final model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fixtures.examples import load_example
from fixtures.torchrun import run_torchrun

SCRIPT = Path(__file__).resolve().parent / "lightning_ddp_fit.py"
EPOCHS = 2


@pytest.fixture(scope="module")
def ddp_run(tmp_path_factory):
    """(run directory, completed torchrun job) of the script's 2-process fit."""
    pytest.importorskip("lightning.pytorch")
    out = tmp_path_factory.mktemp("lightning_ddp") / "run"
    job = run_torchrun(SCRIPT, out, EPOCHS)
    assert job.returncode == 0, job.stderr[-3000:]
    return out, job


def test_every_train_and_val_sample_is_recorded_once_per_epoch(ddp_run):
    from lossgap import read_run

    out, job = ddp_run
    record = read_run(out)
    assert record.num_epochs == EPOCHS
    for split, ids in (("train", np.arange(203)), ("val", np.arange(203, 254))):
        dynamics = record.dynamics[split]
        # Sorted unique ids equal to the whole split: no sample missing, the sampler's padded repeat kept once.
        assert np.array_equal(dynamics.sample_ids, ids)
        assert dynamics.seen.all()
    assert "only rank 0's share" not in job.stderr


def test_the_val_records_and_loss_are_those_of_the_whole_val_set(ddp_run):
    from lossgap import read_run

    out, _ = ddp_run
    example = load_example("lightning_example.py", "lossgap_example_lightning_ddp")
    model = example.SequenceModel()
    model.load_state_dict(torch.load(out / "final_weights.pt", weights_only=True))
    _, val_loader = example.make_loaders(samples=254)
    ids, x, y = val_loader.dataset.tensors
    model.eval()
    with torch.inference_mode():
        direct = torch.log_softmax(model(x), dim=1)[torch.arange(len(y)), y].numpy()
    record = read_run(out)
    val = record.dynamics["val"]
    # The last validation ran with the final weights (training ends after it).
    assert np.allclose(val.true_log_prob[-1], direct, rtol=0, atol=1e-5)
    assert record.metrics["val_loss"][-1] == pytest.approx(float(-direct.mean()), abs=1e-5)


def test_rank_0_alone_writes_the_store_and_it_holds_the_runs_epochs(ddp_run):
    from lossgap import read_run
    from lossgap.epoch_store import dynamics_from_store, stored_epochs

    out, job = ddp_run
    store = out.with_name(out.name + "-epochs")
    assert f"rank 0 writes epochs to {store}" in job.stdout and "rank 1 writes epochs to None" in job.stdout
    assert stored_epochs(store) == list(range(1, EPOCHS + 1))
    stored, record = dynamics_from_store(store), read_run(out)
    for split in ("train", "val"):
        assert np.array_equal(stored[split].sample_ids, record.dynamics[split].sample_ids)
        assert np.array_equal(stored[split].true_log_prob, record.dynamics[split].true_log_prob)
