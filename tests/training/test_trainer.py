"""Trainer: learns what can be learned, memorises noise without generalising, stops at the best epoch."""

import math

import numpy as np
import pytest
import torch

from lossgap.data import load_splits
from lossgap.model import LSTMClassifier
from lossgap.training.batching import DeviceSplit
from lossgap.training.config import (EarlyStoppingConfig, ModelConfig, OptimizerConfig, TrainConfig)
from lossgap.training.recorder import Recorder
from lossgap.training.seeding import seeded
from lossgap.training.trainer import class_weight_tensor, evaluate, fit


def train(source, config, seed=0):
    splits = load_splits(source, val_fraction=0.2, seed=seed).splits
    recorder = Recorder()
    with seeded(config.seed, torch.device("cpu")) as generator:
        model = LSTMClassifier(splits.num_features, config.model.hidden_size, splits.num_classes,
                               config.model.num_layers, config.model.dropout)
        result = fit(model, splits, config, recorder, generator)
    return model, splits, result, recorder


def test_learns_a_learnable_task():
    _, _, result, _ = train("synthetic:sum-sign,samples=500", TrainConfig(epochs=25, batch_size=32))
    assert max(row["val_accuracy"] for row in result.history) > 0.9


def test_random_labels_are_memorised_on_train_while_val_stays_near_chance():
    config = TrainConfig(epochs=120, batch_size=16, model=ModelConfig(hidden_size=64))
    _, splits, result, _ = train("synthetic:random-labels,samples=250", config)
    last = result.history[-1]
    assert last["train_accuracy"] > 0.95
    # 50 val samples: chance 0.5 with a standard error of 0.07.
    assert abs(last["val_accuracy"] - 0.5) < 0.2
    assert last["val_loss"] > last["train_loss"] + 0.5


def test_early_stopping_leaves_the_model_at_the_best_epochs_val_loss():
    config = TrainConfig(epochs=60, batch_size=8, model=ModelConfig(hidden_size=64),
                         early_stopping=EarlyStoppingConfig(patience=5))
    model, splits, result, _ = train("synthetic:random-labels,samples=150", config)
    assert result.stop_reason == "early_stopping"
    assert result.delivered_epoch == result.best_epoch < len(result.history)
    best_row = result.history[result.best_epoch - 1]
    assert best_row["val_loss"] == min(row["val_loss"] for row in result.history)
    now = evaluate(model, DeviceSplit.from_data(splits.val, torch.device("cpu")), 1024)
    assert now.loss == pytest.approx(best_row["val_loss"], abs=1e-6)
    assert now.loss < result.history[-1]["val_loss"]


def test_best_weights_are_restored_when_the_epoch_limit_ends_training():
    config = TrainConfig(epochs=25, batch_size=8, model=ModelConfig(hidden_size=64),
                         early_stopping=EarlyStoppingConfig(patience=1000))
    model, splits, result, _ = train("synthetic:random-labels,samples=150", config)
    assert result.stop_reason == "epochs"
    now = evaluate(model, DeviceSplit.from_data(splits.val, torch.device("cpu")), 1024)
    assert now.loss == pytest.approx(result.history[result.best_epoch - 1]["val_loss"], abs=1e-6)


def test_monitoring_val_accuracy_picks_the_most_accurate_epoch():
    config = TrainConfig(epochs=15, batch_size=32, early_stopping=EarlyStoppingConfig(monitor="val_accuracy"))
    _, _, result, _ = train("synthetic:sum-sign,samples=300", config)
    accuracies = [row["val_accuracy"] for row in result.history]
    assert result.best_epoch == int(np.argmax(accuracies)) + 1


def test_same_seed_same_history_and_dynamics_different_seed_differs():
    config = TrainConfig(epochs=4, batch_size=16, model=ModelConfig(dropout=0.3, num_layers=2))
    runs = [train("synthetic:sum-sign,samples=120", config.model_copy(update={"seed": seed}))
            for seed in (3, 3, 4)]
    strip = lambda history: [{k: v for k, v in row.items() if k != "seconds"} for row in history]
    assert strip(runs[0][2].history) == strip(runs[1][2].history)
    np.testing.assert_array_equal(runs[0][3].dynamics()["train"].true_log_prob,
                                  runs[1][3].dynamics()["train"].true_log_prob)
    assert strip(runs[0][2].history) != strip(runs[2][2].history)


