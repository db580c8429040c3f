"""Class probabilities of a finished run's delivered model on one of its splits, and their average over runs.

``predict(run)`` rebuilds the model the run delivers (its checkpoint, loaded with ``weights_only=True``) and the
split from the run's own data options and seed (same split, same train-fitted standardisation), and evaluates it in
large batches under ``torch.inference_mode()``. ``average_predictions`` averages the probabilities of several runs on
the same samples: a seed ensemble, judged like one model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lossgap.errors import DataError, RunDirError
from lossgap.run import rundir
from lossgap.run.reader import require_run_dir

#: The splits a run can be asked to predict.
SPLITS = ("train", "val", "test")


@dataclass(frozen=True, eq=False)
class Predictions:
    """Class probabilities on one split: ``probabilities`` (N, C) float64, each row summing to 1, in the order of
    ``ids``; ``labels`` the split's classes (indices into ``class_names``)."""

    split: str
    ids: np.ndarray
    labels: np.ndarray
    probabilities: np.ndarray
    class_names: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        """Share of samples whose most probable class is their label (0..1)."""
        return float(np.mean(np.argmax(self.probabilities, axis=1) == self.labels))

    @property
    def log_loss(self) -> float:
        """Mean negative natural-log probability of the true class (nats)."""
        true = self.probabilities[np.arange(self.labels.size), self.labels]
        return float(-np.mean(np.log(np.clip(true, 1e-300, None))))


def predict(run: str | Path, split: str = "test", *, device: str = "cpu") -> Predictions:
    """The :class:`Predictions` of the model run ``run`` delivers on its ``split`` ("train", "val" or "test").

    RunDirError (one line) when ``run`` is missing, a file or a directory without a run, or has no finished checkpoint
    of its delivered epoch; DataError when the split does not exist (a source without a test split)."""
    import torch

    from lossgap.data import load_data
    from lossgap.model.registry import model_from_hyperparameters
    from lossgap.run.data_source import run_train_config
    from lossgap.training.batching import DeviceSplit, contiguous_slices

    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}; choose train, val or test")
    run = require_run_dir(run)
    config = run_train_config(rundir.read_config(run), run)
    checkpoint = _delivered_checkpoint(run)
    data = load_data(config.data, config.seed).splits
    part = getattr(data, split)
    if part is None:
        raise DataError(f"{data.source} has no {split} split; predict train or val, or give data with a test split")
    target = torch.device(device)
    model = model_from_hyperparameters(checkpoint["hyperparameters"])
    model.load_state_dict(checkpoint["state_dict"])
    model.to(target).eval()
    samples = DeviceSplit.from_data(part, target)
    chunks = []
    with torch.inference_mode():
        for index in contiguous_slices(samples.num_samples, config.eval_batch_size):
            logits = model(samples.features[index], samples.batch_lengths(index))
            chunks.append(torch.softmax(logits.double(), dim=1).cpu().numpy())
    probabilities = np.concatenate(chunks) if chunks else np.zeros((0, data.num_classes))
    return Predictions(split=split, ids=np.asarray(part.ids), labels=np.asarray(part.labels),
                       probabilities=probabilities, class_names=tuple(data.class_names))


def _delivered_checkpoint(run: str | Path) -> dict:
    """The checkpoint of the epoch the run delivers (best.pt under early stopping, else last.pt)."""
    summary = rundir.read_summary(run)
    delivered = summary.get("delivered_epoch")
    for name in (rundir.BEST_CHECKPOINT, rundir.LAST_CHECKPOINT):
        path = rundir.checkpoint_path(run, name)
        if path.exists():
            checkpoint = rundir.load_checkpoint(path)
            if checkpoint.get("epoch") == delivered:
                return checkpoint
    raise RunDirError(f"{run} has no checkpoint of its delivered epoch {delivered}; train the run again")


def average_predictions(predictions: Sequence[Predictions]) -> Predictions:
    """The mean of several runs' probabilities on the same samples (a seed ensemble); ValueError (one line) when they
    are not on the same samples, labels and classes."""
    if not predictions:
        raise ValueError("no predictions to average; give one or more")
    first = predictions[0]
    order = np.argsort(first.ids, kind="stable")
    total = np.zeros_like(first.probabilities)
    for other in predictions:
        mine = np.argsort(other.ids, kind="stable")
        if (other.class_names != first.class_names or other.ids.shape != first.ids.shape
                or not np.array_equal(other.ids[mine], first.ids[order])
                or not np.array_equal(other.labels[mine], first.labels[order])):
            raise ValueError(f"the {other.split} predictions are not on the same samples, labels and classes as the "
                             f"first {first.split} ones; average runs of the same data and split")
        total[order] += other.probabilities[mine]
    return Predictions(split=first.split, ids=first.ids, labels=first.labels,
                       probabilities=total / len(predictions), class_names=first.class_names)
