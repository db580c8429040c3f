"""Turn a data source string into train / val / test splits.

``synthetic:NAME[,opt=val]`` (generated), ``aeon:NAME`` (UCR/UEA sets shipped inside aeon), or a path to a
``.npz`` or long-format ``.csv`` file. Validation is carved from train, stratified by the run's seed, unless
the source fixes it; the test split is kept as the source gives it and never chooses anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lossgap.data.config import DataConfig
from lossgap.data.preprocessing import Standardizer
from lossgap.data.sequence import DatasetSplits, SequenceData
from lossgap.data.split import fraction_indices, stratified_split
from lossgap.errors import DataError


@dataclass(frozen=True, eq=False)
class LoadedData:
    """Splits ready for training, and the standardizer applied to them (None when off)."""

    splits: DatasetSplits
    standardizer: Standardizer | None


def source_kind(source: str) -> str:
    """"synthetic", "aeon", "npz" or "csv"; raises DataError for anything else."""
    if source.startswith("synthetic:"):
        return "synthetic"
    if source.startswith("aeon:"):
        return "aeon"
    suffix = Path(source).suffix.lower()
    if suffix in (".npz", ".csv"):
        return suffix[1:]
    raise DataError(f"unknown data source {source!r}; give a .npz or .csv file, synthetic:NAME "
                    "(random-labels, sum-sign, frequency) or aeon:NAME (see 'lossgap datasets')")


def read_source(source: str) -> dict[str, SequenceData]:
    """The splits a source provides by itself: "train", and "val" / "test" where it fixes them."""
    kind = source_kind(source)
    if kind == "synthetic":
        from lossgap.data.synthetic import generate_synthetic

        generated = generate_synthetic(source)
        parts = {"train": generated.data}
        if generated.test is not None:
            parts["test"] = generated.test
        return parts
    if kind == "aeon":
        from lossgap.data.aeon_source import load_aeon

        train, test = load_aeon(source.split(":", 1)[1])
        return {"train": train, "test": test}
    if kind == "npz":
        from lossgap.data.npz import read_npz

        return read_npz(source)
    from lossgap.data.csv_source import read_csv_data

    return read_csv_data(source)


def load_splits(source: str, *, val_fraction: float = 0.2, seed: int = 0,
                standardize: bool | None = None, train_fraction: float = 1.0) -> LoadedData:
    """Train / val / test splits of ``source``, standardised when asked.

    ``train_fraction`` < 1 keeps that stratified share of the training split (nested across fractions for one
    seed: :func:`~lossgap.data.split.fraction_indices`), cut after validation is carved out, so validation and
    test stay the same whatever the fraction.

    ``standardize=None`` means on for real data (files, aeon) and off for synthetic tasks, whose scale is
    already unit. The standardizer is fitted on the training split only.
    """
    parts = read_source(source)
    if "val" in parts:
        train, val, fixed = parts["train"], parts["val"], True
    else:
        train, val = stratified_split(parts["train"], val_fraction, seed)
        fixed = False
    if train_fraction < 1.0:
        train = train.subset(fraction_indices(train.labels, train_fraction, seed), split="train")
    splits = DatasetSplits(train=train, val=val, test=parts.get("test"), source=source, val_is_fixed=fixed)
    if standardize is None:
        standardize = source_kind(source) != "synthetic"
    if not standardize:
        return LoadedData(splits=splits, standardizer=None)
    standardizer = Standardizer.fit(splits.train)
    return LoadedData(splits=standardizer.transform_splits(splits), standardizer=standardizer)


def load_data(config: DataConfig, seed: int) -> LoadedData:
    """The splits a run with data options ``config`` and ``seed`` trains on (see :func:`load_splits`)."""
    return load_splits(config.source, val_fraction=config.val_fraction, seed=seed, standardize=config.standardize,
                       train_fraction=config.train_fraction)
