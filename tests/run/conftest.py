"""Runs the tests of this folder damage: each built once per module, and copied for every test that changes it."""

import shutil

import pytest
from fixtures.training import cli_trained_run

import lossgap
from lossgap.data import DataConfig
from lossgap.run import rundir
from lossgap.training.config import TrainConfig


def writable_copy(source, tmp_path):
    """A copy of a shared run that one test may damage."""
    target = tmp_path / "run"
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A run that trained its 3 epochs and finished."""
    return cli_trained_run(tmp_path_factory.mktemp("damaged") / "run")


@pytest.fixture
def copy(finished, tmp_path):
    return writable_copy(finished, tmp_path)


@pytest.fixture(scope="module")
def killed(tmp_path_factory):
    """A run stopped after epoch 3 of 6 with its training state of epoch 3, made to look SIGKILLed (no
    summary, no dynamics.npz, no best.pt: only the epoch store, metrics and last.pt)."""
    out = tmp_path_factory.mktemp("killed") / "run"

    def stop(row):
        if row["epoch"] == 3:
            raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LOSSGAP_CHECKPOINT_SECONDS", "0")
        config = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=80"), epochs=6, batch_size=16)
        lossgap.train(config, out, on_epoch_end=stop, diagnose_run=False)
    for name in ("summary.json", "dynamics.npz", "checkpoints/best.pt"):
        (out / name).unlink()
    assert rundir.load_checkpoint(rundir.checkpoint_path(out, "last"))["epoch"] == 3
    return out


@pytest.fixture
def run(killed, tmp_path):
    return writable_copy(killed, tmp_path)
