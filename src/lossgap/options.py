"""Options declared once, on the config fields: flag, help and default live on the pydantic field.

``option(default, "--hidden", "help", gt=0)`` is a pydantic ``Field`` that also carries its command-line
flag. The train and sweep commands, :meth:`TrainConfig.to_cli_args` (the rerun command) and error messages
all derive from these declarations (:func:`option_specs`), so adding an option touches the config and the
code that uses it, nothing else.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field


def option(default: Any, flag: str, help: str, *, always: bool = False, metavar: str | None = None,
           **constraints: Any) -> Any:
    """A pydantic ``Field`` with ``default`` and ``constraints`` that the CLI offers as ``flag`` with ``help``.

    ``always``: the rerun command spells it even at its default (the figures a reader looks for first);
    other options appear there only when they differ from their default. A ``bool`` option defaulting to
    False is a flag (``--bidirectional``); an optional bool is a pair (``--standardize/--no-standardize``).
    """
    extra = {"flag": flag, "always": always}
    if metavar is not None:
        extra["metavar"] = metavar
    return Field(default, description=help, json_schema_extra=extra, **constraints)


@dataclass(frozen=True)
class OptionSpec:
    """One declared option: its dotted config path, flag, help, default and how the command line spells it.

    ``kind`` is "flag" (bool, off by default), "switch" (bool or None: ``--x/--no-x``), "int", "float" or "text"
    (strings, choices and mixed types such as an int or "auto", validated by the config).
    """

    path: str
    flag: str
    help: str
    default: Any
    kind: str
    optional: bool
    always: bool
    metavar: str | None = None

    @property
    def name(self) -> str:
        """The Python identifier of the option: the flag without dashes (``--weight-decay`` -> weight_decay)."""
        return self.flag.split("/")[0].lstrip("-").replace("-", "_")

    def spell(self, value: Any) -> list[str]:
        """The command-line words that set ``value`` ([] for None and for an unset flag)."""
        if value is None:
            return []
        if self.kind == "flag":
            return [self.flag] if value else []
        if self.kind == "switch":
            on, off = self.flag.split("/")
            return [on if value else off]
        return [self.flag, repr(value) if isinstance(value, float) else str(value)]


def option_specs(model: type[BaseModel], prefix: str = "") -> Iterator[OptionSpec]:
    """Every declared option of ``model`` and its nested configs, in declaration order."""
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from option_specs(annotation, f"{prefix}{name}.")
            continue
        extra = field.json_schema_extra
        if not isinstance(extra, dict) or "flag" not in extra:
            continue
        kind, optional = _kind_of(annotation)
        if kind == "bool":
            kind = "switch" if optional else "flag"
        yield OptionSpec(path=f"{prefix}{name}", flag=str(extra["flag"]), help=field.description or "",
                         default=field.default, kind=kind, optional=optional, always=bool(extra.get("always")),
                         metavar=extra.get("metavar"))


def value_at(payload: dict, path: str) -> Any:
    """The value at dotted ``path`` of a nested dict (KeyError when absent)."""
    node: Any = payload
    for key in path.split("."):
        node = node[key]
    return node


def set_at(payload: dict, path: str, value: Any) -> None:
    """Set dotted ``path`` of a nested dict to ``value``, creating the sub-dicts on the way."""
    *parents, leaf = path.split(".")
    node = payload
    for key in parents:
        node = node.setdefault(key, {})
    node[leaf] = value


def _kind_of(annotation: Any) -> tuple[str, bool]:
    """("bool" | "int" | "float" | "text", optional) of a field's annotation."""
    members = typing.get_args(annotation) if _is_union(annotation) else (annotation,)
    optional = type(None) in members
    concrete = [member for member in members if member is not type(None)]
    if len(concrete) == 1 and concrete[0] in (bool, int, float):
        return concrete[0].__name__, optional
    return "text", optional


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)
