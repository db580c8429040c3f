"""The search space of ``lossgap sweep``: what TPE samples, how the options spell it, how a sample becomes a config.

Six hyperparameters are searched, and the model family when ``--model-choices`` names several: learning rate and weight decay on a log scale, dropout on a linear scale,
layers as an integer range, hidden size and batch size as lists of choices. A range whose two ends are
equal fixes that hyperparameter (``--dropout-range 0:0``); weight decay ``0:0`` switches it off.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from lossgap.errors import ConfigError
from lossgap.model.registry import MODELS
from lossgap.training.config import TrainConfig, apply_changes

#: Search-space field -> the sweep option that sets it (error messages name what the user typed).
SPACE_OPTIONS = {"lr": "--lr-range", "hidden": "--hidden-choices", "layers": "--layers-range",
                 "dropout": "--dropout-range", "weight_decay": "--weight-decay-range", "batch": "--batch-choices",
                 "model": "--model-choices"}
#: Search-space field -> the TrainConfig field (dotted path) a sampled value goes to.
SEARCHED_PATHS = {"lr": "optimizer.lr", "hidden": "model.hidden_size", "layers": "model.num_layers",
                  "dropout": "model.dropout", "weight_decay": "optimizer.weight_decay", "batch": "batch_size",
                  "model": "model.kind"}
#: Train options a sweep does not take: the searched ones, and those its trials fix (judged on val loss,
#: recorded from the training pass, no test split, no control run).
SWEEP_FIXED = (*SEARCHED_PATHS.values(), "early_stopping.monitor", "record_train", "record_test", "control", "refit")


@dataclass(frozen=True)
class SearchSpace:
    """Ranges (LOW, HIGH) and choices searched by TPE; each field is validated on construction (ConfigError)."""

    lr: tuple[float, float] = (1e-4, 3e-2)
    hidden: tuple[int, ...] = (16, 32, 64, 128)
    layers: tuple[int, int] = (1, 2)
    dropout: tuple[float, float] = (0.0, 0.5)
    weight_decay: tuple[float, float] = (1e-6, 1e-2)
    batch: tuple[int, ...] = (16, 32, 64)
    model: tuple[str, ...] = ("lstm",)

    def __post_init__(self) -> None:
        _check_range("lr", self.lr, low_bound=0.0, low_inclusive=False)
        _check_range("layers", self.layers, low_bound=1, low_inclusive=True)
        _check_range("dropout", self.dropout, low_bound=0.0, low_inclusive=True)
        if self.dropout[1] >= 1:
            raise ConfigError(f"--dropout-range must stay below 1, got {_spell('dropout', self.dropout)}")
        if self.weight_decay != (0, 0):
            # A log scale cannot reach 0; "0:0" is the way to say "no weight decay".
            _check_range("weight_decay", self.weight_decay, low_bound=0.0, low_inclusive=False,
                         hint="; use 0:0 for no weight decay")
        if any(int(value) != value for value in self.layers):
            raise ConfigError(f"--layers-range takes whole numbers, got {_spell('layers', self.layers)}")
        for name in ("hidden", "batch"):
            choices = getattr(self, name)
            if not choices or any(int(value) != value or value < 1 for value in choices):
                raise ConfigError(f"{SPACE_OPTIONS[name]} must list positive whole numbers such as 16,32,64, "
                                  f"got {','.join(str(value) for value in choices) or 'nothing'}")
            # Sorted and unique, so "64,16" and "16,64,16" are the same space (and the same stored study).
            object.__setattr__(self, name, tuple(sorted({int(value) for value in choices})))
        object.__setattr__(self, "model", parse_model_choices(",".join(self.model)))
        object.__setattr__(self, "layers", (int(self.layers[0]), int(self.layers[1])))
        for name in ("lr", "dropout", "weight_decay"):
            low, high = getattr(self, name)
            object.__setattr__(self, name, (float(low), float(high)))

    def suggest(self, trial: Any) -> dict[str, float | int]:
        """Sample one point from ``trial`` (an ``optuna.Trial``); returns the parameters by field name."""
        params: dict[str, float | int] = {
            "lr": trial.suggest_float("lr", *self.lr, log=True),
            "hidden": trial.suggest_categorical("hidden", list(self.hidden)),
            "layers": trial.suggest_int("layers", *self.layers),
            "dropout": trial.suggest_float("dropout", *self.dropout),
            "batch": trial.suggest_categorical("batch", list(self.batch)),
        }
        params["weight_decay"] = (0.0 if self.weight_decay == (0.0, 0.0)
                                  else trial.suggest_float("weight_decay", *self.weight_decay, log=True))
        if len(self.model) > 1:
            # A single family is fixed in the base config (see fixed()), so the trials of studies from before
            # model families keep their parameters.
            params["model"] = trial.suggest_categorical("model", list(self.model))
        return params

    def fixed(self, base: TrainConfig) -> TrainConfig:
        """``base`` with what this space fixes put in place: the model family when only one is searched."""
        if len(self.model) == 1:
            return apply_changes(base, {SEARCHED_PATHS["model"]: self.model[0]})
        return base

    def to_dict(self) -> dict[str, list]:
        """JSON-ready form, stored on the study so that a rerun with other ranges is refused."""
        return {key: list(value) for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, payload: dict[str, list]) -> SearchSpace:
        """Inverse of :meth:`to_dict`."""
        # Studies from before model families stored no "model": they searched the LSTM only.
        return cls(**{key: tuple(value) for key, value in payload.items()})

    def differences(self, other: SearchSpace) -> list[str]:
        """Human-readable ``--option A (stored) vs B (now)`` for every field where ``other`` differs."""
        return [f"{option} {_spell(name, getattr(self, name))} vs {_spell(name, getattr(other, name))}"
                for name, option in SPACE_OPTIONS.items() if getattr(self, name) != getattr(other, name)]


def apply_params(base: TrainConfig, params: dict[str, float | int | str]) -> TrainConfig:
    """``base`` with sampled parameters (as returned by :meth:`SearchSpace.suggest`) put in place.

    Parameters missing from ``params`` keep the base value (e.g. weight decay when it is fixed at 0); sampled
    floats are rounded to SAMPLED_DIGITS significant digits (see :func:`readable`). Raises ConfigError (one
    line) if a value is out of the trainer's range.
    """
    return apply_changes(base, {SEARCHED_PATHS[name]: readable(value) for name, value in params.items()})


#: Significant digits a sampled float keeps: the trial trains exactly the value its command shows, and a
#: person reads 0.00346, not 0.0034567891234 (TPE's own resolution is no finer than that).
SAMPLED_DIGITS = 3


def readable(value: float | int | str) -> float | int | str:
    """A sampled float rounded to SAMPLED_DIGITS significant digits; other values unchanged."""
    return float(f"{value:.{SAMPLED_DIGITS}g}") if isinstance(value, float) else value


def trained_params(params: dict[str, float | int | str]) -> dict[str, float | int | str]:
    """A trial's parameters as its configuration trained them (sampled floats rounded, see :func:`readable`):
    what sweep.json, sweep.html and the terminal show, so that each matches the command."""
    return {name: readable(value) for name, value in params.items()}


def parse_range(text: str, option: str, kind: type = float) -> tuple:
    """``"1e-4:3e-2"`` -> ``(0.0001, 0.03)``; a single value ``"0.2"`` is not a range. ConfigError naming ``option``."""
    parts = text.split(":")
    example = "1e-4:3e-2" if kind is float else "1:3"
    try:
        if len(parts) != 2:
            raise ValueError
        low, high = (kind(part.strip()) for part in parts)
    except ValueError:
        raise ConfigError(f"{option} must be LOW:HIGH such as {example}, got {text!r}") from None
    return (low, high)


def parse_choices(text: str, option: str) -> tuple[int, ...]:
    """``"16,32,64"`` -> ``(16, 32, 64)``; ConfigError naming ``option`` for anything else."""
    try:
        choices = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated whole numbers such as 16,32,64, got {text!r}") from None
    if not choices:
        raise ConfigError(f"{option} must list at least one value, such as 16,32,64")
    return choices


def parse_model_choices(text: str) -> tuple[str, ...]:
    """``"lstm,lstm-fcn"`` -> ``("lstm", "lstm-fcn")`` (registry order, each once); ConfigError naming the families."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in MODELS]
    if unknown or not names:
        raise ConfigError(f"--model-choices must list model families from {', '.join(MODELS)}, got {text!r}")
    return tuple(name for name in MODELS if name in names)


def _check_range(name: str, bounds: tuple, *, low_bound: float, low_inclusive: bool, hint: str = "") -> None:
    option = SPACE_OPTIONS[name]
    if len(bounds) != 2:
        raise ConfigError(f"{option} must be LOW:HIGH, got {bounds!r}")
    low, high = bounds
    too_low = low < low_bound if low_inclusive else low <= low_bound
    if too_low or low > high:
        relation = "<=" if low_inclusive else "<"
        raise ConfigError(f"{option} must be LOW:HIGH with {low_bound:g} {relation} LOW <= HIGH, "
                          f"got {_spell(name, bounds)}{hint}")


def _spell(name: str, value: tuple) -> str:
    """How the option of field ``name`` would be typed: ``1e-4:3e-2`` for ranges, ``16,32`` for choices."""
    separator = "," if name in ("hidden", "batch", "model") else ":"
    return separator.join(item if isinstance(item, str) else f"{item:g}" for item in value)
