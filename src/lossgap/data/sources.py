"""Turn a data source string into train / val / test splits.

``synthetic:NAME[,opt=val]`` (generated), ``aeon:NAME`` (UCR/UEA sets shipped inside aeon), or a path to a
``.npz`` or long-format ``.csv`` file. Validation is carved from train, stratified by the run's seed, unless
the source fixes it; the test split is kept as the source gives it and never chooses anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

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
                standardize: bool | None = None, train_fraction: float = 1.0,
                drop_train_ids: str | None = None) -> LoadedData:
    """Train / val / test splits of ``source``, standardised when asked.

    ``train_fraction`` < 1 keeps that stratified share of the training split (nested across fractions for one
    seed: :func:`~lossgap.data.split.fraction_indices`), cut after validation is carved out, so validation and
    test stay the same whatever the fraction. ``drop_train_ids`` (comma-separated) leaves those samples out of the
    training split after that (:func:`drop_train_samples`).

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
    if drop_train_ids:
        train = drop_train_samples(train, val, drop_train_ids)
    splits = DatasetSplits(train=train, val=val, test=parts.get("test"), source=source, val_is_fixed=fixed)
    if standardize is None:
        standardize = source_kind(source) != "synthetic"
    if not standardize:
        return LoadedData(splits=splits, standardizer=None)
    standardizer = Standardizer.fit(splits.train)
    return LoadedData(splits=standardizer.transform_splits(splits), standardizer=standardizer)


def load_data(config: DataConfig, seed: int) -> LoadedData:
    """The splits a run with data options ``config`` and ``seed`` trains on (see :func:`load_splits`): split by
    ``config.split_seed`` where set, else by ``seed``."""
    split_seed = seed if config.split_seed is None else config.split_seed
    return load_splits(config.source, val_fraction=config.val_fraction, seed=split_seed, standardize=config.standardize,
                       train_fraction=config.train_fraction, drop_train_ids=config.drop_train_ids)


def _id_keys(ids: np.ndarray) -> np.ndarray:
    # Ids are integers or strings; the listed ones are compared as written on the command line.
    return np.asarray([str(sample_id) for sample_id in ids], dtype=object)


def drop_train_samples(train: SequenceData, val: SequenceData, listed: str) -> SequenceData:
    """``train`` without the samples whose ids ``listed`` (comma-separated) names. Listed ids in ``val`` stay there
    (another seed's split may hold a suspect of this one's); raises DataError for ids in neither split, and when
    nothing would be left to train on."""
    wanted = np.asarray(listed.split(","), dtype=object)
    train_keys, val_keys = _id_keys(train.ids), _id_keys(val.ids)
    unknown = wanted[~np.isin(wanted, train_keys) & ~np.isin(wanted, val_keys)]
    if unknown.size:
        raise DataError(f"--drop-train-ids: {unknown.size} of the {wanted.size} listed ids are no sample of the "
                        f"training data (e.g. {unknown[0]!r}); give ids as diagnosis.json's suspected_mislabeled "
                        "lists them")
    keep = np.flatnonzero(~np.isin(train_keys, wanted))
    if keep.size == 0:
        raise DataError("--drop-train-ids lists every training sample; nothing would be left to train on")
    return train.subset(keep, split="train")


def dropped_train_ids_payload(listed: str | None, splits: DatasetSplits) -> dict | None:
    """config.json's ``data.dropped_train_ids``: how many ids ``--drop-train-ids`` listed, and those left in val
    (None without the option)."""
    if not listed:
        return None
    wanted = listed.split(",")
    listed_keys = set(wanted)
    in_val = [sample_id for sample_id, key in zip(splits.val.ids.tolist(), _id_keys(splits.val.ids))
              if key in listed_keys]
    return {"listed": len(wanted), "dropped": len(wanted) - len(in_val), "in_val": in_val}
