"""Named synthetic tasks with a known answer: ``synthetic:NAME[,option=value...]``.

* ``random-labels`` — the article's setup: Gaussian inputs, labels drawn independently of them. Nothing
  can be learned; a model can only memorise. Defaults are the article's shapes: 100 sequences of length 20
  with 1 feature, 2 classes.
* ``sum-sign`` — learnable: the class is the sign of the sum of the first feature over the sequence's valid
  steps (with more classes or ``shares``: bins of that sum holding those shares of the samples).
* ``frequency`` — learnable: each class is a sine of its own frequency with random phase, plus noise.

Options (all tasks): ``samples`` (100), ``length`` (20), ``features`` (1), ``classes`` (2), ``seed`` (0, the
data seed; the run's seed only splits and trains), ``noise`` (share of labels flipped to another class, 0),
``min_length`` (= length; smaller gives variable lengths), ``test_samples`` (0: no test split), ``shares``
(class shares such as ``90/5/5``, default equal: exact for ``sum-sign``, which bins by them; class probabilities
for ``frequency`` and ``random-labels``, whose counts scatter around them), ``sigma`` (feature noise added after the label is fixed:
0 for sum-sign, 0.5 for frequency).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from lossgap.data.sequence import SequenceData
from lossgap.errors import DataError

TASKS = ("random-labels", "sum-sign", "frequency")


@dataclass(frozen=True)
class SyntheticSpec:
    """A parsed ``synthetic:`` source string."""

    task: str
    samples: int = 100
    length: int = 20
    features: int = 1
    classes: int = 2
    seed: int = 0
    noise: float = 0.0
    min_length: int | None = None
    test_samples: int = 0
    shares: tuple[float, ...] | None = None
    sigma: float | None = None

    def class_shares(self) -> np.ndarray:
        """Share of each class, float64 (C,), summing to 1."""
        if self.shares is None:
            return np.full(self.classes, 1.0 / self.classes)
        shares = np.asarray(self.shares, dtype=np.float64)
        return shares / shares.sum()


@dataclass(frozen=True, eq=False)
class SyntheticData:
    """A generated data set: all non-test samples, the optional test split, and the ids whose label was flipped."""

    data: SequenceData
    test: SequenceData | None
    flipped_ids: np.ndarray


def parse_synthetic(source: str) -> SyntheticSpec:
    """The spec of a ``synthetic:NAME[,key=value...]`` string; raises DataError naming a bad part."""
    body = source.split(":", 1)[1]
    task, *options = [part.strip() for part in body.split(",")]
    if task not in TASKS:
        raise DataError(f"unknown synthetic task '{task}'; choose one of {', '.join(TASKS)}")
    known = {field.name: field.type for field in fields(SyntheticSpec) if field.name != "task"}
    values: dict[str, object] = {}
    for option in options:
        key, sep, raw = option.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            raise DataError(f"'{option}' in {source!r} is not an option of synthetic data; use key=value with keys "
                            f"{', '.join(known)}")
        try:
            if key == "shares":
                values[key] = tuple(float(share) for share in raw.split("/"))
            elif key in ("noise", "sigma"):
                values[key] = float(raw)
            else:
                values[key] = int(raw)
        except ValueError:
            raise DataError(f"'{option}' in {source!r} needs a number (shares as 90/5/5)") from None
    spec = SyntheticSpec(task=task, **values)
    _check_spec(spec, source)
    return spec


def _check_spec(spec: SyntheticSpec, source: str) -> None:
    def fail(problem: str) -> None:
        raise DataError(f"{source!r}: {problem}")

    if spec.samples < 2 or spec.length < 1 or spec.features < 1:
        fail("samples must be at least 2, length and features at least 1")
    if spec.classes < 2:
        fail("classes must be at least 2; a classifier needs 2 classes or more")
    if not 0.0 <= spec.noise < 1.0:
        fail("noise is the share of flipped labels and must lie in [0, 1)")
    if spec.min_length is not None and not 1 <= spec.min_length <= spec.length:
        fail(f"min_length must lie in [1, length={spec.length}]")
    if spec.test_samples < 0:
        fail("test_samples must be 0 or more")
    if spec.shares is not None and (len(spec.shares) != spec.classes or min(spec.shares) <= 0):
        fail(f"shares must give {spec.classes} positive numbers, one per class (e.g. classes=3,shares=90/5/5)")
    if spec.shares is not None:
        # Percentages or fractions, within 1% of their whole (33/33/33 is a third each); 50/60 is a typo, not
        # a share, and would silently become 45/55.
        total = sum(spec.shares)
        if not (abs(total - 100) <= 1 or abs(total - 1) <= 0.01):
            fail(f"shares sum to {total:g}; give percentages that sum to 100 (e.g. shares=90/5/5) or fractions that "
                 "sum to 1 (shares=0.9/0.05/0.05)")
    if spec.sigma is not None and spec.sigma < 0:
        fail("sigma must be 0 or more")


def generate_synthetic(source: str) -> SyntheticData:
    """Generate the data a ``synthetic:`` source describes; the same string always gives the same data."""
    spec = parse_synthetic(source)
    rng = np.random.default_rng(spec.seed)
    total = spec.samples + spec.test_samples
    lengths = _lengths(spec, total, rng)
    if spec.task == "frequency":
        features, labels = _frequency(spec, lengths, rng)
    else:
        features = rng.standard_normal((total, spec.length, spec.features)).astype(np.float32)
        if spec.task == "random-labels":
            labels = rng.choice(spec.classes, size=total, p=spec.class_shares())
        else:
            valid = np.arange(spec.length)[None, :] < lengths[:, None]
            labels = _bin_by_shares((features[:, :, 0] * valid).sum(axis=1), spec.class_shares())
        if spec.sigma:
            features += spec.sigma * rng.standard_normal(features.shape).astype(np.float32)
    labels, flipped = _flip(labels, spec, rng)
    features[np.arange(spec.length)[None, :] >= lengths[:, None]] = 0.0
    ids = np.arange(total, dtype=np.int64)
    everything = SequenceData(features, lengths, labels, ids, tuple(f"class_{c}" for c in range(spec.classes)),
                              name=source, split="train")
    data = everything.subset(np.arange(spec.samples))
    test = everything.subset(np.arange(spec.samples, total), split="test") if spec.test_samples else None
    return SyntheticData(data=data, test=test, flipped_ids=ids[flipped])


def _lengths(spec: SyntheticSpec, total: int, rng: np.random.Generator) -> np.ndarray:
    if spec.min_length is None or spec.min_length == spec.length:
        return np.full(total, spec.length, dtype=np.int64)
    return rng.integers(spec.min_length, spec.length + 1, size=total).astype(np.int64)


def _bin_by_shares(score: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Class of each sample: the lowest scores go to class 0, the next to class 1, ..., in the given shares."""
    if len(shares) == 2 and np.isclose(shares[0], 0.5):
        return (score > 0).astype(np.int64)
    ranks = np.argsort(np.argsort(score, kind="stable"), kind="stable")
    bounds = np.round(np.cumsum(shares) * len(score)).astype(np.int64)
    return np.searchsorted(bounds, ranks, side="right").astype(np.int64)


