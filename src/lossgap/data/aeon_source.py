"""UCR/UEA classification data sets that ship inside the aeon package, read offline with their own train/test split.

aeon is the optional extra ``lossgap[data]`` and is imported only inside the functions here. The files are read
straight from the installed package (``aeon/datasets/data/<Name>/<Name>_TRAIN.ts``) with aeon's public
``load_from_ts_file``: aeon's ``load_classification`` would try to download anything it does not find locally,
and reading the shipped files by path means no call here can ever reach the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lossgap.data.labels import class_names_of, encode_labels
from lossgap.data.sequence import SequenceData
from lossgap.errors import DataError

#: Classification sets shipped inside the aeon wheel (aeon 1.x), in the spelling of their directories.
#: Left out on purpose: UnitTest (a 20-sample cut of Chinatown for aeon's own tests) and Covid3Month_disc
#: (a discretised regression problem), which are fixtures rather than UCR/UEA benchmark sets.
AEON_DATASETS: tuple[str, ...] = (
    "ACSF1",
    "ArrowHead",
    "BasicMotions",
    "GunPoint",
    "ItalyPowerDemand",
    "JapaneseVowels",
    "OSULeaf",
    "PickupGestureWiimoteZ",
)

_INSTALL_HINT = "pip install 'lossgap[data]'"


@dataclass(frozen=True)
class AeonDatasetInfo:
    """Size and shape of one shipped aeon data set, as :func:`load_aeon` returns it.

    Lengths are in time steps, over both splits; ``min_length == max_length`` for equal-length sets.
    """

    name: str
    train_samples: int
    test_samples: int
    num_classes: int
    num_channels: int
    min_length: int
    max_length: int

    @property
    def variable_length(self) -> bool:
        """True when the series do not all have the same length."""
        return self.min_length != self.max_length

    @property
    def length_text(self) -> str:
        """The length as shown to users: "150", or "7-29" when lengths vary."""
        if self.variable_length:
            return f"{self.min_length}-{self.max_length}"
        return str(self.max_length)


def canonical_name(name: str) -> str:
    """The spelling in :data:`AEON_DATASETS` of ``name`` (matched case-insensitively); raises DataError if unknown."""
    wanted = name.strip().lower()
    for known in AEON_DATASETS:
        if known.lower() == wanted:
            return known
    raise DataError(f"unknown aeon data set {name!r}; choose one of {', '.join(AEON_DATASETS)} "
                    "(shipped with aeon, listed by 'lossgap datasets')")


def load_aeon(name: str) -> tuple[SequenceData, SequenceData]:
    """The (train, test) splits of the shipped aeon data set ``name``, with the data set's own split.

    Features are float32 (N, T, channels), time-major, zero beyond each series' length; lengths count the valid
    time steps (trailing all-NaN steps, which some sets use as padding, are not counted). Class names are the
    sorted label strings (numerically when all are numbers) and encode both splits alike. Ids are int64 and
    unique across the two splits: train 0..n-1, test n..n+m-1. Both splits are named ``aeon:<Name>``.
    """
    dataset = canonical_name(name)
    source = f"aeon:{dataset}"
    load_from_ts_file, data_dir = _aeon_reader(source)
    raw: dict[str, tuple[list[np.ndarray], np.ndarray]] = {}
    for split in ("train", "test"):
        path = data_dir / dataset / f"{dataset}_{split.upper()}.ts"
        if not path.is_file():
            raise DataError(f"{source}: the installed aeon ({_aeon_version()}) does not ship {path.name}; "
                            f"reinstall it with {_INSTALL_HINT} or choose another set")
        series, labels = load_from_ts_file(str(path))
        raw[split] = (_as_series_list(series), np.asarray(labels))
    class_names = class_names_of(raw["train"][1], raw["test"][1])
    train = _sequence_data(*raw["train"], class_names, source, "train", first_id=0)
    test = _sequence_data(*raw["test"], class_names, source, "test", first_id=train.num_samples)
    if test.num_features != train.num_features:
        raise DataError(f"{source}: the test split has {test.num_features} channels but train has "
                        f"{train.num_features}; the installed aeon's files are inconsistent, reinstall aeon")
    return train, test


def describe_aeon(name: str) -> AeonDatasetInfo:
    """Sizes of the shipped aeon data set ``name``, measured by loading it with :func:`load_aeon`."""
    train, test = load_aeon(name)
    lengths = np.concatenate([train.lengths, test.lengths])
    return AeonDatasetInfo(
        name=canonical_name(name),
        train_samples=train.num_samples,
        test_samples=test.num_samples,
        num_classes=train.num_classes,
        num_channels=train.num_features,
        min_length=int(lengths.min()),
        max_length=int(lengths.max()),
    )


def available_datasets() -> list[AeonDatasetInfo]:
    """Every set in :data:`AEON_DATASETS` with its sizes, in that order (loads each once, about 0.2 s in all)."""
    _aeon_reader("listing the aeon data sets")
    return [describe_aeon(name) for name in AEON_DATASETS]


def _aeon_reader(what: str):
    """aeon's ``load_from_ts_file`` and the directory of the shipped data; DataError when aeon is missing."""
    try:
        import aeon.datasets as aeon_datasets
        from aeon.datasets import load_from_ts_file
    except ImportError:
        raise DataError(f"{what} needs the optional extra: {_INSTALL_HINT}") from None
    return load_from_ts_file, Path(aeon_datasets.__file__).parent / "data"


