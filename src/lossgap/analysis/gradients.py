"""Gradient health from the recorded optimisation observations: exploding, vanishing, too-large updates, saturation.

Evidence for the ``unstable_optimization`` (exploding gradients, updates far too large) and
``underfitting`` (vanishing gradients, saturated gates, dead units: a model that cannot learn). Input is an
:class:`~lossgap.observations.OptimizationObservations` (per epoch: gradient norm and update ratio per
parameter tensor, gate saturation and dead units per LSTM/GRU layer); epochs in results are 1-based.

The thresholds, and why (measured on lossgap's own LSTM runs, 2-class synthetic and GunPoint data, 15-50
epochs; healthy = the run learns its task):

- **Exploding** (per epoch): a non-finite gradient norm; or the total gradient norm above
  ``EXPLODING_FACTOR`` (30) times the median of the earlier observed epochs (at least 2 of them); or
  AutoTrainer's gradient ratio ||grad first weight|| / ||grad last weight|| above 70 (its published beta_3).
  Healthy runs whose learning starts late raised their epoch's total norm up to 7x over the earlier median
  (GunPoint epoch 37, lr 0.001 at epoch 6), so 10x would sit too close; an exploding Adam run (lr 0.5, 150
  steps, no clipping) went to 3e8 in its first epoch, with a gradient ratio of 4e7 (healthy runs: 0.03-4).
  The ratio rule is what catches an explosion in the first epoch, which has no earlier epochs to compare to.
- **Large updates** (per epoch): the median update ratio over weight tensors above ``LARGE_UPDATE_RATIO``
  (0.1), i.e. 100x the ~1e-3 rule of thumb. The rule of thumb itself does not hold for small recurrent nets
  trained with Adam: healthy runs measured 0.001-0.05 in their first epochs and 0.003-0.02 later (working SGD
  too), so 1e-2 would fire on nearly every healthy run. Learning rates 100-300x too high measured 0.16-0.39
  in their first epoch, then collapsed into saturation with tiny ratios: look at saturation alongside.
- **Vanishing** (whole run, judged on the median of the last quarter of observed epochs, at least one):
  AutoTrainer's rule, gradient ratio below 1e-3 and the first weight's gradient norm below 1e-4; or the total
  gradient norm below 1e-4 while the train loss is above 0.1 nats (needs ``train_loss``; a fitted model's
  gradients are legitimately ~0).
- **Silenced** (whole run): a weight tensor whose gradient was not zero in an earlier observed epoch and is
  exactly zero (below ``SILENT_GRAD``) in every observed epoch from some epoch on, at least
  ``SILENT_EPOCHS`` of them: nothing reaches it any more (ReLU units pushed to where they output 0 for every
  input, or an input that no longer varies). A CNN at Adam 0.3 took updates of 30% of its weights in its first
  epoch, then every convolution's gradient was 0.0 from epoch 2 on, only its last bias still learning.
- **Ungraded** (whole run): a trainable tensor with no gradient norm in any observed epoch while other tensors had
  one: its gradient hook never ran, so backward never reached it (an own GRU whose hidden state was detached before
  the head had NaN for every GRU tensor in every epoch and read "use a larger model").
- **Growing** (whole run): a total gradient norm that climbs as a sum of gradients never zeroed does
  (:mod:`lossgap.analysis.gradient_growth`, which gives its thresholds and why).
- **Stalled** (whole run): no observed epoch's median update ratio reached ``STALLED_UPDATE_RATIO`` (1e-4) and no
  gradient was non-finite: no step moved the weights by more than a ten-thousandth of their norm, not even in the first
  epoch (an own loop clipping at 1e-4 under SGD 0.05, gradients of norm 2.8: 5e-6 at most). The suite's 924 cached runs
  with gradients reached 4e-4 at least (learning rates 50x too low); learning rates far too high end with tiny ratios
  too, once their weights have grown, but take large steps first.
- **Saturated** / **dead** (at the last epoch with gate statistics): the largest share over layers of gate
  pre-activations with |z| > 5 at or above 0.5, or of dead hidden units at or above 0.5. Healthy runs stayed
  below 0.03 saturated and 0 dead; learning rates far too high gave 0.6-0.99 saturated and 0.4-0.94 dead;
  a 10x high learning rate that still learned reached 0.28 and 0.125.

"First" and "last" weight mean the first and last weight tensors in the model's parameter order (input side
first for the usual module layouts, e.g. ``lstm.weight_ih_l0`` and ``head.weight``); a weight tensor is any
tensor whose name's last part does not start with "bias" (biases start near 0, so their ratios mislead).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossgap.plain import dataclass_to_plain
from lossgap.errors import DataError
from lossgap.analysis.gradient_growth import growing
from lossgap.observations import OptimizationObservations

#: An epoch's total gradient norm above this many times the median of the earlier epochs' is exploding...
EXPLODING_FACTOR = 30.0
#: ... judged once at least this many earlier epochs were observed.
EXPLODING_HISTORY = 2
#: AutoTrainer's gradient ratio (first weight / last weight gradient norm) above this is exploding (beta_3).
EXPLODING_DEPTH_RATIO = 70.0
#: AutoTrainer's vanishing rule: gradient ratio below this (beta_1) ...
VANISHING_DEPTH_RATIO = 1e-3
#: ... and the first weight's gradient norm below this (beta_2).
VANISHING_FIRST_GRAD = 1e-4
#: All gradients together below this norm count as ~0 ...
VANISHED_TOTAL_GRAD = 1e-4
#: ... when the mean train loss (nats) is still above this.
LOSS_NOT_ZERO = 0.1
#: The usual rule of thumb for the update ratio (drawn as the reference in the report).
UPDATE_RATIO_RULE_OF_THUMB = 1e-3
#: A median update ratio over weight tensors above this marks an epoch of too-large updates.
LARGE_UPDATE_RATIO = 0.1
#: A gradient norm below this is zero (float32 sums of exact zeros are exactly 0; this leaves room for rounding).
SILENT_GRAD = 1e-12
#: Observed epochs of zero gradient, through the end of the run, that silence a tensor.
SILENT_EPOCHS = 3
#: Shares of saturated gate pre-activations / dead units at or above these mark a layer at the end.
#: Largest median update ratio of every observed epoch below which the run's steps count as stalled.
STALLED_UPDATE_RATIO = 1e-4
SATURATED_SHARE = 0.5
DEAD_SHARE = 0.5


@dataclass(frozen=True, eq=False)
class GradientHealth:
    """What the optimiser did, per epoch, and the judgements drawn from it (see the module docstring).

    Shapes use E = epochs, P = parameter tensors, L = recurrent layers; NaN where nothing was measured.

    Attributes:
        num_epochs: E.
        tensor_names, layer_names: (P,) and (L,) names, as in the observations.
        weight_names: the tensors counted as weights (the median update ratio and gradient ratio use them).
        observed: bool (E,) epochs with at least one measured step.
        grad_norm: (E, P) mean gradient L2 norm per tensor, before clipping.
        update_ratio: (E, P) mean ||update|| / ||theta|| per tensor (dimensionless).
        gate_saturation, dead_units: (E, L) shares in [0, 1] per recurrent layer.
        total_grad_norm: (E,) mean L2 norm of all gradients together.
        median_update_ratio: (E,) median over weight tensors of the update ratio.
        depth_ratio: (E,) AutoTrainer's gradient ratio: first weight's gradient norm / last weight's.
        first_weight, last_weight: the two tensors of ``depth_ratio`` (None with fewer than two weights).
        non_finite_epochs: epochs with a NaN or infinite gradient norm.
        exploding_epochs: epochs judged exploding (non-finite, far above the earlier epochs, or ratio > 70).
        large_update_epochs: epochs whose median update ratio is above LARGE_UPDATE_RATIO.
        tail_epochs: how many final observed epochs the vanishing judgement uses.
        depth_ratio_end, first_grad_norm_end, total_grad_norm_end: medians over those epochs (NaN if none).
        vanishing: the vanishing judgement.
        saturation_end, dead_end: the largest share over layers at the last epoch with gate statistics (NaN
            without recurrent layers).
        saturated_layers, dead_layers: the layers at or above SATURATED_SHARE / DEAD_SHARE there.
        silenced: {weight tensor name: the 1-based epoch from which its gradient stayed zero} (see above).
        ungraded: trainable tensors backward never reached (see above).
        growing: the total gradient norm grew steadily over the run (:mod:`lossgap.analysis.gradient_growth`).
    """

    num_epochs: int
    tensor_names: tuple[str, ...]
    layer_names: tuple[str, ...]
    weight_names: tuple[str, ...]
    observed: np.ndarray
    grad_norm: np.ndarray
    update_ratio: np.ndarray
    gate_saturation: np.ndarray
    dead_units: np.ndarray
    total_grad_norm: np.ndarray
    median_update_ratio: np.ndarray
    depth_ratio: np.ndarray
    first_weight: str | None
    last_weight: str | None
    non_finite_epochs: tuple[int, ...]
    exploding_epochs: tuple[int, ...]
    large_update_epochs: tuple[int, ...]
    tail_epochs: int
    depth_ratio_end: float
    first_grad_norm_end: float
    total_grad_norm_end: float
    vanishing: bool
    saturation_end: float
    dead_end: float
    saturated_layers: tuple[str, ...]
    dead_layers: tuple[str, ...]
    silenced: dict[str, int] = dataclasses.field(default_factory=dict)
    ungraded: tuple[str, ...] = ()
    growing: bool = False

    @property
    def silenced_share(self) -> float:
        """Share of the weight tensors silenced (0 without weights)."""
        return len(self.silenced) / len(self.weight_names) if self.weight_names else 0.0

    @property
    def exploding(self) -> bool:
        """True when any epoch was judged exploding."""
        return bool(self.exploding_epochs)

    @property
    def large_updates(self) -> bool:
        """True when any epoch's updates were judged too large."""
        return bool(self.large_update_epochs)

    @property
    def largest_update_ratio(self) -> float:
        """The largest observed epoch's median update ratio (dimensionless; NaN when no epoch has one)."""
        ratios = self.median_update_ratio[self.observed]
        ratios = ratios[np.isfinite(ratios)]
        return float(ratios.max()) if ratios.size else math.nan

    @property
    def stalled(self) -> bool:
        """True when no step moved the weights by STALLED_UPDATE_RATIO of their norm (see the module docstring)."""
        return bool(self.largest_update_ratio < STALLED_UPDATE_RATIO and not self.non_finite_epochs)

    @property
    def saturated(self) -> bool:
        """True when a recurrent layer ends with at least SATURATED_SHARE of its gates saturated."""
        return bool(self.saturated_layers)

    @property
    def dead(self) -> bool:
        """True when a recurrent layer ends with at least DEAD_SHARE of its units dead."""
        return bool(self.dead_layers)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of the fields plus the four judgements (NaN -> None)."""
        out = dataclass_to_plain(self)
        out.update(exploding=self.exploding, large_updates=self.large_updates, saturated=self.saturated,
                   dead=self.dead, stalled=self.stalled)
        return out


def weight_tensors(names) -> tuple[str, ...]:
    """The names among ``names`` that are weights: the last dotted part does not start with "bias"."""
    return tuple(name for name in names if not name.rsplit(".", 1)[-1].startswith("bias"))


def _row_median(values: np.ndarray) -> np.ndarray:
    """Median of each row over its non-NaN entries (inf counts as large), NaN for an all-NaN or empty row."""
    out = np.full(values.shape[0], math.nan)
    for row, entries in enumerate(values):
        kept = entries[~np.isnan(entries)]
        if kept.size:
            out[row] = float(np.median(kept))
    return out


def _tail_median(values: np.ndarray, tail: np.ndarray) -> float:
    kept = values[tail]
    kept = kept[np.isfinite(kept)]
    return float(np.median(kept)) if kept.size else math.nan


def _last_value(values: np.ndarray) -> tuple[float, np.ndarray | None]:
    """(largest share over layers at the last epoch with any finite share, that epoch's row) or (NaN, None)."""
    for row in values[::-1]:
        if np.isfinite(row).any():
            return float(np.nanmax(row)), row
    return math.nan, None


def gradient_health(observations: OptimizationObservations, *, train_loss=None) -> GradientHealth:
    """Judge the optimisation of a run from its :class:`OptimizationObservations`; returns a :class:`GradientHealth`.

    ``train_loss`` (optional, per-epoch mean train loss in nats, one value per epoch) lets the vanishing
    judgement tell "all gradients ~0 because the model fits" from "all gradients ~0 while the loss is high".
    """
    if not isinstance(observations, OptimizationObservations):
        raise DataError(f"gradient_health needs OptimizationObservations, got {type(observations).__name__}; "
                        "pass run.observations of a run that recorded them")
    epochs = observations.num_epochs
    loss = None
    if train_loss is not None:
        loss = np.asarray(train_loss, dtype=np.float64).reshape(-1)
        if loss.size != epochs:
            raise DataError(f"{loss.size} train-loss values for {epochs} observed epochs; pass one per epoch")
    names = observations.tensor_names
    weights = weight_tensors(names)
    weight_columns = [names.index(name) for name in weights]
    observed = observations.measured_steps > 0
    grad_norm = observations.grad_norm.astype(np.float64)
    total = observations.grad_norm_total.astype(np.float64)
    median_ratio = _row_median(observations.update_ratio[:, weight_columns].astype(np.float64))
    first = last = None
    depth = np.full(epochs, math.nan)
    if len(weights) >= 2:
        first, last = weights[0], weights[-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            depth = grad_norm[:, weight_columns[0]] / grad_norm[:, weight_columns[-1]]

    # The total covers every tensor measured in a step, so one NaN or inf gradient makes it non-finite (a
    # tensor that never gets a gradient is NaN in grad_norm without being non-finite: it was not measured).
    non_finite = observed & ~np.isfinite(total)
    with np.errstate(invalid="ignore"):
        exploding = non_finite | (observed & (depth > EXPLODING_DEPTH_RATIO))
        large = observed & (median_ratio > LARGE_UPDATE_RATIO)
    earlier: list[float] = []
    for epoch in np.flatnonzero(observed):
        if len(earlier) >= EXPLODING_HISTORY and total[epoch] > EXPLODING_FACTOR * float(np.median(earlier)):
            exploding[epoch] = True
        if np.isfinite(total[epoch]):
            earlier.append(float(total[epoch]))

    observed_epochs = np.flatnonzero(observed)
    tail_size = max(1, observed_epochs.size // 4) if observed_epochs.size else 0
    tail = np.zeros(epochs, dtype=bool)
    tail[observed_epochs[observed_epochs.size - tail_size:]] = True
    depth_end = _tail_median(depth, tail)
    first_end = _tail_median(grad_norm[:, weight_columns[0]], tail) if first is not None else math.nan
    total_end = _tail_median(total, tail)
    vanishing = depth_end < VANISHING_DEPTH_RATIO and first_end < VANISHING_FIRST_GRAD
    if loss is not None and total_end < VANISHED_TOTAL_GRAD:
        vanishing = vanishing or _tail_median(loss, tail) > LOSS_NOT_ZERO

    layers = observations.layer_names
    saturation_end, saturation_row = _last_value(observations.gate_saturation)
    dead_end, dead_row = _last_value(observations.dead_units)

    def at_or_above(row: np.ndarray | None, threshold: float) -> tuple[str, ...]:
        return () if row is None else tuple(name for name, value in zip(layers, row) if value >= threshold)

    def epochs_of(mask: np.ndarray) -> tuple[int, ...]:
        return tuple(int(index) + 1 for index in np.flatnonzero(mask))

    return GradientHealth(
        num_epochs=epochs, tensor_names=names, layer_names=layers, weight_names=weights, observed=observed,
        grad_norm=grad_norm, update_ratio=observations.update_ratio.astype(np.float64),
        gate_saturation=observations.gate_saturation.astype(np.float64),
        dead_units=observations.dead_units.astype(np.float64), total_grad_norm=total,
        median_update_ratio=median_ratio, depth_ratio=depth, first_weight=first, last_weight=last,
        non_finite_epochs=epochs_of(non_finite), exploding_epochs=epochs_of(exploding),
        large_update_epochs=epochs_of(large), tail_epochs=tail_size, depth_ratio_end=depth_end,
        first_grad_norm_end=first_end, total_grad_norm_end=total_end, vanishing=bool(vanishing),
        saturation_end=saturation_end, dead_end=dead_end,
        saturated_layers=at_or_above(saturation_row, SATURATED_SHARE), dead_layers=at_or_above(dead_row, DEAD_SHARE),
        silenced=_silenced(grad_norm[:, weight_columns], weights, observed),
        ungraded=_ungraded(grad_norm, names, observed),
        growing=growing(total[observed], None if loss is None else loss[observed]),
    )


def _ungraded(grad_norm: np.ndarray, names: tuple[str, ...], observed: np.ndarray) -> tuple[str, ...]:
    """Tensors (columns of ``grad_norm``) with no gradient norm in any observed epoch while some other tensor had one:
    their gradient hook never ran, so backward never reached them (a detach() or no_grad() in the forward pass, a
    submodule the loss does not use). Only trainable tensors are observed, so frozen ones are never among them."""
    rows = grad_norm[observed]
    if not rows.size:
        return ()
    measured = np.isfinite(rows).any(axis=0)
    if not measured.any():
        return ()
    return tuple(name for name, seen in zip(names, measured) if not seen)


def _silenced(grad_norm: np.ndarray, names: tuple[str, ...], observed: np.ndarray) -> dict[str, int]:
    """{name: 1-based first epoch of the zero stretch} of the tensors (columns of ``grad_norm``) whose gradient
    is below SILENT_GRAD in every observed epoch from that epoch to the end, at least SILENT_EPOCHS of them,
    after a non-zero observed epoch before it."""
    epochs = np.flatnonzero(observed)
    silenced = {}
    for column, name in enumerate(names):
        values = grad_norm[epochs, column]
        zero = np.isfinite(values) & (values < SILENT_GRAD)
        stretch = 0
        while stretch < zero.size and zero[zero.size - 1 - stretch]:
            stretch += 1
        if stretch >= SILENT_EPOCHS and stretch < zero.size:
            silenced[name] = int(epochs[zero.size - stretch]) + 1
    return silenced
