"""Every number a verdict's sentence states, traced back to the run's own metrics.csv.

The diagnosis writes sentences such as "by epoch 60 val loss rose from 1.358 to 1.844 while train loss fell
from 1.275 to 0.766" or "val accuracy 0.957 at epoch 8". :func:`sentence_problems` finds each such figure
and checks it against the recorded per-epoch columns, independently of how the diagnosis computed it:

- "<series> fell|rose from A to B" and "<series> stayed at A": A and B must each be a value the series takes
  at some epoch (to the printed decimals), with B at a later epoch than A, and the verb must match B vs A.
- a plateau, "<split> accuracy stayed at X (within its noise ...) from epoch a to b while <split> loss fell
  D": X must be the mean accuracy over epochs a..b and D the loss at a minus the loss at b.
  Series: val loss, train loss, the gap (val loss - train loss), train/val accuracy.
- "val loss was lowest at epoch N (v)": N must be the epoch of the smallest val loss, v its value; "... and
  ended at E, P% higher": E must be the last recorded val loss and P its rise over the smallest, in percent.
- "<split> accuracy X at epoch N" / "accuracy ... (X) ... at epoch N": the column at epoch N must be X.
- "reached at best X": X must be the largest train accuracy of the run.
- the headline's "at epoch N" must be the run's best epoch in summary.json, which must be the minimum of
  the monitored column when the run monitored val loss (``val_balanced_loss`` for a class-weighted run).

Returns a list of problems (empty = every checked figure agrees), each naming the sentence.
"""

from __future__ import annotations

import re

import numpy as np

# "balanced train accuracy" first: a class-weighted run's sentences name its balanced columns, which hold other figures.
_SERIES = r"(balanced train accuracy|balanced val accuracy|val loss|train loss|the gap|train accuracy|val accuracy)"
CHANGE = re.compile(_SERIES + r" (fell|rose) from (-?\d+\.\d+) to (-?\d+\.\d+)")
STAYED = re.compile(_SERIES + r" stayed at (-?\d+\.\d+)(?![\d])(?! \(within)(?! on average)")
PLATEAU = re.compile(r"(train|val) accuracy stayed at (\d\.\d+)(?: on average)? \(within its noise of \+-\d\.\d+\) "
                     r"from epoch (\d+) to (\d+) while (?:train|val) loss fell (\d+\.\d+)")
LOWEST = re.compile(r"val loss was lowest at epoch (\d+) \((-?\d+\.\d+)\)")
ENDED = re.compile(r"val loss was lowest at epoch \d+ \((-?\d+\.\d+)\) and ended at (-?\d+\.\d+), (\d+)% higher")
AT_EPOCH = re.compile(r"(train|val) accuracy (\d\.\d+) at epoch (\d+)")
AGAINST = re.compile(r"\(val accuracy (\d\.\d+) against train (\d\.\d+) at epoch (\d+)\)")
AT_BEST = re.compile(r"train accuracy reached at best (\d\.\d+)")


def _series(metrics: dict, name: str) -> np.ndarray | None:
    columns = {"val loss": "val_loss", "train loss": "train_loss", "train accuracy": "train_accuracy",
               "val accuracy": "val_accuracy", "balanced train accuracy": "train_balanced_accuracy",
               "balanced val accuracy": "val_balanced_accuracy"}
    if name == "the gap":
        if "val_loss" not in metrics or "train_loss" not in metrics:
            return None
        return np.asarray(metrics["val_loss"], float) - np.asarray(metrics["train_loss"], float)
    column = columns[name]
    return np.asarray(metrics[column], float) if column in metrics else None


def _epochs_of(values: np.ndarray, printed: str) -> np.ndarray:
    """0-based epochs whose value prints as ``printed`` (same decimals)."""
    decimals = len(printed.split(".")[1])
    return np.flatnonzero(np.isfinite(values) & (np.abs(values - float(printed)) <= 0.5 * 10.0 ** -decimals + 1e-9))


