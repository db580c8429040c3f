"""Hand-made run directories for the report tests: written in milliseconds, with known answers.

A run here is built from chosen true-class probabilities (no training), then written with the run directory's
own writers, so ``read_run`` and ``write_report`` see exactly what a real run would give them. One trained run
(``noisy_label_run``, shared by the session) has a data file to read the suspects' inputs from again.
"""

import io
import struct
import types

import numpy as np
import pytest

from fixtures.dynamics import dynamics_from_logits
from lossgap.dynamics import save_dynamics
from lossgap.run.rundir import DYNAMICS_FILE, write_config, write_metrics, write_summary

#: The id of a mislabeled training sample in :func:`refining_dynamics`: HTML that must never run.
HOSTILE_ID = "<img src=x onerror=alert(2)>"


def logits_from_true_prob(true_prob, labels, num_classes):
    """Logits (E, N, C) whose softmax gives each sample ``true_prob`` on its label and the rest evenly spread."""
    true_prob = np.asarray(true_prob, dtype=np.float64)
    rest = np.log((1.0 - true_prob) / (num_classes - 1))
    logits = np.repeat(rest[:, :, None], num_classes, axis=2)
    rows = np.arange(true_prob.shape[1])
    logits[:, rows, labels] = np.log(true_prob)
    return logits


def refining_dynamics(epochs=30, num_val=150, num_train=300, num_classes=3, mislabeled=30):
    """Dynamics where val accuracy is constant (70% right) while every right sample grows more confident.

    Val: the first 70% of samples are right from epoch 1 with a true-class probability rising linearly from 0.5
    to 0.95; the rest stay wrong, rising from 0.2 to 0.3 (below every other class's share). Train: the same,
    except that the first ``mislabeled`` samples (ids sorted first; the first is :data:`HOSTILE_ID`) stay at
    probability 0.05 throughout: the model contradicts their label. Returns {"train": ..., "val": ...}.
    """
    def split(n, name, bad):
        labels = np.arange(n) % num_classes
        ramp = np.linspace(0.0, 1.0, epochs)[:, None]
        right = np.arange(n) < int(0.7 * n)
        prob = np.where(right[None, :], 0.5 + 0.45 * ramp, 0.2 + 0.1 * ramp)
        prob[:, :bad] = 0.05
        ids = np.array([f"s{index:04d}" for index in range(n)], dtype=object)
        if bad:
            ids[0] = HOSTILE_ID  # "<" sorts before "s": the ids stay sorted
        return dynamics_from_logits(logits_from_true_prob(prob, labels, num_classes), labels, split=name,
                                    sample_ids=ids.astype(str), keep_logits=name != "train")

    return {"train": split(num_train, "train", mislabeled), "val": split(num_val, "val", 0)}


def noisy_dynamics(epochs=100, num_val=1000, num_train=3000, num_classes=10, seed=0):
    """Random logits every epoch (the least compressible figures): the worst case for the report's size."""
    rng = np.random.default_rng(seed)

    def split(n, name):
        labels = rng.integers(0, num_classes, n)
        logits = rng.normal(size=(epochs, n, num_classes)) * np.linspace(0.5, 3.0, epochs)[:, None, None]
        return dynamics_from_logits(logits, labels, split=name, keep_logits=name != "train")

    return {"train": split(num_train, "train"), "val": split(num_val, "val")}


def write_run(path, dynamics, *, class_names, train_config=None, command=None, test=None, settings=None):
    """Write a run directory from ``dynamics`` (metrics computed from them); returns the path.

    ``train_config`` None makes it look like a run recorded from the user's own loop (no options, no command),
    with ``settings`` as its Recorder described them.
    """
    path.mkdir(parents=True, exist_ok=True)
    epochs = next(iter(dynamics.values())).num_epochs
    columns = {"epoch": np.arange(1, epochs + 1)}
    for name, record in dynamics.items():
        columns[f"{name}_loss"] = record.epoch_loss()
        columns[f"{name}_accuracy"] = record.epoch_accuracy()
        columns[f"{name}_balanced_accuracy"] = record.epoch_balanced_accuracy()
    columns["lr"] = np.full(epochs, 0.01)
    rows = [{key: float(values[index]) for key, values in columns.items()} for index in range(epochs)]
    write_config(path, {
        "lossgap_version": "test", "train": train_config, "command": command, "role": "run",
        "data": {"source": "hand-made", "class_names": list(class_names),
                 "sizes": {name: record.num_samples for name, record in dynamics.items()}},
        "versions": {"python": "3", "numpy": np.__version__}, "settings": settings,
    })
    write_metrics(path, rows)
    save_dynamics(path / DYNAMICS_FILE, dynamics)
    best = int(np.argmin(columns["val_loss"])) + 1
    write_summary(path, {"best_epoch": best, "delivered_epoch": epochs, "best": rows[best - 1], "final": rows[-1],
                         "test": test})
    return path


def png_size(data):
    """(width, height) in pixels read from a PNG's header; AssertionError when ``data`` is not a PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def png_is_not_blank(data):
    """True when the decoded PNG holds more than one colour (any channel varies by more than 1%)."""
    import matplotlib.image

    pixels = matplotlib.image.imread(io.BytesIO(data), format="png")
    return bool(pixels.reshape(-1, pixels.shape[-1]).std(axis=0).max() > 0.01)


@pytest.fixture
def kit():
    """The helpers above as one namespace: refining/noisy dynamics, write_run, PNG checks, the hostile id."""
    return types.SimpleNamespace(refining=refining_dynamics, noisy=noisy_dynamics, write_run=write_run,
                                 png_size=png_size, png_is_not_blank=png_is_not_blank, hostile_id=HOSTILE_ID)


@pytest.fixture
def refining_run(tmp_path):
    """An own-loop-style run (no config, no command) of :func:`refining_dynamics`, 3 classes, 30 epochs."""
    return write_run(tmp_path / "refining", refining_dynamics(), class_names=["up", "down", "flat"])


@pytest.fixture
def configured_run(tmp_path):
    """The same dynamics as a lossgap run: training options, a rerun command and a test result."""
    return write_run(tmp_path / "configured", refining_dynamics(), class_names=["up", "down", "flat"],
                     train_config={"model": {"hidden_size": 32, "dropout": 0.0}, "epochs": 30, "seed": 0},
                     command="lossgap train data.npz --hidden 32 --epochs 30",
                     test={"epoch": 30, "accuracy": 0.6875, "loss": 0.5, "balanced_accuracy": 0.68,
                           "num_samples": 64})


@pytest.fixture(scope="session")
def noisy_label_run(tmp_path_factory):
    """A trained run whose data file (``noisy.npz`` beside it) has 15% flipped labels: suspects to click,
    inputs to read again. Shared: tests that change it work on a copy."""
    from lossgap import DataConfig, ModelConfig, TrainConfig, train

    root = tmp_path_factory.mktemp("interactive")
    rng = np.random.default_rng(1)
    features = rng.normal(size=(240, 16, 2)).astype(np.float32)
    labels = (features[:, :, 0].sum(axis=1) > 0).astype(int)
    flipped = rng.choice(240, 36, replace=False)
    labels[flipped] = 1 - labels[flipped]
    np.savez(root / "noisy.npz", X=features, y=labels)
    config = TrainConfig(data=DataConfig(source=str(root / "noisy.npz")), model=ModelConfig(hidden_size=32),
                         epochs=25, batch_size=16)
    return train(config, root / "run").run_dir
