"""The search space: option parsing, validation with one-line errors, sampling, and applying a sample."""

import optuna
import pytest

from lossgap.errors import ConfigError
from lossgap.sweep.space import SearchSpace, apply_params, parse_choices, parse_model_choices, parse_range
from lossgap.training.config import TrainConfig


def test_ranges_and_choices_parse_as_typed():
    assert parse_range("1e-4:3e-2", "--lr-range") == (1e-4, 3e-2)
    assert parse_range("1:3", "--layers-range", int) == (1, 3)
    assert parse_choices("16, 32,64", "--hidden-choices") == (16, 32, 64)


@pytest.mark.parametrize("text", ["0.1", "1:2:3", "a:b", ""])
def test_a_malformed_range_names_its_option(text):
    with pytest.raises(ConfigError, match="--lr-range must be LOW:HIGH"):
        parse_range(text, "--lr-range")


def test_malformed_choices_name_their_option():
    with pytest.raises(ConfigError, match="--batch-choices"):
        parse_choices("16,big", "--batch-choices")
    with pytest.raises(ConfigError, match="--batch-choices"):
        parse_choices(",", "--batch-choices")


@pytest.mark.parametrize("fields, option", [
    ({"lr": (0.1, 0.01)}, "--lr-range"),
    ({"lr": (0.0, 0.01)}, "--lr-range"),
    ({"layers": (0, 2)}, "--layers-range"),
    ({"dropout": (0.2, 1.0)}, "--dropout-range"),
    ({"dropout": (-0.1, 0.2)}, "--dropout-range"),
    ({"weight_decay": (0.0, 1e-3)}, "--weight-decay-range"),
    ({"hidden": (16, 0)}, "--hidden-choices"),
    ({"batch": ()}, "--batch-choices"),
])
def test_bad_ranges_are_one_line_config_errors_naming_the_option(fields, option):
    with pytest.raises(ConfigError, match=option) as caught:
        SearchSpace(**fields)
    assert "\n" not in str(caught.value)


def test_choices_are_sorted_and_unique_so_equal_spaces_compare_equal():
    assert SearchSpace(hidden=(64, 16, 64)) == SearchSpace(hidden=(16, 64))
    assert SearchSpace.from_dict(SearchSpace(hidden=(64, 16)).to_dict()) == SearchSpace(hidden=(16, 64))


def test_differences_are_spelled_as_the_options():
    stored, now = SearchSpace(), SearchSpace(lr=(1e-3, 1e-2), batch=(32,))
    assert stored.differences(now) == ["--lr-range 0.0001:0.03 vs 0.001:0.01", "--batch-choices 16,32,64 vs 32"]
    assert stored.differences(SearchSpace()) == []


def test_a_fixed_trial_samples_inside_the_space_and_lands_in_the_config():
    space = SearchSpace(lr=(1e-3, 1e-2), hidden=(8, 32), layers=(2, 2), dropout=(0.1, 0.1), batch=(24,))
    trial = optuna.trial.FixedTrial({"lr": 0.005, "hidden": 32, "layers": 2, "dropout": 0.1, "batch": 24,
                                     "weight_decay": 1e-4})
    params = space.suggest(trial)
    config = apply_params(TrainConfig(epochs=7), params)
    assert (config.optimizer.lr, config.model.hidden_size, config.model.num_layers, config.model.dropout,
            config.batch_size, config.optimizer.weight_decay) == (0.005, 32, 2, 0.1, 24, 1e-4)
    assert config.epochs == 7


def test_weight_decay_zero_to_zero_is_not_searched_and_stays_off():
    space = SearchSpace(weight_decay=(0, 0))
    study = optuna.create_study()
    trial = study.ask()
    params = space.suggest(trial)
    assert "weight_decay" not in trial.params and params["weight_decay"] == 0.0
    assert apply_params(TrainConfig(), params).optimizer.weight_decay == 0.0


def test_several_model_families_are_searched_and_land_in_the_config():
    space = SearchSpace(model=("lstm-fcn", "gru"))
    assert space.model == ("gru", "lstm-fcn")   # registry order, so equal spaces compare equal
    trial = optuna.trial.FixedTrial({"lr": 0.005, "hidden": 32, "layers": 1, "dropout": 0.1, "batch": 16,
                                     "weight_decay": 1e-4, "model": "lstm-fcn"})
    assert apply_params(TrainConfig(), space.suggest(trial)).model.kind == "lstm-fcn"


def test_one_model_family_is_fixed_in_the_base_not_searched():
    space = SearchSpace(model=("gru",))
    study = optuna.create_study()
    trial = study.ask()
    assert "model" not in space.suggest(trial) and "model" not in trial.params
    assert space.fixed(TrainConfig()).model.kind == "gru"


def test_a_study_stored_before_model_families_reads_as_the_lstm_only():
    stored = SearchSpace().to_dict()
    del stored["model"]
    assert SearchSpace.from_dict(stored) == SearchSpace() and SearchSpace().model == ("lstm",)


@pytest.mark.parametrize("text", ["transformer", "", "lstm,cnn"])
def test_unknown_model_choices_name_the_families(text):
    with pytest.raises(ConfigError, match="--model-choices must list model families from lstm, gru, lstm-fcn"):
        parse_model_choices(text)


def test_sampled_floats_are_trained_and_shown_with_three_significant_digits():
    params = {"lr": 0.0034567891234, "dropout": 0.123456, "hidden": 32, "weight_decay": 1.23456e-5}
    config = apply_params(TrainConfig(), params)
    assert (config.optimizer.lr, config.model.dropout, config.optimizer.weight_decay) == (0.00346, 0.123, 1.23e-05)
    assert "--lr 0.00346" in config.command()
