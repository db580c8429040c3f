"""Gate saturation and dead units of LSTM and GRU layers, recomputed from one captured training batch.

:class:`GateProbe` keeps a reference to the input of the last training-mode forward of one ``nn.LSTM`` or
``nn.GRU`` (no copy), and :meth:`GateProbe.statistics` recomputes, layer by layer with the module's current
weights and under ``torch.inference_mode()``, every gate pre-activation of that batch:

- LSTM (gates i, f, g, o): z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh.
- GRU (gates r, z, n): r and z as above; n's pre-activation is W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn).

Each layer's hidden states h_t come from running that layer alone through PyTorch's own kernel (a one-layer
module of the same configuration, built on the meta device and then given the layer's own parameter objects,
so it always sees the current weights); the pre-activations of all steps then follow in a few vectorised
matrix products, with no Python loop over time. Dropout between layers is not applied (the statistics describe
the weights, not one dropout draw).

Definitions (per layer, both directions pooled; only valid steps count, so padding never does):

- saturated share: fraction of gate pre-activations with |z| > 5, where sigmoid' < 0.0067 and tanh' < 1.9e-4:
  a saturated gate passes almost no gradient.
- dead units: fraction of the layer's hidden units (``directions x hidden`` outputs) whose output h is
  constant on the batch: standard deviation over all valid (sample, step) pairs below 1e-3. Such a unit
  carries no information forward, whether it sits at 0 or is pinned at +-1. NaN when the batch has fewer
  than two valid (sample, step) pairs.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

#: |pre-activation| above which a gate counts as saturated.
SATURATION_THRESHOLD = 5.0
#: Standard deviation of a unit's output below which it counts as dead.
DEAD_STD = 1e-3
#: Parameter kinds of one recurrent layer (``weight_hr`` only in projected LSTMs).
PARAMETER_KINDS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")
#: Elements of one pre-activation chunk (samples x steps x gate units): bounds the memory of long sequences.
CHUNK_ELEMENTS = 4_000_000


class GateProbe:
    """Captures the last training-mode input of one LSTM/GRU module and computes its gate statistics.

    Args:
        module: an ``nn.LSTM`` or ``nn.GRU``.
        name: the module's name in the model (``""`` for the model itself); layers are named ``<name>.l<k>``.
        max_samples: at most this many samples of the captured batch are used (the first ones).
    """

    def __init__(self, module: nn.LSTM | nn.GRU, name: str, max_samples: int = 256) -> None:
        if not isinstance(module, (nn.LSTM, nn.GRU)):
            raise TypeError(f"GateProbe needs an nn.LSTM or nn.GRU, got {type(module).__name__}")
        self.module = module
        self.max_samples = int(max_samples)
        self.kind = "LSTM" if isinstance(module, nn.LSTM) else "GRU"
        self.directions = 2 if module.bidirectional else 1
        self.layer_names = tuple(f"{name}.l{k}" if name else f"l{k}" for k in range(module.num_layers))
        self._captured: tuple | None = None
        self._handle = module.register_forward_pre_hook(self._capture, with_kwargs=True)
        suffixes = ("", "_reverse")[:self.directions]
        # Per layer: its one-layer twin and (twin's name, module's name) of each parameter it shares.
        self._layers = []
        for k in range(module.num_layers):
            names = [(f"{kind}_l0{suffix}", f"{kind}_l{k}{suffix}") for suffix in suffixes for kind in PARAMETER_KINDS
                     if getattr(module, f"{kind}_l{k}{suffix}", None) is not None]
            self._layers.append((self._one_layer(k), names))

    def close(self) -> None:
        """Remove the forward hook and drop the captured batch."""
        self._handle.remove()
        self._captured = None

    def reset(self) -> None:
        """Forget the captured batch (a new epoch starts)."""
        self._captured = None

    def _capture(self, module: nn.Module, args: tuple, kwargs: dict) -> None:
        # Evaluation passes (eval mode, or no_grad/inference_mode) must not replace the training batch.
        if not module.training or not torch.is_grad_enabled():
            return
        inputs = args[0] if args else kwargs.get("input")
        hx = args[1] if len(args) > 1 else kwargs.get("hx")
        self._captured = (inputs, hx)

    def _one_layer(self, k: int) -> nn.Module:
        """A one-layer module of the same kind and shape as layer ``k`` (k >= 1 share one), on the meta device."""
        module = self.module
        input_size = module.input_size if k == 0 else self.directions * _output_size(module)
        options = {"proj_size": module.proj_size} if self.kind == "LSTM" else {}
        cls = nn.LSTM if self.kind == "LSTM" else nn.GRU
        # The meta device allocates nothing and draws no random numbers: the run's RNG stream is untouched.
        # Its meta parameters are replaced by the real ones before every use (see _bound).
        return cls(input_size, module.hidden_size, num_layers=1, bias=module.bias, batch_first=True,
                   bidirectional=module.bidirectional, device="meta", **options).eval()

    def _bound(self, k: int) -> tuple[nn.Module, dict[str, torch.Tensor]]:
        """Layer ``k``'s twin holding the module's current parameter objects, and those parameters by twin name.

        Assigning is needed once; it is redone only when the module's parameters were replaced by new objects
        (e.g. ``model.to()`` with parameter swapping), which an identity check per parameter detects.
        """
        twin, names = self._layers[k]
        weights = {}
        for twin_name, name in names:
            parameter = getattr(self.module, name)
            if getattr(twin, twin_name) is not parameter:
                setattr(twin, twin_name, parameter)  # RNNBase.__setattr__ updates its flat weight list too
            weights[twin_name] = parameter
        return twin, weights

    @torch.inference_mode()
    def statistics(self) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Per layer name, (saturated share, dead-unit share) as 0-d float tensors on the module's device.

        Empty when no training-mode forward was captured since the last :meth:`reset`.
        """
        if self._captured is None:
            return {}
        weight = self.module.weight_ih_l0
        features, lengths, hx = _batch_first(self.module, *self._captured, self.max_samples)
        features = features.to(weight.dtype)
        results = {}
        layer_input = features
        for k, name in enumerate(self.layer_names):
            outputs, saturated, dead = self._layer(k, layer_input, lengths, hx)
            results[name] = (saturated, dead)
            layer_input = outputs
        return results

    def _layer(self, k: int, features: torch.Tensor, lengths: torch.Tensor | None, hx):
        module, directions = self.module, self.directions
        batch, steps, _ = features.shape
        suffixes = ("", "_reverse")[:directions]
        twin, weights = self._bound(k)
        layer_hx = None
        if hx is not None:
            rows = slice(k * directions, (k + 1) * directions)
            layer_hx = (hx[0][rows], hx[1][rows]) if self.kind == "LSTM" else hx[rows]
        inputs = features if lengths is None else pack_padded_sequence(features, lengths.cpu(), batch_first=True,
                                                                       enforce_sorted=False)
        with warnings.catch_warnings():
            # cuDNN warns that weights passed this way are not one contiguous block; only speed is at stake.
            warnings.filterwarnings("ignore", message=".*contiguous chunk of memory.*")
            outputs, _ = twin(inputs, layer_hx)
        if lengths is not None:
            outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=steps)
        # valid is None when every step of every sample counts: the cheaper unmasked reductions then apply.
        valid = (None if lengths is None
                 else torch.arange(steps, device=features.device)[None, :] < lengths.to(features.device)[:, None])
        size = _output_size(module)
        counts, dead = [], []
        for direction, suffix in enumerate(suffixes):
            states = outputs[..., direction * size:(direction + 1) * size]
            initial = ((layer_hx[0] if self.kind == "LSTM" else layer_hx)[direction] if layer_hx is not None
                       else states.new_zeros(batch, size))
            previous = _previous_states(states, initial, lengths, reverse=direction == 1)
            counts.append(self._saturated(features, previous, valid, weights, suffix))
            dead.append(_dead_units(states, valid))
        gate_units = weights["weight_ih_l0"].shape[0]
        valid_steps = valid.sum() if valid is not None else batch * steps
        saturated = (counts[0] if len(counts) == 1 else counts[0] + counts[1]) / (valid_steps * gate_units * directions)
        dead_units = (dead[0] if len(dead) == 1 else dead[0] + dead[1]) / (directions * size)
        return outputs, saturated, dead_units

    def _saturated(self, features, previous, valid, weights, suffix) -> torch.Tensor:
        """Count (0-d tensor) of gate pre-activations with |z| > 5 over the valid steps of one direction."""
        w_ih, w_hh = weights[f"weight_ih_l0{suffix}"], weights[f"weight_hh_l0{suffix}"]
        b_ih, b_hh = weights.get(f"bias_ih_l0{suffix}"), weights.get(f"bias_hh_l0{suffix}")
        batch, steps, _ = features.shape
        gate_units = w_ih.shape[0]
        chunk = max(1, CHUNK_ELEMENTS // max(1, steps * gate_units))
        counts = []
        for start in range(0, batch, chunk):
            part = slice(start, start + chunk)
            from_input = nn.functional.linear(features[part], w_ih, b_ih)
            from_state = nn.functional.linear(previous[part], w_hh, b_hh)
            if self.kind == "LSTM":
                pre = from_input.add_(from_state)
            else:
                hidden = gate_units // 3
                reset_update = from_input[..., :2 * hidden] + from_state[..., :2 * hidden]
                reset = torch.sigmoid(reset_update[..., :hidden])
                new = from_input[..., 2 * hidden:] + reset * from_state[..., 2 * hidden:]
                pre = torch.cat([reset_update, new], dim=-1)
            over = pre.abs_() > SATURATION_THRESHOLD
            if valid is not None:
                over &= valid[part, :, None]
            counts.append(over.sum())
        return counts[0] if len(counts) == 1 else torch.stack(counts).sum()


def _output_size(module: nn.Module) -> int:
    """Size of one direction's output h: the projection size of a projected LSTM, else the hidden size."""
    return getattr(module, "proj_size", 0) or module.hidden_size


def _batch_first(module: nn.Module, inputs, hx, max_samples: int):
    """(features (B, T, F), lengths (B,) int64 or None when every step is valid, hx sliced alike or None)."""
    if isinstance(inputs, PackedSequence):
        # pad_packed_sequence restores the caller's batch order, the order hx is given in.
        features, lengths = pad_packed_sequence(inputs, batch_first=True)
    else:
        features, lengths = inputs, None
        if features.dim() == 2:  # an unbatched sequence (T, F)
            features = features.unsqueeze(0)
            if hx is not None:
                hx = tuple(part.unsqueeze(1) for part in hx) if isinstance(hx, tuple) else hx.unsqueeze(1)
        elif not module.batch_first:
            features = features.transpose(0, 1)
    features = features.detach()[:max_samples]
    if lengths is not None:
        lengths = lengths[:max_samples]
    if hx is not None:
        hx = (tuple(part.detach()[:, :max_samples] for part in hx) if isinstance(hx, tuple)
              else hx.detach()[:, :max_samples])
    return features, lengths, hx


def _previous_states(states: torch.Tensor, initial: torch.Tensor, lengths: torch.Tensor | None,
                     reverse: bool) -> torch.Tensor:
    """h_{t-1} for each step t (B, T, H): the state the cell read at step t (the initial state at its first step).

    Forward, step 0 reads the initial state and step t the output of step t - 1. Backward, a sequence of
    length L starts at step L - 1 from the initial state and step t reads the output of step t + 1.
    """
    initial = initial.to(states.dtype)
    if not reverse:
        return torch.cat([initial[:, None], states[:, :-1]], dim=1)
    previous = torch.cat([states[:, 1:], torch.zeros_like(states[:, :1])], dim=1)
    batch, steps = states.shape[:2]
    last = (torch.full((batch,), steps - 1, device=states.device) if lengths is None
            else (lengths.to(states.device) - 1))
    previous[torch.arange(batch, device=states.device), last] = initial
    return previous


def _dead_units(states: torch.Tensor, valid: torch.Tensor | None) -> torch.Tensor:
    """Number of units (0-d tensor) whose output's std over valid (sample, step) pairs is below DEAD_STD.

    ``valid`` None means every pair is valid. NaN when fewer than two pairs are valid.
    """
    if valid is None:
        pairs = states.shape[0] * states.shape[1]
        if pairs < 2:
            return states.new_full((), float("nan"))
        return (states.reshape(pairs, -1).std(dim=0, correction=0) < DEAD_STD).sum()
    mask = valid[..., None].to(states.dtype)
    count = mask.sum(dim=(0, 1))
    mean = (states * mask).sum(dim=(0, 1)) / count
    variance = (((states - mean) ** 2) * mask).sum(dim=(0, 1)) / count
    dead = (variance.sqrt() < DEAD_STD).sum().to(states.dtype)
    return torch.where(count[0] >= 2, dead, torch.full_like(dead, float("nan")))
