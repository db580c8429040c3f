"""Runs the tests of this folder damage: each built once per module, and copied for every test that changes it;
and recorders fed by a stand-in own loop (random logits), for the runs written from them."""

import shutil

import pytest
import torch
from fixtures.training import cli_trained_run, stopped_run

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
    config = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=80"), epochs=6, batch_size=16)
    out = stopped_run(tmp_path_factory.mktemp("killed") / "run", config, stop_after=3)
    for name in ("summary.json", "dynamics.npz", "checkpoints/best.pt"):
        (out / name).unlink()
    assert rundir.load_checkpoint(rundir.checkpoint_path(out, "last"))["epoch"] == 3
    return out


@pytest.fixture
def run(killed, tmp_path):
    return writable_copy(killed, tmp_path)


def feed(recorder, epochs, *, train=60, val=20, classes=2, drop=0, seed=0):
    """Close ``epochs`` epochs of ``recorder`` with random logits for ``train`` + ``val`` samples (ids 0..);
    ``drop`` train samples (a different few each epoch) go unseen, as with ``drop_last``. Returns what each
    ``end_epoch()`` returned."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(train + val) % classes
    summaries = []
    for _ in range(epochs):
        order = torch.randperm(train, generator=generator)[:train - drop]
        recorder.update("train", order, torch.randn(order.numel(), classes, generator=generator), labels[order])
        ids = torch.arange(train, train + val)
        recorder.update("val", ids, torch.randn(val, classes, generator=generator), labels[ids])
        summaries.append(recorder.end_epoch())
    return summaries


@pytest.fixture
def feed_recorder():
    """The stand-in loop :func:`feed` as a fixture: ``feed_recorder(recorder, epochs, **options)``."""
    return feed


@pytest.fixture
def make_recorded():
    """``make_recorded(epochs, store=None, overwrite=False, **options)``: a Recorder fed by :func:`feed`, and what
    its epochs returned."""

    def make(epochs=3, store=None, overwrite=False, **options):
        recorder = lossgap.Recorder(store=store, overwrite=overwrite)
        return recorder, feed(recorder, epochs, **options)

    return make