def test_losses_are_epoch_means_over_samples_not_the_last_batch():
    config = TrainConfig(epochs=2, batch_size=7)
    model, splits, result, recorder = train("synthetic:sum-sign,samples=100", config)
    record = recorder.dynamics()["train"]
    assert result.history[-1]["train_loss"] == pytest.approx(float(record.loss[-1].mean()), rel=1e-9)
    assert math.isfinite(result.history[-1]["train_loss_running"])


def test_interrupt_keeps_finished_epochs(small_splits):
    def interrupt_after_second(row):
        if row["epoch"] == 2:
            raise KeyboardInterrupt

    recorder = Recorder()
    with seeded(0, torch.device("cpu")) as generator:
        result = fit(LSTMClassifier(2, 4, 3), small_splits, TrainConfig(epochs=10), recorder, generator,
                     interrupt_after_second)
    assert result.stop_reason == "interrupted" and len(result.history) == 2
    assert recorder.dynamics()["val"].num_epochs == 2
    assert recorder.observations().num_epochs == 2 and recorder._observer is None  # hooks gone after Ctrl-C


def test_the_observed_first_epoch_agrees_with_the_trainers_own_gradient_norm_before_clipping():
    config = TrainConfig(epochs=2, batch_size=16, optimizer=OptimizerConfig(clip_grad=0.01))
    _, _, result, recorder = train("synthetic:sum-sign,samples=200", config)
    observed = recorder.observations()
    # 160 train samples: 10 steps, all measured in the first epoch (the trainer averages over all steps).
    assert observed.steps.tolist() == [10, 10] and observed.measured_steps[0] == 10
    assert observed.grad_norm_total[0] == pytest.approx(result.history[0]["grad_norm"], rel=1e-5)
    assert observed.grad_norm_total[0] > 0.01  # read before clipping to 0.01


@pytest.mark.parametrize("scheduler", ["cosine", "plateau"])
def test_schedulers_lower_the_learning_rate(scheduler):
    config = TrainConfig(epochs=30, batch_size=32, optimizer=OptimizerConfig(scheduler=scheduler, lr=0.05),
                         early_stopping=EarlyStoppingConfig(patience=None))
    _, _, result, _ = train("synthetic:random-labels,samples=100", config)
    rates = [row["lr"] for row in result.history]
    assert rates[0] == pytest.approx(0.05) and rates[-1] < 0.05


@pytest.mark.parametrize("optimizer", ["adamw", "sgd"])
def test_other_optimizers_and_clipping_train(optimizer):
    config = TrainConfig(epochs=15, batch_size=32,
                         optimizer=OptimizerConfig(name=optimizer, lr=0.05 if optimizer == "sgd" else 0.01,
                                                   clip_grad=1.0))
    _, _, result, _ = train("synthetic:sum-sign,samples=300", config)
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_balanced_class_weights_are_inverse_frequency():
    weights = class_weight_tensor(np.array([0] * 8 + [1] * 2), 3, torch.device("cpu"))
    torch.testing.assert_close(weights, torch.tensor([10 / 16, 10 / 4, 0.0]))


def test_test_recorded_only_at_the_end_gives_the_same_run_and_the_same_delivered_test_figures():
    from dataclasses import replace

    splits = load_splits("synthetic:sum-sign,samples=200", val_fraction=0.2, seed=0).splits
    # The last 40 training samples become the test split (ids stay unique across splits).
    test = splits.train.subset(np.arange(120, 160), split="test")
    splits = replace(splits, train=splits.train.subset(np.arange(120)), test=test)
    runs = {}
    for when in ("epochs", "end"):
        config = TrainConfig(epochs=5, batch_size=16, record_test=when,
                             early_stopping=EarlyStoppingConfig(patience=2, monitor="val_loss"))
        recorder = Recorder()
        with seeded(config.seed, torch.device("cpu")) as generator:
            model = LSTMClassifier(splits.num_features, 16, splits.num_classes)
            runs[when] = (fit(model, splits, config, recorder, generator), recorder.dynamics())
    every, end = runs["epochs"][0], runs["end"][0]
    assert "test_loss" in every.history[0] and "test_loss" not in end.history[0]
    assert "test" in runs["epochs"][1] and "test" not in runs["end"][1]
    strip = lambda history: [{k: v for k, v in row.items() if not k.startswith("test_") and k != "seconds"}
                             for row in history]
    assert strip(every.history) == strip(end.history)   # the test pass changes nothing else
    assert end.test == every.test and end.test.num_samples == 40


