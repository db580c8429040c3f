"""The train and sweep commands' config options, generated from the declarations on the config fields.

A command declares its own arguments and ends its signature in ``**options``; :func:`config_options` adds one
typer option per declared :class:`~lossgap.training.config.TrainConfig` field (flag, help, default from the
field), and :func:`config_from_options` turns what the user typed back into a validated config.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, Optional

import typer

from lossgap.options import OptionSpec, option_specs, set_at
from lossgap.training.config import TrainConfig, build_config

_TYPES = {"flag": bool, "switch": bool, "int": int, "float": float, "text": str}


def train_option_specs(exclude: Iterable[str] = ()) -> list[OptionSpec]:
    """The declared options of TrainConfig, without the dotted paths in ``exclude``."""
    excluded = set(exclude)
    return [spec for spec in option_specs(TrainConfig) if spec.path not in excluded]


def config_options(exclude: Iterable[str] = (), help_overrides: dict[str, str] | None = None
                   ) -> Callable[[Callable], Callable]:
    """Decorator: replace the command's ``**options`` by one typer option per declared config option.

    ``exclude`` leaves options out (dotted paths: a sweep searches ``optimizer.lr`` instead of taking it);
    ``help_overrides`` maps a path to the help this command shows instead.
    """
    specs = train_option_specs(exclude)
    overrides = help_overrides or {}

    def decorate(command: Callable) -> Callable:
        signature = inspect.signature(command)
        own = [parameter for parameter in signature.parameters.values()
               if parameter.kind is not inspect.Parameter.VAR_KEYWORD]
        generated = []
        for spec in specs:
            python_type = _TYPES[spec.kind]
            annotation = Optional[python_type] if spec.optional else python_type
            default = typer.Option(spec.default, *spec.flag.split(" "), help=overrides.get(spec.path, spec.help),
                                   metavar=spec.metavar, show_default=spec.kind not in ("flag", "switch"))
            generated.append(inspect.Parameter(spec.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                               annotation=annotation))

        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return command(*args, **kwargs)

        wrapper.__signature__ = signature.replace(parameters=[*own, *generated])  # type: ignore[attr-defined]
        return wrapper

    return decorate


def config_from_options(source: str, options: dict[str, Any], exclude: Iterable[str] = ()) -> TrainConfig:
    """The TrainConfig of data ``source`` and the typed ``options`` (by option name); ConfigError on bad values."""
    payload: dict[str, Any] = {"data": {"source": source}}
    for spec in train_option_specs(exclude):
        if spec.name in options:
            set_at(payload, spec.path, options[spec.name])
    return build_config(TrainConfig, **payload)
