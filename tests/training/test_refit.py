"""Refit (--refit): a second model trained on train + val for the delivered epoch count, the run's learning
rates replayed; the run itself (metrics, diagnosis) stays the val-split run."""

import json

import numpy as np
import pytest
import torch

from lossgap import api
from lossgap.data import load_splits
from lossgap.model import ModelConfig
from lossgap.model.registry import model_from_hyperparameters
from lossgap.run import rundir
from lossgap.training.batching import DeviceSplit
from lossgap.training.config import EarlyStoppingConfig, TrainConfig
from lossgap.training.refit import merged_train, refit, refit_schedule
from lossgap.training.seeding import seeded
from lossgap.training.trainer import evaluate

SOURCE = "synthetic:sum-sign,samples=200,test_samples=200"


def test_merged_train_holds_every_train_and_val_sample_once():
    splits = load_splits(SOURCE, val_fraction=0.25, seed=3).splits
    merged = merged_train(splits)
    assert merged.num_samples == splits.train.num_samples + splits.val.num_samples == 200
    assert set(merged.ids) == set(splits.train.ids) | set(splits.val.ids)
    by_id = dict(zip(merged.ids, merged.labels))
    assert all(by_id[i] == label for i, label in zip(splits.val.ids, splits.val.labels))
    assert merged.split == "train"


def test_the_schedule_is_the_runs_learning_rate_of_each_epoch():
    history = [{"lr": 0.01}, {"lr": 0.01}, {"lr": 0.005}, {"lr": 0.0025}]
    assert refit_schedule(history, 3) == [0.01, 0.01, 0.005]
    with pytest.raises(ValueError):
        refit_schedule(history, 5)
    with pytest.raises(ValueError):
        refit_schedule(history, 0)


def test_a_zero_learning_rate_leaves_the_seeded_initialisation():
    # The replayed rates are the ones used: at lr 0 every epoch, the refit model is its seed's initial model.
    config = TrainConfig(model=ModelConfig(hidden_size=8), batch_size=32, seed=4)
    splits = load_splits(SOURCE, seed=4).splits
    run_model = model_from_hyperparameters({"kind": "lstm", "input_size": splits.num_features, "hidden_size": 8,
                                            "num_classes": splits.num_classes})
    done = refit(config, splits, run_model, [{"lr": 0.0}] * 3, 3)
    with seeded(4, torch.device("cpu")):
        initial = model_from_hyperparameters(run_model.hyperparameters())
    for key, value in initial.state_dict().items():
        assert torch.equal(value, done.model.state_dict()[key]), key
    assert done.epochs == 3 and done.learning_rates == [0.0, 0.0, 0.0]


def test_refit_learns_is_reproducible_and_restores_the_callers_random_state():
    config = TrainConfig(model=ModelConfig(hidden_size=16), batch_size=32, seed=1)
    splits = load_splits(SOURCE, seed=1).splits
    run_model = model_from_hyperparameters({"kind": "lstm", "input_size": splits.num_features, "hidden_size": 16,
                                            "num_classes": splits.num_classes})
    history = [{"lr": 0.01}] * 15
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    first = refit(config, splits, run_model, history, 15)
    assert torch.equal(torch.rand(3), before)
    second = refit(config, splits, run_model, history, 15)
    assert first.train_samples == 200
    assert first.test is not None and first.test.accuracy > 0.85
    assert first.test.accuracy == second.test.accuracy
    for key, value in first.model.state_dict().items():
        assert torch.equal(value, second.model.state_dict()[key]), key


def test_train_with_refit_writes_a_second_model_and_keeps_the_val_split_run(tmp_path):
    config = TrainConfig(data={"source": SOURCE}, model=ModelConfig(kind="lstm-fcn", hidden_size=8, fcn_width=4,
                                                                    patch_length="auto", readout="auto"),
                         epochs=6, early_stopping=EarlyStoppingConfig(patience=3), batch_size=32, refit=True)
    result = api.train(config, tmp_path / "run")
    summary = json.loads((tmp_path / "run" / rundir.SUMMARY_FILE).read_text())
    assert summary["refit"] == result.summary["refit"]
    entry = summary["refit"]
    assert entry["epochs"] == summary["delivered_epoch"]
    assert entry["train_samples"] == 200 and entry["trained_on"] == "train+val"
    # The diagnosis and metrics are the val-split run's (160 train samples, 40 val).
    assert result.diagnosis is not None
    assert len(result.fit.history) == summary["epochs_run"]
    # The checkpoint rebuilds a model that reproduces the refit's test figures on the run's standardised test split.
    checkpoint = rundir.load_checkpoint(rundir.checkpoint_path(tmp_path / "run", "refit"))
    assert checkpoint["trained_on"] == "train+val" and checkpoint["epoch"] == entry["epochs"]
    assert checkpoint["hyperparameters"] == result.model.hyperparameters()
    model = model_from_hyperparameters(checkpoint["hyperparameters"])
    model.load_state_dict(checkpoint["state_dict"])
    test = load_splits(SOURCE, seed=0).splits.test
    again = evaluate(model, DeviceSplit.from_data(test, torch.device("cpu")), 1024)
    assert again.accuracy == pytest.approx(entry["test"]["accuracy"])
    assert again.loss == pytest.approx(entry["test"]["loss"], rel=1e-5)
    assert result.refit_model is not None
    assert not np.array_equal(result.refit_model.head.weight.detach().numpy(), result.model.head.weight.detach().numpy())


def test_without_refit_there_is_no_refit_model(tmp_path):
    config = TrainConfig(data={"source": SOURCE}, model=ModelConfig(hidden_size=4), epochs=2)
    result = api.train(config, tmp_path / "run", diagnose_run=False)
    assert "refit" not in result.summary and result.refit_model is None
    assert not rundir.checkpoint_path(tmp_path / "run", "refit").exists()


def test_a_refit_that_blows_up_is_one_config_error():
    from lossgap.errors import ConfigError
    from lossgap.training.config import OptimizerConfig

    config = TrainConfig(model=ModelConfig(hidden_size=8), optimizer=OptimizerConfig(name="sgd"), batch_size=32)
    splits = load_splits(SOURCE, seed=0).splits
    run_model = model_from_hyperparameters({"kind": "lstm", "input_size": splits.num_features, "hidden_size": 8,
                                            "num_classes": splits.num_classes})
    with pytest.raises(ConfigError, match="try a lower --lr") as caught:
        refit(config, splits, run_model, [{"lr": 1e37}] * 3, 3)
    assert "\n" not in str(caught.value)
