"""--ema DECAY: an exponential moving average of the weights (batch-norm buffers included) is what every epoch
records, what early stopping monitors, what the checkpoints hold and what the run delivers."""

import pytest
import torch
from fixtures.training import checkpoint_weights as weights
from fixtures.training import make_splits, metrics_without_seconds as metrics
from torch.nn import functional

from lossgap import api
from lossgap.data import DataConfig, load_data
from lossgap.errors import ConfigError, RunDirError
from lossgap.model import ModelConfig
from lossgap.model.lstm_fcn import LSTMFCNClassifier
from lossgap.model.registry import model_from_hyperparameters
from lossgap.resume import resume
from lossgap.run import rundir
from lossgap.training.averaging import WeightAverage, refresh_batch_norm, step_decay
from lossgap.training.batching import DeviceSplit
from lossgap.training.config import EarlyStoppingConfig, OptimizerConfig, TrainConfig
from lossgap.training.early_stopping import BestTracker
from lossgap.training.once import train_once
from lossgap.training.optim import build_optimizer
from lossgap.training.recorder import Recorder
from lossgap.training.refit import refit
from lossgap.training.state import restore, training_state
from lossgap.training.trainer import evaluate

SOURCE = "synthetic:frequency,samples=120,test_samples=60"
# LSTM-FCN: its convolution branch has batch-norm buffers the average must carry.
BASE = TrainConfig(data=DataConfig(source=SOURCE), model=ModelConfig(kind="lstm-fcn", hidden_size=8, fcn_width=4),
                   epochs=6, batch_size=16, early_stopping=EarlyStoppingConfig(patience=20))


def with_ema(decay, config=BASE):
    return config.model_copy(update={"optimizer": config.optimizer.model_copy(update={"ema": decay})})


def test_the_per_epoch_decay_is_spread_over_the_epochs_steps():
    assert step_decay(0.9, 1) == 0.9
    assert step_decay(0.9, 13) ** 13 == pytest.approx(0.9, rel=1e-12)
    assert step_decay(0.0, 5) == 0.0


def test_the_average_follows_its_formula_for_weights_and_batch_norm_buffers():
    torch.manual_seed(0)
    model = LSTMFCNClassifier(2, 4, 3, fcn_width=2)
    average = WeightAverage(model, 0.25, steps_per_epoch=2)   # 0.5 per step
    first = {key: value.clone() for key, value in model.state_dict().items()}
    average.update()   # the first update copies the live model
    with torch.no_grad():
        for tensor in [*model.parameters(), model.norms[0].running_mean, model.norms[0].running_var]:
            tensor.add_(1.0)
    average.update()
    state = average.model.state_dict()
    for key in ("head.weight", "convolutions.0.weight", "norms.0.running_mean",
                "norms.0.running_var"):
        assert torch.allclose(state[key], first[key] + 0.5), key
    assert average.state_dict()["updates"] == 2


def test_batch_norm_statistics_are_recomputed_for_the_averaged_weights_without_drawing_random_numbers():
    torch.manual_seed(2)
    model = LSTMFCNClassifier(2, 4, 3, dropout=0.5, fcn_width=2)
    split = DeviceSplit.from_data(make_splits(num_train=40).train, torch.device("cpu"))
    state = torch.get_rng_state()
    refresh_batch_norm(model, split, batch_size=16)
    assert torch.equal(torch.get_rng_state(), state) and model.training and model.norms[0].momentum == 0.1
    convolution = model.convolutions[0]
    with torch.no_grad():
        first = convolution(functional.pad(split.features.transpose(1, 2), (3, 4)))   # kernel 8: "same" padding
    # Three batches (16, 16, 8 samples) weigh alike: the running mean is the mean of the batches' means.
    means = torch.stack([first[part].mean(dim=(0, 2)) for part in (slice(0, 16), slice(16, 32), slice(32, 40))])
    assert torch.allclose(model.norms[0].running_mean, means.mean(dim=0), atol=1e-6)


def test_decay_zero_averages_to_exactly_the_live_weights():
    states = []
    loaded = load_data(BASE.data, BASE.seed)
    train_once(with_ema(0.0), loaded.splits, Recorder(), on_checkpoint=lambda epoch, build: states.append(build()))
    for state in states:
        for key, value in state["model"].items():
            if ".running_" not in key and "num_batches" not in key:   # batch-norm statistics are recomputed
                assert torch.equal(value, state["average"]["weights"][key]), key


