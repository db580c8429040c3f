"""A run's data file read back from its config.json, for the steps that load the data again (``lossgap train
--resume``, ``lossgap remedy``; the report's suspect inputs can use it too).

Since lossgap stores a data file's path absolute (:class:`~lossgap.data.DataConfig`), config.json names the
file whatever the directory the run is used from. Runs written by an older lossgap keep the path as it was
typed, relative to the directory the run was trained in, which config.json does not record. Such a path is
looked for in the current directory only, and the file found there must hold the data config.json describes
(split sizes, class counts, features), else the run is refused in one line naming the path and the fix:

- the current directory is where an older lossgap itself resolved the path, where a user who trains and
  analyses from one project directory works, and the one directory the user can choose (``cd``);
- the run directory's place says nothing about where training was launched (``--out`` may be absolute,
  ``../runs/x``, or moved since), so looking in its ancestors would be a guess, and a guess can find another
  file of the same common name (``data/train.csv``) and train on other data without a word.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from lossgap.data.config import is_file_source
from lossgap.errors import DataError, LossgapError
from lossgap.run.rundir import CONFIG_FILE
from lossgap.training.config import TrainConfig


def stored_relative(source: object) -> bool:
    """True when ``source`` (config.json's ``train.data.source``) names a data file by a relative path, as a
    lossgap from before paths were stored absolute wrote it."""
    return is_file_source(source) and not os.path.isabs(os.path.expanduser(source))


def run_train_config(config: dict, run: str | Path) -> TrainConfig:
    """The :class:`TrainConfig` of the run in ``run`` (``config``: its config.json as read), with its data file
    located; returns it, its data source an absolute path.

    An older run's relative data path is resolved against the current directory and the data found there are
    loaded once and compared with the run's description. DataError (one line) naming the stored path, that an
    older lossgap stored it relative, and the fix, when no file is there or it holds other data; ConfigError
    (one line) as :meth:`TrainConfig.from_dict` for options this lossgap cannot rebuild.
    """
    train = config["train"]
    built = TrainConfig.from_dict(train)  # a relative path comes out absolute, against the current directory
    source = (train.get("data") or {}).get("source")
    if not stored_relative(source):
        return built
    config_file = Path(run) / CONFIG_FILE
    found = Path(built.data.source)
    origin = (f"{config_file} names its data file by the relative path {source!r}, as an older lossgap stored it "
              "(relative to the directory the run was trained in, which it did not record)")
    fix = (f"work from the directory the run was trained in (this is {os.getcwd()}), or set train.data.source in "
           f"{config_file} to the file's absolute path")
    if not found.is_file():
        raise DataError(f"{origin}; it is not in the current directory ({found} does not exist); {fix}")
    difference = _difference(config.get("data") or {}, built)
    if difference:
        raise DataError(f"{origin}; {found} in the current directory {difference}; {fix}")
    return built


def _difference(described: dict, config: TrainConfig) -> str | None:
    """How the data ``config`` loads differ from config.json's ``described`` data (see :func:`splits_difference`),
    or "cannot be loaded (...)"; None when they agree in all that is described."""
    from lossgap.data import load_data

    try:
        splits = load_data(config.data, config.seed).splits
    except LossgapError as error:
        return f"cannot be loaded ({error})"
    return splits_difference(described, splits)


def splits_difference(described: dict, splits) -> str | None:
    """How ``splits`` (a DatasetSplits) differ from config.json's ``described`` data (split names and sizes, class
    counts, features), worded to follow "FILE ..." ("holds other data (...)"), or None when they agree in all that
    is described."""
    parts = splits.splits()
    sizes = described.get("sizes") or {}
    if sizes and set(sizes) != set(parts):
        return f"holds other data (splits {sorted(parts)}, the run's {sorted(sizes)})"
    for name, part in parts.items():
        if name in sizes and sizes[name] != part.num_samples:
            return f"holds other data ({name} has {part.num_samples} samples, the run's {sizes[name]})"
        counts = (described.get("class_counts") or {}).get(name)
        if counts is not None and list(counts) != part.class_counts().tolist():
            return (f"holds other data ({name} has class counts {part.class_counts().tolist()}, the run's "
                    f"{list(counts)})")
    features = described.get("num_features")
    if features is not None and features != splits.num_features:
        return f"holds other data ({splits.num_features} features per step, the run's {features})"
    return None


def command_as_stored(command: str, config: TrainConfig, train: dict | None) -> str:
    """``command`` (a ``lossgap train`` line built from ``config``) with an older run's relative data path put
    back as config.json stored it (``train``: its ``train`` entry): building the config made it absolute against
    the current directory, which need not be the one the run was trained in; as stored, the command works from
    there. Returns ``command`` unchanged for every other run."""
    source = ((train or {}).get("data") or {}).get("source")
    if not stored_relative(source):
        return command
    return command.replace(shlex.quote(config.data.source), shlex.quote(source), 1)
