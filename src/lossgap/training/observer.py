"""Optimisation evidence per epoch from any ``nn.Module``: gradient norms, update ratios, gate saturation.

Attach with hooks, no optimizer needed::

    observer = OptimizationObserver(model)      # or recorder.observe(model)
    for epoch in ...:
        for batch in ...: loss.backward(); clip; optimizer.step()
        row = observer.end_epoch()               # the epoch's figures, host floats
    observer.close()                             # remove the hooks

What is measured, and how:

- **Steps.** A training step is one backward pass. ``Tensor.register_post_accumulate_grad_hook`` runs on
  each parameter after its ``.grad`` is complete; when a parameter's hook runs a second time, a new step has
  begun. Evaluation passes have no backward, so they never count.
- **Gradient norm** of each tensor: ||grad||_2 read in that hook, i.e. before any clipping and before the
  optimiser step (under AMP's GradScaler, of the scaled gradient). ``grad_norm_total`` is the L2 norm of
  all measured tensors' gradients together, per step.
- **Update ratio** of each tensor: ||theta_after - theta_before|| / ||theta_before||, theta_before copied in
  the hook (before the optimiser step) and compared at the tensor's next hook or at the epoch's end, so the
  last step of an epoch counts. A comparison that finds no change at all (no optimiser step in between,
  e.g. gradient accumulation or a step skipped by a GradScaler) is left out rather than counted as zero.
- **Sampling.** Only an evenly spread sample of steps is measured: every ``stride``-th step from step 0, the
  stride being the previous epoch's steps / ``steps_per_epoch`` (16), but never below ``min_stride`` (8).
  When more than twice the target were measured (an epoch longer than the last), the stride doubles and every
  other measurement is dropped, so an epoch of any length ends evenly sampled. A measured step costs about a
  quarter of a small LSTM's training step (a few tensor operations per parameter), hence the floor of one
  step in 8: long epochs get about 16 measured steps, short ones at least one. The first epoch starts at
  stride 1 (every step, thinned to 16-32 as it goes): a learning rate far too high blows the gradients up
  within the first few steps, which a sparse sample would miss. Measurements stay 0-d tensors on the model's
  device until the epoch ends: one host sync per epoch.
- **Gates.** For every ``nn.LSTM`` / ``nn.GRU`` inside the model, the input of its last training-mode forward
  (train mode and gradients enabled) is kept by reference and, at the epoch's end, its gate pre-activations
  are recomputed with the current weights (see :mod:`lossgap.training.gates` for the definitions). That costs
  about one forward pass of one batch, so it runs at the end of the first epoch and then whenever at least
  ``gate_every_steps`` (64) training steps have passed since it last ran: every epoch of 64 steps or more,
  every second epoch of 32-63, every 13th epoch of 5 steps; epochs in between hold NaN. Counted in steps, its
  cost is the same share of training whatever the epoch length: one batch's forward per 64 steps, about 0.5%
  (every 16 steps it was about 2% of a run, a third of the observer's cost on epochs of a few steps).

Every choice depends on step counts only, never on timing: the same run records the same values.

With gradient accumulation every backward counts as a step: gradient norms are of the gradient accumulated
so far. Epoch figures are means over the measured steps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from lossgap.errors import ConfigError
from lossgap.training.gates import GateProbe

#: Measured steps per epoch aimed at (between this and twice this many are kept).
STEPS_PER_EPOCH = 16
#: At most one step in this many is measured.
MIN_STRIDE = 8
#: Gate statistics run once at least this many training steps passed since they last ran.
GATE_EVERY_STEPS = 64
#: Samples of the captured batch used for the gate statistics.
GATE_SAMPLES = 256


@dataclass(frozen=True)
class EpochObservation:
    """One epoch's optimisation figures (host floats; NaN where nothing was measured).

    ``grad_norm`` and ``update_ratio`` map parameter names to means over the measured steps (L2 norm of the
    gradient before clipping; dimensionless ratio); ``gate_saturation`` and ``dead_units`` map recurrent
    layer names (``lstm.l0``) to shares in [0, 1].
    """

    steps: int
    measured_steps: int
    grad_norm_total: float
    grad_norm: dict[str, float] = field(default_factory=dict)
    update_ratio: dict[str, float] = field(default_factory=dict)
    gate_saturation: dict[str, float] = field(default_factory=dict)
    dead_units: dict[str, float] = field(default_factory=dict)

    def to_row(self) -> dict[str, float]:
        """The epoch as one row keyed like ``optimization.csv`` (see :mod:`lossgap.observations`)."""
        row: dict[str, float] = {"steps": self.steps, "measured_steps": self.measured_steps,
                                 "grad_norm_total": self.grad_norm_total}
        for prefix in ("grad_norm", "update_ratio", "gate_saturation", "dead_units"):
            row.update({f"{prefix}:{name}": value for name, value in getattr(self, prefix).items()})
        return row


class _Measurement:
    """One measured (step, tensor): gradient norm, norm of theta before the step, and the change it underwent."""

    __slots__ = ("tensor", "grad_norm", "weight_norm", "change")

    def __init__(self, tensor: int, grad_norm: torch.Tensor, weight_norm: torch.Tensor) -> None:
        self.tensor = tensor
        self.grad_norm = grad_norm
        self.weight_norm = weight_norm
        self.change: torch.Tensor | None = None


class OptimizationObserver:
    """Records per-epoch optimisation evidence of ``model`` through hooks; see the module docstring.

    Args:
        model: any module; its parameters that require gradients are observed, and every nn.LSTM / nn.GRU
            inside it gets gate statistics.
        steps_per_epoch: measured steps aimed at per epoch (>= 1).
        min_stride: at most one step in this many is measured (>= 1; 1 measures every step of short epochs).
        gate_every_steps: training steps between two gate computations (>= 1; 1 = every epoch).
        gate_samples: samples of the last training batch the gate statistics use (>= 1).
    """

    def __init__(self, model: nn.Module, *, steps_per_epoch: int = STEPS_PER_EPOCH, min_stride: int = MIN_STRIDE,
                 gate_every_steps: int = GATE_EVERY_STEPS, gate_samples: int = GATE_SAMPLES) -> None:
        if not isinstance(model, nn.Module):
            raise ConfigError(f"observe() needs a torch.nn.Module, got {type(model).__name__}; pass your model")
        for option, value in (("steps_per_epoch", steps_per_epoch), ("min_stride", min_stride),
                              ("gate_every_steps", gate_every_steps), ("gate_samples", gate_samples)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{option} must be a positive integer, got {value!r}")
        self.target = steps_per_epoch
        self.min_stride = min_stride
        self.gate_every_steps = gate_every_steps
        named = [(name, parameter) for name, parameter in model.named_parameters() if parameter.requires_grad]
        self.tensor_names = tuple(name for name, _ in named)
        self._parameters = [parameter for _, parameter in named]
        self._handles = [parameter.register_post_accumulate_grad_hook(self._hook_for(index))
                         for index, parameter in enumerate(self._parameters)]
        self._probes = [GateProbe(module, name, int(gate_samples)) for name, module in model.named_modules()
                        if isinstance(module, (nn.LSTM, nn.GRU))]
        self.layer_names = tuple(name for probe in self._probes for name in probe.layer_names)
        self._previous_steps = 0
        self._steps_since_gates: int | None = None  # None: the gates have not run yet
        self._start_epoch()

    # -- lifecycle --------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Remove every hook and drop what is held; the observer records nothing afterwards."""
        for handle in self._handles:
            handle.remove()
        for probe in self._probes:
            probe.close()
        self._handles = []
        self._start_epoch()

    def __enter__(self) -> OptimizationObserver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def state_dict(self) -> dict:
        """The counters that decide what the next epoch measures (for a resumed run)."""
        return {"previous_steps": self._previous_steps, "steps_since_gates": self._steps_since_gates}

    def load_state_dict(self, state: dict) -> None:
        """Continue from :meth:`state_dict`'s output, as if this observer had watched the earlier epochs."""
        self._previous_steps = int(state["previous_steps"])
        self._steps_since_gates = state["steps_since_gates"]
        self._start_epoch()

    def discard_epoch(self) -> None:
        """Drop what the unfinished epoch measured (an interrupted epoch)."""
        self._start_epoch()

    def _start_epoch(self) -> None:
        self._step = 0
        self._stepped = False  # any hook ran in this epoch
        self._seen = [-1] * len(self._parameters)  # the step each tensor's hook last ran in
        # The first epoch (no previous length) is measured densely; see the module docstring.
        self._stride = max(self.min_stride, self._previous_steps // self.target) if self._previous_steps else 1
        self._measuring = True  # step 0 is always measured
        self._steps: dict[int, list[_Measurement]] = {}
        # Per tensor: (theta before the measured step, its measurement) until the change is known.
        self._pending: list[tuple[torch.Tensor, _Measurement] | None] = [None] * len(self._parameters)
        for probe in self._probes:
            probe.reset()

    # -- per step ---------------------------------------------------------------------------------------------

    def _hook_for(self, index: int):
        def hook(parameter: torch.Tensor) -> None:
            self._on_gradient(index, parameter)
        return hook

    def _on_gradient(self, index: int, parameter: torch.Tensor) -> None:
        if self._seen[index] == self._step:  # this tensor already had its gradient in the current step
            self._begin_step()
        self._seen[index] = self._step
        self._stepped = True
        pending = self._pending[index]
        if pending is not None:  # the optimiser has stepped since this tensor was copied
            before, measurement = pending
            measurement.change = torch.dist(parameter.detach(), before)
            self._pending[index] = None
        if not self._measuring:
            return
        # Backward runs these hooks with gradients disabled (and detach() makes sure): no graph is built.
        gradient = parameter.grad.detach()
        if gradient.is_sparse:  # e.g. nn.Embedding(sparse=True): the norm of the stored values
            gradient = gradient.coalesce().values()
        before = parameter.detach().clone()
        measurement = _Measurement(index, torch.linalg.vector_norm(gradient), torch.linalg.vector_norm(before))
        self._steps.setdefault(self._step, []).append(measurement)
        self._pending[index] = (before, measurement)

    def _begin_step(self) -> None:
        self._step += 1
        if len(self._steps) >= 2 * self.target:
            # Too many measured for an even spread: keep every other measured step and halve the rate.
            self._stride *= 2
            self._steps = {step: kept for step, kept in self._steps.items() if step % self._stride == 0}
        self._measuring = self._step % self._stride == 0

    # -- per epoch --------------------------------------------------------------------------------------------

    def end_epoch(self) -> EpochObservation:
        """Close the epoch: the last step's updates, gate statistics, one host sync; returns its figures."""
        with torch.no_grad():
            for index, pending in enumerate(self._pending):
                if pending is not None:
                    before, measurement = pending
                    measurement.change = torch.dist(self._parameters[index].detach(), before)
        steps = self._step + 1 if self._stepped else 0
        gates = {}
        if self._probes and steps:
            since = None if self._steps_since_gates is None else self._steps_since_gates + steps
            if since is None or since >= self.gate_every_steps:
                for probe in self._probes:
                    gates.update(probe.statistics())
            self._steps_since_gates = 0 if gates else since
        measured = list(self._steps.values())  # measured steps in step order, each a list of measurements
        values = [value for items in measured for item in items
                  for value in (item.grad_norm, item.weight_norm, _or_nan(item.change, item.grad_norm))]
        values += [value for pair in gates.values() for value in pair]
        # One device-to-host copy for the whole epoch (all values are 0-d tensors on the model's device).
        host = torch.stack(values).cpu().double().tolist() if values else []
        observation = self._summarise(steps, measured, host, list(gates))
        self._previous_steps = steps
        self._start_epoch()
        return observation

    def _summarise(self, steps: int, measured: list[list[_Measurement]], host: list[float],
                   layers: list[str]) -> EpochObservation:
        """The epoch's means from ``host``: three floats per measurement of ``measured`` in order (gradient
        norm, weight norm, change), then two per gate layer (saturation, dead units).

        Plain Python floats: an epoch holds at most a few hundred measurements, and on epochs of a few steps
        numpy's per-call cost was a third of the observer's own time."""
        count = len(self.tensor_names)
        grad_sums, grad_counts = [0.0] * count, [0] * count
        ratio_sums, ratio_counts = [0.0] * count, [0] * count
        totals = []
        position = 0
        for items in measured:
            squares = 0.0
            for item in items:
                grad_norm, weight_norm, change = host[position:position + 3]
                position += 3
                grad_sums[item.tensor] += grad_norm
                grad_counts[item.tensor] += 1
                squares += grad_norm * grad_norm
                # No change at all: no optimiser step happened between the two readings (see the module docstring).
                if change != 0:
                    ratio_sums[item.tensor] += _ratio(change, weight_norm)
                    ratio_counts[item.tensor] += 1
            totals.append(math.sqrt(squares))
        gate_values = host[position:]
        return EpochObservation(
            steps=steps, measured_steps=len(measured),
            grad_norm_total=sum(totals) / len(totals) if totals else math.nan,
            grad_norm={name: total / n if n else math.nan
                       for name, total, n in zip(self.tensor_names, grad_sums, grad_counts)},
            update_ratio={name: total / n if n else math.nan
                          for name, total, n in zip(self.tensor_names, ratio_sums, ratio_counts)},
            gate_saturation=dict(zip(layers, gate_values[0::2])),
            dead_units=dict(zip(layers, gate_values[1::2])))


def _ratio(change: float, weight_norm: float) -> float:
    """change / weight_norm as IEEE division gives it (a zero weight norm: inf for a change, NaN for none)."""
    if weight_norm == 0:
        return math.inf if change > 0 else math.nan
    return change / weight_norm


def _or_nan(value: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
    return value if value is not None else torch.full_like(like, math.nan)
