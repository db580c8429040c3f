"""OptimizationObserver: gradient norms, update ratios and gate statistics equal what a hand computation gives."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from lossgap.errors import ConfigError
from lossgap.model import LSTMClassifier
from lossgap.training.gates import GateProbe
from lossgap.training.observer import OptimizationObserver

EVERY_STEP = {"min_stride": 1, "gate_every_steps": 1}


def batch(samples=8, steps=6, features=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(samples, steps, features, generator=generator),
            torch.randint(0, 2, (samples,), generator=generator))


def backward(model, x, y):
    nn.functional.cross_entropy(model(x), y).backward()


def test_grad_norm_and_update_ratio_of_one_sgd_step_equal_the_hand_computation():
    torch.manual_seed(0)
    model = LSTMClassifier(3, 5, 2)
    observer = OptimizationObserver(model, **EVERY_STEP)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = batch()
    backward(model, x, y)
    grads = {name: p.grad.norm().item() for name, p in model.named_parameters()}
    weights = {name: p.detach().norm().item() for name, p in model.named_parameters()}
    optimizer.step()
    epoch = observer.end_epoch()
    assert epoch.steps == 1 and epoch.measured_steps == 1
    for name in grads:
        assert epoch.grad_norm[name] == pytest.approx(grads[name], rel=1e-5)
        # Plain SGD moves every tensor by lr * grad: the ratio is lr * ||g|| / ||theta||.
        assert epoch.update_ratio[name] == pytest.approx(0.1 * grads[name] / weights[name], rel=1e-4)
    assert epoch.grad_norm_total == pytest.approx(math.sqrt(sum(g ** 2 for g in grads.values())), rel=1e-5)
    observer.close()


def test_norms_are_read_before_clipping_and_the_ratio_sees_the_clipped_step():
    torch.manual_seed(1)
    model = LSTMClassifier(3, 5, 2)
    observer = OptimizationObserver(model, **EVERY_STEP)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    x, y = batch(seed=1)
    backward(model, x, y)
    total = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]).item()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=total / 10)
    optimizer.step()
    epoch = observer.end_epoch()
    assert epoch.grad_norm_total == pytest.approx(total, rel=1e-5)
    for name, parameter in model.named_parameters():
        moved = (parameter.detach() - before[name]).norm().item() / before[name].norm().item()
        assert epoch.update_ratio[name] == pytest.approx(moved, rel=1e-4)


def test_epoch_figures_are_means_over_the_steps_and_eval_passes_do_not_count():
    def run(with_evaluation):
        torch.manual_seed(2)
        model = LSTMClassifier(3, 6, 2)
        observer = OptimizationObserver(model, **EVERY_STEP)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        norms = []
        for step in range(4):
            x, y = batch(seed=10 + step)
            optimizer.zero_grad()
            backward(model, x, y)
            norms.append(model.lstm.weight_hh_l0.grad.norm().item())
            optimizer.step()
            if with_evaluation:  # eval mode, and train mode without gradients: neither is a training step
                model.eval()
                with torch.inference_mode():
                    model(100 * torch.randn(16, 9, 3))
                model.train()
                with torch.no_grad():
                    model(100 * torch.randn(16, 9, 3))
        epoch = observer.end_epoch()
        return epoch, norms

    plain, norms = run(False)
    evaluated, _ = run(True)
    assert plain.steps == 4 and plain.measured_steps == 4
    assert plain.grad_norm["lstm.weight_hh_l0"] == pytest.approx(np.mean(norms), rel=1e-5)
    assert evaluated == plain  # same steps, same gate batch: the evaluation passes changed nothing


def test_sampling_is_dense_in_the_first_epoch_then_one_step_in_eight():
    model = nn.Linear(2, 2)
    observer = OptimizationObserver(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.randn(4, 2)
    counts = []
    for steps in (20, 100, 40, 300):
        for _ in range(steps):
            optimizer.zero_grad()
            model(x).sum().backward()
            optimizer.step()
        epoch = observer.end_epoch()
        counts.append((epoch.steps, epoch.measured_steps))
    # 20 dense; then 100 at stride max(8, 20 // 16) = 8: 13 measured; 40 at stride max(8, 100 // 16) = 8: 5;
    # 300 at stride 8 reaches 32 measured at step 248, thins to every 16th step and goes on: 0, 16, ..., 288.
    assert counts == [(20, 20), (100, 13), (40, 5), (300, 19)]


def test_gradient_accumulation_leaves_out_readings_without_an_optimizer_step():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    observer = OptimizationObserver(model, **EVERY_STEP)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    ratios = []
    for step in range(3):
        optimizer.zero_grad()
        for micro in range(2):  # two backward passes per optimiser step
            x, y = torch.randn(5, 3), torch.randint(0, 2, (5,))
            nn.functional.cross_entropy(model(x), y).backward()
        before = model[0].weight.detach().clone()
        optimizer.step()
        ratios.append(((model[0].weight.detach() - before).norm() / before.norm()).item())
    epoch = observer.end_epoch()
    assert epoch.steps == 6  # every backward counts as a step
    assert epoch.update_ratio["0.weight"] == pytest.approx(np.mean(ratios), rel=1e-4)


def test_huge_lstm_weights_saturate_the_gates_a_shut_output_gate_kills_the_units_a_fresh_model_neither():
    torch.manual_seed(4)
    fresh, huge, shut = (LSTMClassifier(3, 8, 2) for _ in range(3))
    with torch.no_grad():
        for parameter in huge.lstm.parameters():
            parameter.mul_(300.0)
        shut.lstm.bias_ih_l0[24:].fill_(-100.0)  # gates i, f, g, o: the output gate is shut, h is always 0
    x, y = batch(samples=16, steps=10)
    shares = {}
    for label, model in (("fresh", fresh), ("huge", huge), ("shut", shut)):
        observer = OptimizationObserver(model, **EVERY_STEP)
        backward(model, x, y)
        epoch = observer.end_epoch()
        shares[label] = (epoch.gate_saturation["lstm.l0"], epoch.dead_units["lstm.l0"])
        observer.close()
    assert shares["fresh"][0] < 0.01 and shares["fresh"][1] == 0.0
    assert shares["huge"][0] > 0.9
    assert shares["shut"][1] == 1.0 and shares["shut"][0] >= 0.25


def reference_gates(module, x, lengths):
    """(saturated share, dead share) per layer by a plain Python recurrence over each sample's valid steps."""
    directions = 2 if module.bidirectional else 1
    layer_input = [x[b, :int(lengths[b])] for b in range(x.shape[0])]
    out = []
    for k in range(module.num_layers):
        over = total = 0
        outputs = [[None] * directions for _ in layer_input]
        for d, suffix in enumerate(("", "_reverse")[:directions]):
            w_ih, w_hh = getattr(module, f"weight_ih_l{k}{suffix}"), getattr(module, f"weight_hh_l{k}{suffix}")
            b_ih, b_hh = getattr(module, f"bias_ih_l{k}{suffix}"), getattr(module, f"bias_hh_l{k}{suffix}")
            for b, sequence in enumerate(layer_input):
                h = torch.zeros(module.hidden_size)
                c = torch.zeros(module.hidden_size)
                states = [None] * len(sequence)
                order = range(len(sequence)) if d == 0 else reversed(range(len(sequence)))
                for t in order:
                    gi, gh = w_ih @ sequence[t] + b_ih, w_hh @ h + b_hh
                    if isinstance(module, nn.LSTM):
                        z = gi + gh
                        i, f, g, o = z.chunk(4)
                        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                        h = torch.sigmoid(o) * torch.tanh(c)
                    else:
                        (ir, iz, i_n), (hr, hz, h_n) = gi.chunk(3), gh.chunk(3)
                        r, u = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                        n_pre = i_n + r * h_n
                        z = torch.cat([ir + hr, iz + hz, n_pre])
                        h = (1 - u) * torch.tanh(n_pre) + u * h
                    over += int((z.abs() > 5).sum())
                    total += z.numel()
                    states[t] = h
                outputs[b][d] = torch.stack(states)
        layer_input = [torch.cat(parts, dim=1) for parts in outputs]
        flat = torch.cat(layer_input)
        dead = int((flat.std(dim=0, correction=0) < 1e-3).sum()) / flat.shape[1]
        out.append((over / total, dead))
    return out