def test_a_stop_while_a_checkpoint_is_written_waits_until_the_checkpoint_is_whole(tmp_path, monkeypatch):
    # A Ctrl-C inside torch.save could come out of its zip writer as another error; held, it arrives after the
    # epoch's checkpoint is written, so the run stops with that epoch's training state on disk.
    import signal

    from lossgap.api import train as train_run
    from lossgap.run.rundir import load_checkpoint

    monkeypatch.setenv("LOSSGAP_CHECKPOINT_SECONDS", "0")   # the training state after every epoch
    real_save, saves = torch.save, []

    def save_with_a_stop_arriving(*args, **kwargs):
        saves.append(1)
        if len(saves) == 3:
            signal.raise_signal(signal.SIGINT)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(torch, "save", save_with_a_stop_arriving)
    config = TrainConfig(data={"source": "synthetic:sum-sign,samples=60"}, epochs=8)
    result = train_run(config, tmp_path / "run", diagnose_run=False)
    assert result.fit.stop_reason == "interrupted" and len(result.fit.history) == 3
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["epoch"] == 3


def test_a_class_weighted_run_early_stops_on_the_val_loss_weighted_alike():
    # The plain val loss favours the frequent classes the weights offset: a class-weighted run chose by it had
    # kept epochs that leaned on them.
    from lossgap.training.trainer import monitored_column, val_loss_column

    config = TrainConfig(epochs=12, batch_size=32, class_weights="balanced",
                         early_stopping=EarlyStoppingConfig(patience=50, monitor="val_loss"))
    assert monitored_column(config) == val_loss_column(config) == "val_balanced_loss"
    assert monitored_column(config.model_copy(update={"class_weights": "none"})) == "val_loss"
    _, _, result, _ = train("synthetic:frequency,samples=400,classes=3,shares=80/10/10,sigma=1.5", config)
    balanced = [row["val_balanced_loss"] for row in result.history]
    assert result.best_epoch == int(np.argmin(balanced)) + 1
    for row in result.history:  # the mean of the classes' mean losses, beside the plain mean
        assert math.isfinite(row["val_balanced_loss"]) and row["val_balanced_loss"] != row["val_loss"]


def test_a_loss_gone_non_finite_delivers_the_best_epochs_weights_without_early_stopping():
    # Trial 13's ACSF1 run at lr 0.1 (no early stopping) went NaN at epoch 34 and had delivered those weights (test
    # 0.100) while best.pt held epoch 31's. Here the weights are made NaN after epoch 4, as a blow-up would.
    splits = load_splits("synthetic:sum-sign,samples=300", val_fraction=0.2, seed=0).splits
    config = TrainConfig(epochs=10, batch_size=32)
    with seeded(config.seed, torch.device("cpu")) as generator:
        model = LSTMClassifier(splits.num_features, config.model.hidden_size, splits.num_classes)

        def blow_up(row):
            if row["epoch"] == 4:
                with torch.no_grad():
                    for parameter in model.parameters():
                        parameter.fill_(float("nan"))

        result = fit(model, splits, config, Recorder(), generator, on_epoch_end=blow_up)
    assert result.stop_reason == "non_finite_loss" and len(result.history) == 5
    assert result.delivered_epoch == result.best_epoch <= 4
    assert all(torch.isfinite(parameter).all() for parameter in model.parameters())
    now = evaluate(model, DeviceSplit.from_data(splits.val, torch.device("cpu")), 1024)
    assert now.loss == pytest.approx(result.history[result.best_epoch - 1]["val_loss"], abs=1e-6)
