"""Growth of the total gradient norm over a run: the mark of gradients that are never zeroed.

Evidence for the loop mistake the diagnosis warns about (an own loop without ``optimizer.zero_grad()``) and for
``unstable_optimization``'s reading of growth in loops known to zero their gradients. Pure numpy.

A run's total gradient norm is **growing** when it ends ``GROWING_RATIO`` times its first observed epoch's or more,
rising in ``GROWING_SHARE`` of consecutive observed epochs: gradients that are never zeroed sum over every step (an
own loop without ``optimizer.zero_grad()``: 0.67 -> 416, rising in 88% of its epochs). The suite's 924 cached runs
with gradients, high learning rates and exploding gradients included, grew at most 41x, or rose in at most 83% of
epochs, never both. Or its lowest over the second half of the observed epochs is ``GROWING_FLOOR`` times the first
epoch's or more: a sum of unzeroed gradients stays high even where it stops growing (an Adam LSTM without
``zero_grad()`` rose 20x in 7 epochs and held there as its gates saturated; ``zero_grad()`` once per epoch jumped
between 33x and 420x); over 1,500 cached suite and trial runs that zero their gradients, the highest such floor was
9.7x, against 12-460x for the nine loops that did not (a tenth, whose optimizer held a copy of the model, 11x);
session 40's held-out sum-sign runs, zeroed by lossgap's trainer, reached 17x where a first epoch's norm was tiny,
so where the loop is known to zero its gradients this floor is no evidence (the diagnosis then reads only a steady
climb).
Or it rises in ``GROWING_FITTED_SHARE`` of consecutive epochs to ``GROWING_FITTED_RATIO`` times the first while the
train loss falls to ``FITTED_LOSS_SHARE`` of its first epoch's: zeroed gradients shrink as the loss goes to 0, a sum
of them does not (an own GRU at Adam without ``zero_grad()``, 4.1 -> 30.5 rising in 90% of its epochs while its train
loss fell to 0.7% of its first epoch's, had read overfitting 1.00; of 850 cached suite and trial runs with gradients
and a train loss, none other rose in 85% of its epochs to 5x, and the nearest, rising in 83% to 4x, kept half its
loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Growth of the total gradient norm over the run, the share of epochs it must rise in, and the epochs it needs.
GROWING_RATIO, GROWING_SHARE, GROWING_EPOCHS = 50.0, 0.75, 5
#: ... or the lowest total norm over the second half of the observed epochs, over the first epoch's.
GROWING_FLOOR = 15.0
#: ... or a rise in GROWING_FITTED_SHARE of consecutive epochs to GROWING_FITTED_RATIO x the first while the train loss
#: fell to FITTED_LOSS_SHARE of its first epoch's or less (see the module docstring).
GROWING_FITTED_SHARE, GROWING_FITTED_RATIO, FITTED_LOSS_SHARE = 0.85, 5.0, 0.1


@dataclass(frozen=True)
class Growth:
  """How the total gradient norm grew over the observed epochs: its ``first`` and ``last`` finite values, the share
  of consecutive epochs it ``rose`` in (0..1), and its ``floor``, the lowest over the second half of the epochs over
  the first."""

  first: float
  last: float
  rose: float
  floor: float


def gradient_growth(total) -> Growth | None:
  """The :class:`Growth` of per-epoch total gradient norms ``total`` (observed epochs, in order), or None with fewer
  than GROWING_EPOCHS finite values or a first one that is not positive."""
  values = np.asarray(total, dtype=np.float64)
  finite = values[np.isfinite(values)]
  if finite.size < GROWING_EPOCHS or not finite[0] > 0:
      return None
  return Growth(first=float(finite[0]), last=float(finite[-1]), rose=float(np.mean(np.diff(finite) > 0)),
                floor=float(finite[finite.size // 2:].min() / finite[0]))


def growing(total: np.ndarray, loss: np.ndarray | None = None) -> bool:
  """True when the per-epoch total gradient norms ``total`` (observed epochs, in order) end GROWING_RATIO times the
  first or more and rise between GROWING_SHARE of consecutive epochs, or never come back below GROWING_FLOOR times
  the first over the second half of the epochs, or (with the per-epoch train ``loss`` of the same epochs) rise as
  GROWING_FITTED_* says while that loss falls to FITTED_LOSS_SHARE of its first (see the module docstring)."""
  growth = gradient_growth(total)
  if growth is None:
      return False
  steady = growth.last >= GROWING_RATIO * growth.first and growth.rose >= GROWING_SHARE
  fitted = False
  if loss is not None:
      finite = loss[np.isfinite(loss)]
      fitted = bool(finite.size >= GROWING_EPOCHS and finite[0] > 0 and finite[-1] <= FITTED_LOSS_SHARE * finite[0])
  while_fitting = fitted and growth.rose >= GROWING_FITTED_SHARE and growth.last >= GROWING_FITTED_RATIO * growth.first
  return bool(steady or growth.floor >= GROWING_FLOOR or while_fitting)