def _aeon_version() -> str:
    """"aeon X.Y.Z" for messages, or just "aeon" when the distribution metadata is missing."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"aeon {version('aeon')}"
    except PackageNotFoundError:
        return "aeon"


def _as_series_list(series) -> list[np.ndarray]:
    """One float64 (channels, length) array per series, from aeon's (N, C, L) array or list of (C, L_i) arrays."""
    if isinstance(series, np.ndarray) and series.ndim == 3:
        return list(series.astype(np.float64, copy=False))
    return [np.asarray(item, dtype=np.float64).reshape(-1, np.shape(item)[-1]) for item in series]


def _sequence_data(series: list[np.ndarray], labels: np.ndarray, class_names: tuple[str, ...], source: str,
                   split: str, first_id: int) -> SequenceData:
    """Pad channel-major series into time-major (N, T, C) with zeros; trailing all-NaN steps end a series."""
    where = f"{source} ({split} split)"
    if len(series) != len(labels):
        raise DataError(f"{where}: {len(series)} series but {len(labels)} labels; the installed aeon's file is "
                        "damaged, reinstall aeon")
    lengths = np.empty(len(series), dtype=np.int64)
    for index, item in enumerate(series):
        # A step counts as present when any channel has a value: NaN-padded tails end the series there, while a
        # NaN inside a series stays and is reported by SequenceData as missing data.
        present = np.flatnonzero(~np.isnan(item).all(axis=0))
        if present.size == 0:
            raise DataError(f"{where}: series {index} has no values (all NaN); the installed aeon's file is "
                            "damaged, reinstall aeon")
        lengths[index] = present[-1] + 1
    channels = {item.shape[0] for item in series}
    if len(channels) != 1:
        raise DataError(f"{where}: series have different channel counts {sorted(channels)}; "
                        "lossgap needs the same channels in every series")
    features = np.zeros((len(series), int(lengths.max()), channels.pop()), dtype=np.float32)
    for index, (item, length) in enumerate(zip(series, lengths)):
        features[index, :length] = item[:, :length].T
    ids = np.arange(first_id, first_id + len(series), dtype=np.int64)
    return SequenceData(features=features, lengths=lengths, labels=encode_labels(labels, class_names, where),
                        ids=ids, class_names=class_names, name=source, split=split)