def _frequency(spec: SyntheticSpec, lengths: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    total = len(lengths)
    labels = rng.choice(spec.classes, size=total, p=spec.class_shares())
    # Frequencies spread between 1 and 4 cycles per 20 steps, so neighbouring classes stay distinguishable.
    cycles = np.linspace(1.0, 4.0, spec.classes)[labels] * spec.length / 20.0
    phase = rng.uniform(0, 2 * np.pi, size=(total, 1, spec.features))
    steps = np.arange(spec.length)[None, :, None]
    signal = np.sin(2 * np.pi * cycles[:, None, None] * steps / spec.length + phase)
    sigma = 0.5 if spec.sigma is None else spec.sigma
    features = signal + sigma * rng.standard_normal(signal.shape)
    return features.astype(np.float32), labels.astype(np.int64)


def _flip(labels: np.ndarray, spec: SyntheticSpec, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Labels with exactly round(noise x N) of them moved to another class; returns (labels, flipped mask)."""
    flipped = np.zeros(len(labels), dtype=bool)
    count = int(round(spec.noise * len(labels)))
    if count == 0:
        return labels, flipped
    chosen = rng.choice(len(labels), size=count, replace=False)
    flipped[chosen] = True
    shift = rng.integers(1, spec.classes, size=count)
    labels = labels.copy()
    labels[chosen] = (labels[chosen] + shift) % spec.classes
    return labels, flipped
