"""Configuration of a training run: one pydantic model per concern, all frozen and JSON-serialisable.

Defaults are what a reader of the source article would expect: Adam, lr 0.01, batch 16, 50 epochs,
hidden size 16, one layer.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from lossgap.errors import ConfigError
from lossgap.data.config import DataConfig
from lossgap.model.config import ModelConfig
from lossgap.options import option, option_specs, set_at, value_at


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OptimizerConfig(_Frozen):
    """Optimizer, learning rate schedule, gradient clipping and weight averaging."""

    name: Literal["adam", "adamw", "sgd"] = option("adam", "--optimizer", "adam, adamw or sgd (with momentum).",
                                                   always=True)
    lr: float = option(0.01, "--lr", "Learning rate.", always=True, gt=0.0, allow_inf_nan=False)
    weight_decay: float = option(0.0, "--weight-decay", "L2 weight decay (decoupled for adamw).", always=True,
                                 ge=0.0, allow_inf_nan=False)
    momentum: float = option(0.9, "--momentum", "SGD momentum.", ge=0.0, lt=1.0, allow_inf_nan=False)
    clip_grad: float | None = option(None, "--clip-grad", "Clip the total gradient norm to this.", gt=0.0,
                                     allow_inf_nan=False)
    scheduler: Literal["none", "plateau", "cosine"] = option(
        "none", "--scheduler", "none, plateau (reduce on plateau) or cosine.", always=True)
    ema: float | None = option(
        None, "--ema", "Evaluate, early-stop on, checkpoint and deliver an exponential moving average of the weights "
        "(batch-norm statistics recomputed for it each epoch), updated every step; DECAY is the share of the average "
        "kept per epoch, in [0, 1) (0.9: about the last 10 epochs).", metavar="DECAY", ge=0.0, lt=1.0, allow_inf_nan=False)


class EarlyStoppingConfig(_Frozen):
    """Stop when the monitored validation figure stops improving; restore the best weights at the end."""

    patience: int | None = option(None, "--early-stopping", "Stop after PATIENCE epochs without improvement of "
                                  "--monitor and restore the best weights.", metavar="PATIENCE", gt=0)
    monitor: Literal["val_loss", "val_accuracy"] = option(
        "val_loss", "--monitor", "val_loss or val_accuracy: chooses the best epoch.", always=True)
    min_delta: float = option(0.0, "--min-delta", "Smallest change of the monitored val figure (--monitor's) "
                              "counted as an improvement.", ge=0.0,
                              allow_inf_nan=False)

    @property
    def enabled(self) -> bool:
        """True when early stopping (and restoring the best weights) is on."""
        return self.patience is not None


class TrainConfig(_Frozen):
    """Everything that decides a training run; stored in config.json so a run can be redone."""

    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    early_stopping: EarlyStoppingConfig = EarlyStoppingConfig()
    epochs: int = option(50, "--epochs", "Maximum epochs.", always=True, gt=0)
    batch_size: int = option(16, "--batch-size", "Training batch size.", always=True, gt=0)
    eval_batch_size: int = option(1024, "--eval-batch-size", "Batch size of the no-grad evaluation passes.", gt=0)
    seed: int = option(0, "--seed", "Seed of split (unless --split-seed), initialisation, shuffling and dropout.",
                       always=True, ge=0)
    device: str = option("cpu", "--device", "cpu or cuda.", always=True)
    class_weights: Literal["none", "balanced"] = option("none", "--class-weights",
                                                        "none or balanced (inverse frequency).", always=True)
    record_train: Literal["eval", "pass"] = option(
        "eval", "--record-train", "eval: exact train dynamics from one more pass over train after each epoch (most "
        "of what recording costs, ~20% of an epoch); pass: from the training pass (~6%, mid-epoch weights).")
    record_test: Literal["epochs", "end"] = option(
        "epochs", "--record-test", "epochs: record every test sample after each epoch (metrics.csv's test "
        "columns, dynamics.npz); end: evaluate test once, for the delivered model (summary.json), which spares a "
        "pass over test per epoch (most of an epoch where test is larger than train). Test never decides anything.")
    control: Literal["none", "permuted-labels"] = option(
        "none", "--control", "permuted-labels: train on labels shuffled within train (a no-signal control).")
    refit: bool = option(False, "--refit", "After training, train a second model on train + val for the "
                         "delivered epoch count (the run's learning rates replayed) into checkpoints/refit.pt; "
                         "summary.json's 'refit' has its test figures. The diagnosis stays the val-split run's.")

    def to_dict(self) -> dict:
        """Plain JSON-able dict of every option."""
        return self.model_dump(mode="json")

    def to_cli_args(self, *, val_is_fixed: bool = False) -> list[str]:
        """Arguments of ``lossgap train`` that reproduce this config: the source, the main options always, the
        others where they differ from their default (all derived from the field declarations). ``val_is_fixed``:
        the source brings its own val split, so ``--val-fraction`` (which it ignores) is left out."""
        payload = self.to_dict()
        args = [self.data.source]
        for spec in option_specs(TrainConfig):
            if val_is_fixed and spec.path == "data.val_fraction":
                continue
            value = value_at(payload, spec.path)
            if spec.always or value != spec.default:
                args += spec.spell(value)
        return args

    def command(self, out: str | Path | None = None, *, val_is_fixed: bool = False,
                threads: int | None = None) -> str:
        """The ``lossgap train`` command line (shell-quoted) that trains this config, with ``--threads threads``
        when given, into ``out`` if given; ``val_is_fixed`` as :meth:`to_cli_args`."""
        words = ["lossgap", "train", *self.to_cli_args(val_is_fixed=val_is_fixed)]
        if threads is not None:
            words += ["--threads", str(int(threads))]
        if out is not None:
            words += ["--out", str(out)]
        return shlex.join(words)

    @classmethod
    def from_dict(cls, payload: dict) -> TrainConfig:
        """Build from :meth:`to_dict` output; raises ConfigError with one line on bad values."""
        return build_config(cls, **payload)


def change_flags(changes: dict) -> str:
    """The ``lossgap train`` flags that make dotted-path ``changes`` (``{"model.kind": "gru"}`` -> ``--model gru``),
    spelled as the option declarations spell them."""
    specs = {spec.path: spec for spec in option_specs(TrainConfig)}
    return shlex.join(word for path, value in changes.items() for word in specs[path].spell(value))


def apply_changes(config: TrainConfig, changes: dict) -> TrainConfig:
    """``config`` with dotted-path ``changes`` applied (``{"model.dropout": 0.2}``); validated like user input."""
    payload = config.to_dict()
    for path, value in changes.items():
        set_at(payload, path, value)
    return TrainConfig.from_dict(payload)


def option_name(location: tuple) -> str:
    """The flag of the config field at pydantic error ``location`` (("model", "hidden_size") -> "--hidden")."""
    # A union's member adds its type to the location ("patch_length", "constrained-int"): keep the field names.
    names = [str(part) for part in location if isinstance(part, str) and part.isidentifier()]
    flags = {spec.path: spec.flag.split("/")[0] for spec in option_specs(TrainConfig)}
    for start in range(len(names)):
        path = ".".join(names[start:])
        for known, flag in flags.items():
            if known == path or known.endswith("." + path):
                return flag
    return names[-1] if names else "value"


def build_config(model_type: type[BaseModel], **values) -> BaseModel:
    """Construct a config, turning pydantic's validation error into a one-line :class:`ConfigError`."""
    try:
        return model_type(**values)
    except ValidationError as error:
        first = error.errors()[0]
        option = option_name(first["loc"])
        got = first.get("input")
        raise ConfigError(f"invalid {option}: {first['msg'].lower()} (got {got!r}); "
                          f"see 'lossgap train --help' for the allowed values") from None