def test_decay_zero_is_exactly_the_run_without_an_average_for_a_model_without_batch_norm(tmp_path):
    lstm = BASE.model_copy(update={"model": ModelConfig(hidden_size=8)})
    plain = api.train(lstm, tmp_path / "plain", diagnose_run=False)
    zero = api.train(with_ema(0.0, lstm), tmp_path / "zero", diagnose_run=False)
    assert metrics(tmp_path / "plain") == metrics(tmp_path / "zero")
    assert plain.summary["test"] == zero.summary["test"]
    for key, value in weights(tmp_path / "plain").items():
        assert torch.equal(value, weights(tmp_path / "zero")[key]), key


@pytest.fixture(scope="module")
def averaged_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("ema") / "run"
    return run, api.train(with_ema(0.8), run, diagnose_run=False)


def test_the_delivered_checkpoint_is_the_average_and_reproduces_the_recorded_figures(averaged_run):
    run, result = averaged_run
    summary = result.summary
    loaded = load_data(BASE.data, BASE.seed)   # the same split and standardisation as the run
    checkpoint = rundir.load_checkpoint(rundir.checkpoint_path(run, rundir.BEST_CHECKPOINT))  # weights_only=True
    model = model_from_hyperparameters(checkpoint["hyperparameters"])
    model.load_state_dict(checkpoint["state_dict"])
    assert any(key.startswith("norms.") and key.endswith("running_mean") for key in checkpoint["state_dict"])
    val = evaluate(model, DeviceSplit.from_data(loaded.splits.val, torch.device("cpu")), 1024)
    row = metrics(run)[checkpoint["epoch"] - 1]
    assert val.loss == pytest.approx(float(row["val_loss"]), rel=1e-6)
    assert val.accuracy == pytest.approx(float(row["val_accuracy"]))
    test = evaluate(model, DeviceSplit.from_data(loaded.splits.test, torch.device("cpu")), 1024)
    assert test.loss == pytest.approx(summary["test"]["loss"], rel=1e-6)
    assert checkpoint["epoch"] == summary["delivered_epoch"]


def test_every_epochs_figures_are_the_averages_not_the_live_models():
    config = with_ema(0.8)
    loaded = load_data(config.data, config.seed)
    states = []
    trained = train_once(config, loaded.splits, Recorder(),
                         on_checkpoint=lambda epoch, build: states.append(build()))
    cpu = torch.device("cpu")
    for epoch in (2, len(states)):
        state, row = states[epoch - 1], trained.fit.history[epoch - 1]
        figures = {}
        for name, weights_of in (("average", state["average"]["weights"]), ("live", state["model"])):
            model = model_from_hyperparameters(trained.model.hyperparameters())
            model.load_state_dict(weights_of)
            figures[name] = {split: evaluate(model, DeviceSplit.from_data(getattr(loaded.splits, split), cpu), 1024)
                             for split in ("train", "val", "test")}
        for split in ("train", "val", "test"):
            assert row[f"{split}_loss"] == pytest.approx(figures["average"][split].loss, rel=1e-6)
            assert row[f"{split}_loss"] != pytest.approx(figures["live"][split].loss, rel=1e-3)
    # The delivered model is the average at the best epoch (the tracker kept its weights).
    for key, value in trained.fit.best_state.items():
        assert torch.equal(value, trained.model.state_dict()[key]), key


