"""Optimisation evidence recorded per epoch: gradient norms, update ratios, gate saturation (pure numpy, no torch).

The contract between the optimisation observer (training layer) and analysis, as :mod:`lossgap.dynamics` is
for per-sample records: the observer's epochs become one :class:`OptimizationObservations`, the run directory
stores it as ``optimization.csv``, and analysis (:mod:`lossgap.analysis.gradients`) reads nothing else.

``optimization.csv`` is a wide CSV, one row per epoch, like ``metrics.csv``::

    epoch, steps, measured_steps, grad_norm_total,
    grad_norm:<tensor>..., update_ratio:<tensor>..., gate_saturation:<layer>..., dead_units:<layer>...

``<tensor>`` is a parameter name as ``model.named_parameters()`` gives it (``lstm.weight_ih_l0``), ``<layer>``
a recurrent layer (``lstm.l0``: layer 0 of the module named ``lstm``, both directions pooled). Empty or
``nan`` cells are epochs where nothing was measured. CSV rather than npz because the table is tiny (epochs x
a few dozen columns), opens in any spreadsheet or ``pandas.read_csv``, carries its names in its header, and
keeps full float precision (values are written with ``repr``). Readers ignore columns they do not know, so
later versions can add columns without breaking older readers.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass

import numpy as np

#: Column prefixes of the per-tensor and per-layer groups, in file order.
TENSOR_GROUPS = ("grad_norm", "update_ratio")
LAYER_GROUPS = ("gate_saturation", "dead_units")
#: Per-epoch columns before the groups.
EPOCH_COLUMNS = ("epoch", "steps", "measured_steps", "grad_norm_total")


@dataclass(frozen=True, eq=False)
class OptimizationObservations:
    """What the optimiser did in each epoch, per parameter tensor and per recurrent layer.

    Shapes use E = epochs, P = parameter tensors, L = recurrent (LSTM/GRU) layers. NaN marks an epoch where
    the value was not measured (observation started later, no training step, no recurrent input seen).

    Attributes:
        tensor_names: (P,) parameter names in the model's parameter order (input side first as a rule).
        layer_names: (L,) recurrent layer names, ``<module>.l<k>``.
        steps: int64 (E,) training steps seen in the epoch (one backward pass each; 0 = not observed).
        measured_steps: int64 (E,) of those, the steps measured (an evenly spread sample).
        grad_norm_total: float64 (E,) mean over measured steps of the L2 norm of all gradients together,
            before clipping.
        grad_norm: float64 (E, P) mean over measured steps of each tensor's gradient L2 norm, before clipping.
        update_ratio: float64 (E, P) mean over measured steps of ||theta_after - theta_before|| /
            ||theta_before|| for one optimiser step (dimensionless; ~1e-3 is the usual rule of thumb).
        gate_saturation: float64 (E, L) share in [0, 1] of gate pre-activations with |z| > 5 on the epoch's
            last training batch, recomputed with the epoch-end weights.
        dead_units: float64 (E, L) share in [0, 1] of the layer's hidden units whose output is constant
            (standard deviation below 1e-3 over that batch's valid steps and samples).
    """

    tensor_names: tuple[str, ...]
    layer_names: tuple[str, ...]
    steps: np.ndarray
    measured_steps: np.ndarray
    grad_norm_total: np.ndarray
    grad_norm: np.ndarray
    update_ratio: np.ndarray
    gate_saturation: np.ndarray
    dead_units: np.ndarray

    def __post_init__(self) -> None:
        epochs = self.steps.shape[0]
        expected = {"measured_steps": (epochs,), "grad_norm_total": (epochs,),
                    "grad_norm": (epochs, len(self.tensor_names)), "update_ratio": (epochs, len(self.tensor_names)),
                    "gate_saturation": (epochs, len(self.layer_names)), "dead_units": (epochs, len(self.layer_names))}
        for name, shape in expected.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"optimisation observations: {name} has shape {getattr(self, name).shape}, "
                                 f"expected {shape}")

    @property
    def num_epochs(self) -> int:
        """Epochs E."""
        return int(self.steps.shape[0])

    @classmethod
    def from_rows(cls, rows: list[dict[str, float]]) -> OptimizationObservations:
        """Observations from one row per epoch, keyed like the CSV's columns (``grad_norm:<tensor>`` ...).

        A row may be empty (an epoch not observed); names are the union over rows in first-seen order, and
        a name missing from a row is NaN there.
        """
        tensors: dict[str, None] = {}
        layers: dict[str, None] = {}
        for row in rows:
            for key in row:
                group, _, name = key.partition(":")
                if group in TENSOR_GROUPS and name:
                    tensors.setdefault(name)
                elif group in LAYER_GROUPS and name:
                    layers.setdefault(name)

        def column(key: str, default: float = math.nan) -> np.ndarray:
            return np.array([float(row.get(key, default)) for row in rows], dtype=np.float64)

        def group(prefix: str, names: dict[str, None]) -> np.ndarray:
            if not names:
                return np.empty((len(rows), 0))
            return np.stack([column(f"{prefix}:{name}") for name in names], axis=1)

        return cls(tensor_names=tuple(tensors), layer_names=tuple(layers),
                   steps=column("steps", 0.0).astype(np.int64),
                   measured_steps=column("measured_steps", 0.0).astype(np.int64),
                   grad_norm_total=column("grad_norm_total"),
                   grad_norm=group("grad_norm", tensors), update_ratio=group("update_ratio", tensors),
                   gate_saturation=group("gate_saturation", layers), dead_units=group("dead_units", layers))

    def columns(self) -> list[str]:
        """The CSV's column names, in file order."""
        return (list(EPOCH_COLUMNS) + [f"{prefix}:{name}" for prefix in TENSOR_GROUPS for name in self.tensor_names]
                + [f"{prefix}:{name}" for prefix in LAYER_GROUPS for name in self.layer_names])

    def rows(self) -> list[list[str]]:
        """The CSV's data rows as text (integers as such, floats with ``repr``: full precision, ``nan``, ``inf``)."""
        out = []
        for epoch in range(self.num_epochs):
            values = [str(epoch + 1), str(int(self.steps[epoch])), str(int(self.measured_steps[epoch])),
                      repr(float(self.grad_norm_total[epoch]))]
            for table in (self.grad_norm, self.update_ratio, self.gate_saturation, self.dead_units):
                values.extend(repr(float(value)) for value in table[epoch])
            out.append(values)
        return out


def observations_to_csv(observations: OptimizationObservations) -> str:
    """The text of ``optimization.csv`` for ``observations`` (see the module docstring)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(observations.columns())
    writer.writerows(observations.rows())
    return buffer.getvalue()


def save_observations(path, observations: OptimizationObservations) -> None:
    """Write ``observations`` to ``path`` as CSV, atomically."""
    from lossgap.io import write_text

    write_text(path, observations_to_csv(observations))


def load_observations(path, *, with_cut: bool = False):
    """Read a file written by :func:`save_observations`; returns its :class:`OptimizationObservations`, or with
    ``with_cut`` the pair (observations, whether a last row cut short was left out).

    A last row cut short (fewer fields than the header, or no line end: the file was truncated) is left out.
    Raises ValueError (the caller turns it into a user-facing error) when the header lacks ``epoch``, an earlier
    row is short, or the epochs are not 1, 2, ... in order.
    """
    from lossgap.io import read_csv_rows

    header, parsed, cut = read_csv_rows(path)
    if "epoch" not in header:
        raise ValueError("optimization.csv has no 'epoch' column")
    rows = []
    for number, row in enumerate(parsed, start=1):
        if int(row["epoch"]) != number:
            raise ValueError(f"optimization.csv row {number} holds epoch {row['epoch']}, expected {number}")
        rows.append({key: float(value) for key, value in row.items()
                     if _known(key) and value not in ("", None)})
    observations = OptimizationObservations.from_rows(rows)
    return (observations, cut) if with_cut else observations


def _known(column: str | None) -> bool:
    """True for the columns this version reads (not ``epoch``, which is checked, nor later additions)."""
    if column is None or column == "epoch":
        return False
    return column in EPOCH_COLUMNS or column.partition(":")[0] in TENSOR_GROUPS + LAYER_GROUPS
