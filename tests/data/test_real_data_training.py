"""Real data end to end: a short run on a UCR set beats the majority baseline; test never chooses anything."""

import json

import numpy as np
import pytest

pytest.importorskip("aeon")

from lossgap import DataConfig, ModelConfig, OptimizerConfig, TrainConfig, train  # noqa: E402
from lossgap.data import load_splits  # noqa: E402
from lossgap.data.aeon_source import load_aeon  # noqa: E402


def test_a_short_run_on_italy_power_demand_beats_the_majority_baseline(tmp_path):
    config = TrainConfig(data=DataConfig(source="aeon:ItalyPowerDemand"),
                         model=ModelConfig(hidden_size=32, bidirectional=True),
                         optimizer=OptimizerConfig(name="adamw", lr=0.005), epochs=25, batch_size=16)
    result = train(config, tmp_path / "run")
    summary = result.summary
    history = result.fit.history
    best_val = history[summary["best_epoch"] - 1]["val_accuracy"]
    assert best_val > 0.8   # two balanced classes: the majority baseline is about 0.5
    assert summary["test"]["epoch"] == summary["delivered_epoch"] and summary["test"]["num_samples"] == 1029
    assert summary["test"]["accuracy"] > 0.8
    # metrics.csv carries test figures too, but the best epoch is the val-loss minimum, whatever test says.
    val_loss = [row["val_loss"] for row in history]
    assert summary["best_epoch"] == int(np.argmin(val_loss)) + 1


def test_standardisation_is_fitted_on_the_train_split_only(tmp_path):
    config = TrainConfig(data=DataConfig(source="aeon:BasicMotions"), epochs=1)
    train(config, tmp_path / "run")
    stored = json.loads((tmp_path / "run" / "config.json").read_text())["data"]["standardizer"]
    raw = load_splits("aeon:BasicMotions", seed=0, standardize=False).splits.train
    valid = np.arange(raw.max_length)[None, :] < raw.lengths[:, None]
    values = raw.features[valid].astype(np.float64)
    assert np.allclose(stored["mean"], values.mean(axis=0)) and np.allclose(stored["scale"], values.std(axis=0))
    everything = np.concatenate([part.features.reshape(-1, raw.num_features) for part in load_aeon("BasicMotions")])
    assert not np.allclose(stored["mean"], everything.mean(axis=0))
