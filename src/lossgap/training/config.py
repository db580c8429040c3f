"""Configuration of a training run: one pydantic model per concern, all frozen and JSON-serialisable.

Defaults are what a reader of the source article would expect: Adam, lr 0.01, batch 16, 50 epochs,
hidden size 16, one layer.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lossgap.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DataConfig(_Frozen):
    """Where the data come from and how validation is carved out."""

    source: str = Field("synthetic:random-labels", description="data source string or file path")
    val_fraction: float = Field(0.2, gt=0.0, lt=1.0, allow_inf_nan=False, description="share of train held out, stratified")
    standardize: bool | None = Field(None, description="per-feature standardisation; None = on for real data")


class ModelConfig(_Frozen):
    """Shape of the LSTM classifier."""

    hidden_size: int = Field(16, gt=0)
    num_layers: int = Field(1, gt=0)
    dropout: float = Field(0.0, ge=0.0, lt=1.0, allow_inf_nan=False)
    bidirectional: bool = False
    readout: Literal["last", "mean", "max", "auto"] = Field(
        "last", description="what the head reads: the last valid step's state, or mean/max over valid steps; "
                            "auto: max when steps are patched, else last")
    patch_length: Annotated[int, Field(gt=0)] | Literal["auto"] = Field(
        1, description="consecutive time steps merged into one LSTM step; auto: at most 32 LSTM steps")


class OptimizerConfig(_Frozen):
    """Optimizer, learning rate schedule and gradient clipping."""

    name: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(0.01, gt=0.0, allow_inf_nan=False)
    weight_decay: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    momentum: float = Field(0.9, ge=0.0, lt=1.0, allow_inf_nan=False, description="SGD only")
    clip_grad: float | None = Field(None, gt=0.0, allow_inf_nan=False, description="max total gradient norm; None = no clipping")
    scheduler: Literal["none", "plateau", "cosine"] = "none"


def parse_patch_length(text: str) -> int | Literal["auto"]:
    """``--patch`` as given on the command line: "auto" or a positive integer; ConfigError otherwise."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(f"invalid --patch {text!r}: use a positive integer (steps merged per LSTM step) or auto")
    return value


class EarlyStoppingConfig(_Frozen):
    """Stop when the monitored validation figure stops improving; restore the best weights at the end."""

    patience: int | None = Field(None, gt=0, description="epochs without improvement; None = off")
    monitor: Literal["val_loss", "val_accuracy"] = "val_loss"
    min_delta: float = Field(0.0, ge=0.0, allow_inf_nan=False)

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
    epochs: int = Field(50, gt=0)
    batch_size: int = Field(16, gt=0)
    eval_batch_size: int = Field(1024, gt=0, description="batch size of the no-grad evaluation passes")
    seed: int = Field(0, ge=0)
    device: str = "cpu"
    class_weights: Literal["none", "balanced"] = "none"
    record_train: Literal["eval", "pass"] = Field(
        "eval", description="train dynamics from a clean end-of-epoch pass (exact) or from the training pass"
    )
    control: Literal["none", "permuted-labels"] = Field(
        "none", description="permuted-labels trains on train labels shuffled within the split"
    )

    def to_dict(self) -> dict:
        """Plain JSON-able dict of every option."""
        return self.model_dump(mode="json")

    def to_cli_args(self) -> list[str]:
        """Arguments of ``lossgap train`` that reproduce this config (source first, every option explicit)."""
        args = [self.data.source,
                "--hidden", str(self.model.hidden_size), "--layers", str(self.model.num_layers),
                "--dropout", repr(self.model.dropout),
                "--optimizer", self.optimizer.name, "--lr", repr(self.optimizer.lr),
                "--weight-decay", repr(self.optimizer.weight_decay),
                "--batch-size", str(self.batch_size), "--epochs", str(self.epochs),
                "--monitor", self.early_stopping.monitor, "--val-fraction", repr(self.data.val_fraction),
                "--seed", str(self.seed), "--scheduler", self.optimizer.scheduler,
                "--class-weights", self.class_weights, "--device", self.device]
        if self.model.bidirectional:
            args.append("--bidirectional")
        if self.model.readout != "last":
            args += ["--readout", self.model.readout]
        if self.model.patch_length != 1:
            args += ["--patch", str(self.model.patch_length)]
        if self.optimizer.name == "sgd":
            args += ["--momentum", repr(self.optimizer.momentum)]
        if self.early_stopping.patience is not None:
            args += ["--early-stopping", str(self.early_stopping.patience)]
            if self.early_stopping.min_delta:
                args += ["--min-delta", repr(self.early_stopping.min_delta)]
        if self.optimizer.clip_grad is not None:
            args += ["--clip-grad", repr(self.optimizer.clip_grad)]
        if self.data.standardize is not None:
            args.append("--standardize" if self.data.standardize else "--no-standardize")
        if self.record_train != "eval":
            args += ["--record-train", self.record_train]
        if self.control != "none":
            args += ["--control", self.control]
        return args

    @classmethod
    def from_dict(cls, payload: dict) -> TrainConfig:
        """Build from :meth:`to_dict` output; raises ConfigError with one line on bad values."""
        return build_config(cls, **payload)


def apply_changes(config: TrainConfig, changes: dict) -> TrainConfig:
    """``config`` with dotted-path ``changes`` applied (``{"model.dropout": 0.2}``); validated like user input."""
    payload = config.to_dict()
    for path, value in changes.items():
        node = payload
        *parents, leaf = path.split(".")
        for key in parents:
            node = node[key]
        node[leaf] = value
    return TrainConfig.from_dict(payload)


#: CLI option names of config fields, so error messages name what the user typed.
OPTION_NAMES = {
    "hidden_size": "--hidden", "num_layers": "--layers", "dropout": "--dropout", "lr": "--lr",
    "weight_decay": "--weight-decay", "batch_size": "--batch-size", "epochs": "--epochs",
    "patience": "--early-stopping", "monitor": "--monitor", "val_fraction": "--val-fraction",
    "seed": "--seed", "clip_grad": "--clip-grad", "scheduler": "--scheduler", "name": "--optimizer",
    "class_weights": "--class-weights", "min_delta": "--min-delta", "momentum": "--momentum",
    "readout": "--readout", "patch_length": "--patch",
}


def build_config(model_type: type[BaseModel], **values) -> BaseModel:
    """Construct a config, turning pydantic's validation error into a one-line :class:`ConfigError`."""
    try:
        return model_type(**values)
    except ValidationError as error:
        first = error.errors()[0]
        # A union's member adds its type to the location ("patch_length", "constrained-int"): name the field.
        names = [str(part) for part in first["loc"] if isinstance(part, str) and part.isidentifier()]
        field = names[-1] if names else "value"
        option = OPTION_NAMES.get(field, field)
        got = first.get("input")
        raise ConfigError(f"invalid {option}: {first['msg'].lower()} (got {got!r}); "
                          f"see 'lossgap train --help' for the allowed values") from None