def test_a_training_state_round_trips_through_a_weights_only_checkpoint(tmp_path):
    torch.manual_seed(1)
    model = LSTMFCNClassifier(2, 4, 3, fcn_width=2)
    config = with_ema(0.5)
    optimizer, tracker = build_optimizer(model, config.optimizer), BestTracker(config.early_stopping)
    average = WeightAverage(model, 0.5, steps_per_epoch=1)
    average.update()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(2.0)
    average.update()
    generator = torch.Generator().manual_seed(0)
    state = training_state(epoch=1, model=model, optimizer=optimizer, scheduler=None, tracker=tracker,
                           generator=generator, device=torch.device("cpu"), history=[{"epoch": 1}], average=average)
    rundir.save_checkpoint(tmp_path, rundir.LAST_CHECKPOINT, hyperparameters=model.hyperparameters(),
                           state=state["average"]["weights"], epoch=1, extra={"training_state": state})
    saved = rundir.load_checkpoint(rundir.checkpoint_path(tmp_path, rundir.LAST_CHECKPOINT))["training_state"]
    fresh = LSTMFCNClassifier(2, 4, 3, fcn_width=2)
    again = WeightAverage(fresh, 0.5, steps_per_epoch=1)
    restore(saved, model=fresh, optimizer=build_optimizer(fresh, config.optimizer), scheduler=None,
            tracker=BestTracker(config.early_stopping), generator=generator, device=torch.device("cpu"),
            average=again)
    for key, value in average.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[key]), key
    assert again.state_dict()["updates"] == 2
    # A state saved without an average cannot continue a run that asks for one (nor the reverse).
    with pytest.raises(RunDirError, match="--ema"):
        restore({**saved, "average": None}, model=fresh, optimizer=build_optimizer(fresh, config.optimizer),
                scheduler=None, tracker=BestTracker(config.early_stopping), generator=generator,
                device=torch.device("cpu"), average=again)
    with pytest.raises(RunDirError, match="--ema"):
        restore(saved, model=fresh, optimizer=build_optimizer(fresh, config.optimizer), scheduler=None,
                tracker=BestTracker(config.early_stopping), generator=generator, device=torch.device("cpu"))


def test_an_interrupted_run_resumes_to_exactly_the_uninterrupted_one(tmp_path, monkeypatch):
    monkeypatch.setenv("LOSSGAP_CHECKPOINT_SECONDS", "0")   # the training state after every epoch
    config = with_ema(0.8)
    api.train(config, tmp_path / "whole", diagnose_run=False)

    def stop_after_third(row):
        if row["epoch"] == 3:
            raise KeyboardInterrupt

    stopped = api.train(config, tmp_path / "run", diagnose_run=False, on_epoch_end=stop_after_third)
    assert stopped.summary["status"] == "interrupted"
    resume(tmp_path / "run", diagnose_run=False)
    assert metrics(tmp_path / "run") == metrics(tmp_path / "whole")
    for name in (rundir.BEST_CHECKPOINT, rundir.LAST_CHECKPOINT):
        for key, value in weights(tmp_path / "whole", name).items():
            assert torch.equal(value, weights(tmp_path / "run", name)[key]), (name, key)


def test_a_refit_with_decay_zero_is_the_refit_without_an_average():
    loaded = load_data(BASE.data, BASE.seed)
    run_model = model_from_hyperparameters({"kind": "lstm-fcn", "input_size": loaded.splits.num_features,
                                            "hidden_size": 8, "num_classes": loaded.splits.num_classes,
                                            "fcn_width": 4})
    history = [{"lr": 0.01}] * 3
    lstm = BASE.model_copy(update={"model": ModelConfig(hidden_size=8)})
    run_lstm = model_from_hyperparameters({"kind": "lstm", "input_size": loaded.splits.num_features,
                                           "hidden_size": 8, "num_classes": loaded.splits.num_classes})
    plain = refit(lstm, loaded.splits, run_lstm, history, 3)
    zero = refit(with_ema(0.0, lstm), loaded.splits, run_lstm, history, 3)
    smooth = refit(with_ema(0.9), loaded.splits, run_model, history, 3)
    assert plain.test.loss == zero.test.loss and smooth.test.loss != refit(BASE, loaded.splits, run_model,
                                                                           history, 3).test.loss


@pytest.mark.parametrize("decay", [1.0, -0.1, float("nan")])
def test_a_decay_outside_zero_to_one_is_a_one_line_error_naming_the_option(decay):
    with pytest.raises(ConfigError) as error:
        TrainConfig.from_dict({**BASE.to_dict(), "optimizer": {**BASE.to_dict()["optimizer"], "ema": decay}})
    message = str(error.value)
    assert "--ema" in message and "\n" not in message


def test_the_option_reaches_the_rerun_command_and_parses_back():
    config = with_ema(0.9)
    assert "--ema 0.9" in config.command()
    assert "--ema" not in BASE.command()
    assert OptimizerConfig().ema is None
