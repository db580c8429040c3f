"""The hyperparameter search space of ``lossgap sweep`` and how a trial samples it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lossgap.errors import ConfigError


@dataclass(frozen=True)
class SearchSpace:
    """Ranges searched by TPE: learning rate and weight decay on a log scale, the rest as given."""

    lr: tuple[float, float] = (1e-4, 3e-2)
    hidden: tuple[int, ...] = (16, 32, 64, 128)
    layers: tuple[int, int] = (1, 2)
    dropout: tuple[float, float] = (0.0, 0.5)
    weight_decay: tuple[float, float] = (1e-6, 1e-2)
    batch: tuple[int, ...] = (16, 32, 64)

    def __post_init__(self) -> None:
        for name, (low, high), positive in (("--lr-range", self.lr, True), ("--layers-range", self.layers, True),
                                            ("--dropout-range", self.dropout, False),
                                            ("--weight-decay-range", self.weight_decay, True)):
            if not low <= high or (positive and low <= 0) or low < 0:
                raise ConfigError(f"{name} must be LOW:HIGH with 0 {'<' if positive else '<='} LOW <= HIGH, "
                                  f"got {low}:{high}")
        if self.dropout[1] >= 1:
            raise ConfigError(f"--dropout-range must stay below 1, got {self.dropout[1]}")
        for name, choices in (("--hidden-choices", self.hidden), ("--batch-choices", self.batch)):
            if not choices or min(choices) < 1:
                raise ConfigError(f"{name} must list positive integers, e.g. 16,32,64")

    def suggest(self, trial) -> dict:
        """Sampled TrainConfig changes (dotted paths) for an Optuna trial."""
        return {
            "optimizer.lr": trial.suggest_float("lr", *self.lr, log=True),
            "model.hidden_size": trial.suggest_categorical("hidden", list(self.hidden)),
            "model.num_layers": trial.suggest_int("layers", *self.layers),
            "model.dropout": trial.suggest_float("dropout", *self.dropout),
            "optimizer.weight_decay": trial.suggest_float("weight_decay", *self.weight_decay, log=True),
            "batch_size": trial.suggest_categorical("batch", list(self.batch)),
        }

    def to_dict(self) -> dict:
        """JSON-ready form, stored on the study so a rerun with another space is refused."""
        return {key: list(value) for key, value in asdict(self).items()}


def parse_range(text: str, option: str, kind=float) -> tuple:
    """``"1e-4:3e-2"`` -> (1e-4, 3e-2); ConfigError naming ``option`` otherwise."""
    try:
        low, high = (kind(part) for part in text.split(":"))
    except ValueError:
        raise ConfigError(f"{option} must be LOW:HIGH, e.g. {'1e-4:3e-2' if kind is float else '1:3'}; "
                          f"got {text!r}") from None
    return (low, high)


def parse_choices(text: str, option: str) -> tuple[int, ...]:
    """``"16,32,64"`` -> (16, 32, 64); ConfigError naming ``option`` otherwise."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{option} must be comma-separated integers, e.g. 16,32,64; got {text!r}") from None