def sentence_problems(metrics: dict, summary: dict, sentences: list[str], headline: str = "",
                      monitor: str | None = None) -> list[str]:
    """Figures in ``sentences`` (and the ``headline``) that metrics.csv's columns or summary.json contradict."""
    problems = []
    for sentence in sentences:
        for name, verb, start, end in CHANGE.findall(sentence):
            values = _series(metrics, name)
            if values is None:
                continue
            first, last = _epochs_of(values, start), _epochs_of(values, end)
            if not first.size or not last.size:
                problems.append(f"{name} {start} -> {end} is not in metrics.csv: {sentence}")
            elif not last.max() > first.min():
                problems.append(f"{name} {start} -> {end}: the second value is not later: {sentence}")
            if (verb == "fell") != (float(end) < float(start)):
                problems.append(f"'{verb}' from {start} to {end}: {sentence}")
        for split, value, first, last, fall in PLATEAU.findall(sentence):
            accuracy = np.asarray(metrics.get(f"{split}_accuracy", []), float)
            loss = np.asarray(metrics.get(f"{split}_loss", []), float)
            window = slice(int(first) - 1, int(last))
            if accuracy.size and not _epochs_of(np.array([np.nanmean(accuracy[window])]), value).size:
                problems.append(f"plateau mean {value}, metrics.csv {np.nanmean(accuracy[window]):.4f}: {sentence}")
            drop = loss[int(first) - 1] - loss[int(last) - 1] if loss.size else None
            if drop is not None and not _epochs_of(np.array([drop]), fall).size:
                problems.append(f"plateau loss fall {fall}, metrics.csv {drop:.4f}: {sentence}")
        for name, value in STAYED.findall(sentence):
            values = _series(metrics, name)
            if values is not None and not _epochs_of(values, value).size:
                problems.append(f"{name} 'stayed at' {value}, a value metrics.csv never holds: {sentence}")
        val_loss = np.asarray(metrics.get("val_loss", []), float)
        for epoch, value in LOWEST.findall(sentence):
            if val_loss.size and int(epoch) != int(np.nanargmin(val_loss)) + 1:
                problems.append(f"lowest val loss at epoch {epoch}, metrics.csv says {np.nanargmin(val_loss) + 1}")
            elif val_loss.size and not _epochs_of(val_loss[int(epoch) - 1:int(epoch)], value).size:
                problems.append(f"val loss {value} at epoch {epoch}, metrics.csv {val_loss[int(epoch) - 1]:.4f}")
        for lowest, end, percent in ENDED.findall(sentence):
            finite = val_loss[np.isfinite(val_loss)]
            if finite.size and not _epochs_of(finite[-1:], end).size:
                problems.append(f"val loss ended at {end}, metrics.csv {finite[-1]:.4f}: {sentence}")
            elif finite.size and round(100 * (finite[-1] / np.nanmin(val_loss) - 1)) != int(percent):
                problems.append(f"{percent}% higher, metrics.csv "
                                f"{100 * (finite[-1] / np.nanmin(val_loss) - 1):.0f}%: {sentence}")
        pairs = [(split, value, epoch) for split, value, epoch in AT_EPOCH.findall(sentence)]
        for val_value, train_value, epoch in AGAINST.findall(sentence):
            pairs += [("val", val_value, epoch), ("train", train_value, epoch)]
        for split, value, epoch in pairs:
            column = np.asarray(metrics.get(f"{split}_accuracy", []), float)
            index = int(epoch) - 1
            if 0 <= index < column.size and not _epochs_of(column[index:index + 1], value).size:
                problems.append(f"{split} accuracy {value} at epoch {epoch}, metrics.csv {column[index]:.4f}: "
                                f"{sentence}")
        for value in AT_BEST.findall(sentence):
            column = np.asarray(metrics.get("train_accuracy", []), float)
            if column.size and not _epochs_of(np.array([np.nanmax(column)]), value).size:
                problems.append(f"train accuracy at best {value}, metrics.csv {np.nanmax(column):.4f}: {sentence}")
    best = summary.get("best_epoch")
    for epoch in re.findall(r"at epoch (\d+)", headline)[:1]:
        if best is not None and int(epoch) != int(best):
            problems.append(f"headline epoch {epoch}, summary.json best epoch {best}: {headline}")
    # A class-weighted run watches the val loss weighted as its training was (val_balanced_loss).
    val_loss = np.asarray(metrics.get(monitor or "", []), float)
    if monitor in ("val_loss", "val_balanced_loss") and best is not None and val_loss.size \
            and np.isfinite(val_loss).any():
        if int(best) != int(np.nanargmin(val_loss)) + 1:
            problems.append(f"summary.json best epoch {best}, the minimum of {monitor} in metrics.csv is at "
                            f"{np.nanargmin(val_loss) + 1}")
    return problems
