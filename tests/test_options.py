"""Options declared once on the config fields: the CLIs, the rerun command and error names derive from them."""

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from lossgap.cli.app import register_commands
from lossgap.cli.options import config_from_options
from lossgap.options import option, option_specs
from lossgap.sweep.space import SWEEP_FIXED
from lossgap.training.config import TrainConfig, apply_changes


def command(name: str):
    """The click-style command behind ``lossgap NAME`` (typer vendors click)."""
    return typer.main.get_command(register_commands()).commands[name]


def parse(name: str, args: list[str]) -> dict:
    return command(name).make_context(name, list(args)).params


def test_every_option_of_the_config_is_a_flag_of_train_and_sweep_takes_all_but_what_it_searches():
    specs = list(option_specs(TrainConfig))
    train_flags = {opt for param in command("train").params for opt in param.opts + param.secondary_opts}
    sweep_flags = {opt for param in command("sweep").params for opt in param.opts + param.secondary_opts}
    for spec in specs:
        flags = set(spec.flag.split("/"))
        assert flags <= train_flags, spec.flag
        assert (flags <= sweep_flags) == (spec.path not in SWEEP_FIXED), spec.flag
    # Every config field a user could set is declared (the data source is the DATA argument).
    leaves = {f"{section}.{name}" if section else name
              for section, model in [("", TrainConfig)] + [(name, field.annotation) for name, field in
                                                          TrainConfig.model_fields.items()
                                                          if isinstance(field.annotation, type)
                                                          and issubclass(field.annotation, BaseModel)]
              for name, field in model.model_fields.items()
              if not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel))}
    assert leaves - {spec.path for spec in specs} == {"data.source"}


def test_a_declared_field_becomes_an_option_with_its_flag_help_and_default():
    class Extra(BaseModel):
        width: int = option(8, "--width", "How wide.", gt=0)
        flagged: bool = option(False, "--flagged", "A flag.")
        maybe: bool | None = option(None, "--maybe/--no-maybe", "A switch.")
        plain: str = "not an option"

    specs = {spec.path: spec for spec in option_specs(Extra, "extra.")}
    assert list(specs) == ["extra.width", "extra.flagged", "extra.maybe"]
    width = specs["extra.width"]
    assert (width.flag, width.help, width.default, width.kind, width.name) == ("--width", "How wide.", 8, "int", "width")
    assert specs["extra.flagged"].spell(True) == ["--flagged"] and specs["extra.flagged"].spell(False) == []
    assert specs["extra.maybe"].spell(False) == ["--no-maybe"] and specs["extra.maybe"].spell(None) == []


configs = st.builds(
    lambda kind, hidden, dropout, patch, lr, clip, patience, standardize, bidirectional, readout: apply_changes(
        TrainConfig(), {"model.kind": kind, "model.hidden_size": hidden, "model.dropout": dropout,
                        "model.patch_length": patch, "optimizer.lr": lr, "optimizer.clip_grad": clip,
                        "early_stopping.patience": patience, "data.standardize": standardize,
                        "model.bidirectional": bidirectional, "model.readout": readout}),
    st.sampled_from(["lstm", "gru", "lstm-fcn"]), st.integers(1, 512), st.floats(0, 0.95),
    st.one_of(st.integers(1, 64), st.just("auto")), st.floats(1e-6, 1.0), st.one_of(st.none(), st.floats(0.01, 10)),
    st.one_of(st.none(), st.integers(1, 100)), st.one_of(st.none(), st.booleans()), st.booleans(),
    st.sampled_from(["last", "mean", "max", "auto"]))


@settings(max_examples=60, deadline=None)
@given(configs)
def test_the_rerun_command_parses_back_to_the_same_config(config):
    params = parse("train", config.to_cli_args() + ["--out", "x"])
    assert config_from_options(params.pop("data"), params) == config


@pytest.mark.parametrize("args, message", [
    (["--hidden", "0"], "invalid --hidden: input should be greater than 0"),
    (["--model", "transformer"], "invalid --model: input should be 'lstm', 'gru' or 'lstm-fcn'"),
    (["--patch", "x"], "invalid --patch: value error, use a positive integer .* or auto"),
    (["--early-stopping", "0"], "invalid --early-stopping"),
])
def test_a_bad_value_is_named_by_the_flag_the_user_typed(args, message):
    from lossgap.errors import ConfigError

    params = parse("train", ["synthetic:sum-sign", "--out", "x", *args])
    with pytest.raises(ConfigError, match=message):
        config_from_options(params.pop("data"), params)