@pytest.mark.parametrize("kind", [nn.LSTM, nn.GRU])
def test_gate_statistics_equal_a_plain_recurrence_on_packed_bidirectional_stacked_input(kind):
    torch.manual_seed(5)
    module = kind(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.mul_(8.0)  # large enough that some, not all, pre-activations pass +-5
    lengths = torch.tensor([7, 3, 5, 1, 7, 2])
    x = torch.randn(6, 7, 3)
    x[torch.arange(7)[None, :] >= lengths[:, None]] = 99.0  # padding must never count
    probe = GateProbe(module, "rnn")
    packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    module(packed)
    stats = {name: (float(a), float(b)) for name, (a, b) in probe.statistics().items()}
    with torch.no_grad():
        expected = reference_gates(module, x, lengths)
    assert list(stats) == ["rnn.l0", "rnn.l1"]
    for (saturated, dead), (want_saturated, want_dead) in zip(stats.values(), expected):
        assert 0.05 < want_saturated < 0.95
        assert saturated == pytest.approx(want_saturated, abs=2e-3)
        assert dead == pytest.approx(want_dead, abs=1e-9)


def test_gru_of_the_own_loop_shape_and_a_model_without_recurrent_layers():
    class GRUModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(2, 5, batch_first=True)
            self.head = nn.Linear(5, 2)

        def forward(self, x):
            return self.head(self.gru(x)[1][-1])

    for model, layers in ((GRUModel(), ("gru.l0",)), (nn.Sequential(nn.Linear(2, 2)), ())):
        observer = OptimizationObserver(model, **EVERY_STEP)
        x = torch.randn(4, 6, 2) if layers else torch.randn(4, 2)
        model(x).sum().backward()
        epoch = observer.end_epoch()
        assert observer.layer_names == layers and tuple(epoch.gate_saturation) == layers
        assert all(math.isfinite(value) for value in epoch.grad_norm.values())


def test_observing_draws_no_random_numbers_and_close_removes_the_hooks():
    torch.manual_seed(6)
    model = LSTMClassifier(3, 5, 2)
    state = torch.get_rng_state()
    observer = OptimizationObserver(model, **EVERY_STEP)
    x, y = batch()
    backward(model, x, y)
    observer.end_epoch()
    assert torch.equal(torch.get_rng_state(), state)
    observer.close()
    backward(model, x, y)
    assert observer.end_epoch().steps == 0  # no hook ran


def test_bad_options_are_one_line_errors():
    with pytest.raises(ConfigError, match="steps_per_epoch must be a positive integer"):
        OptimizationObserver(nn.Linear(1, 1), steps_per_epoch=0)
    with pytest.raises(ConfigError, match="needs a torch.nn.Module"):
        OptimizationObserver("model")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_observing_on_cuda():
    model = LSTMClassifier(3, 5, 2).cuda()
    observer = OptimizationObserver(model, **EVERY_STEP)
    x, y = batch()
    backward(model, x.cuda(), y.cuda())
    epoch = observer.end_epoch()
    assert math.isfinite(epoch.grad_norm_total) and math.isfinite(epoch.gate_saturation["lstm.l0"])
