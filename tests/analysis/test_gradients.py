"""gradient_health on hand-made observations: it flags exactly the epochs and layers it should."""

import dataclasses
import json
import math

import numpy as np
import pytest

from lossgap.analysis import GradientHealth, gradient_health
from lossgap.analysis.gradients import weight_tensors
from lossgap.errors import DataError
from lossgap.observations import OptimizationObservations

NAMES = ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "head.weight", "head.bias")


def observations(total, *, first=None, last=None, ratio=None, saturation=None, dead=None, measured=None):
    """Observations of len(total) epochs: the head's gradient norm is ``last`` (default 1), the first weight's
    ``first`` (default 0.5), every tensor's update ratio ``ratio`` (default 0.005)."""
    total = np.asarray(total, dtype=float)
    epochs = total.size
    grad = np.full((epochs, len(NAMES)), 0.3)
    grad[:, 0] = 0.5 if first is None else first
    grad[:, 3] = 1.0 if last is None else last
    ratios = np.full((epochs, len(NAMES)), 0.005)
    if ratio is not None:
        ratios[:, [0, 1, 3]] = np.asarray(ratio, dtype=float)[:, None]
        ratios[:, [2, 4]] = 5.0  # biases start near zero: their huge ratios must not count
    layers = ("lstm.l0",)
    gates = np.zeros((epochs, 1)) if saturation is None else np.asarray(saturation, dtype=float)[:, None]
    deads = np.zeros((epochs, 1)) if dead is None else np.asarray(dead, dtype=float)[:, None]
    measured = np.full(epochs, 4) if measured is None else np.asarray(measured)
    return OptimizationObservations(tensor_names=NAMES, layer_names=layers, steps=np.full(epochs, 10),
                                    measured_steps=measured, grad_norm_total=total, grad_norm=grad,
                                    update_ratio=ratios, gate_saturation=gates, dead_units=deads)


def test_a_healthy_run_flags_nothing_even_when_learning_starts_late():
    # Measured on GunPoint: the total norm rose 7x over the earlier median when learning began.
    health = gradient_health(observations([0.2, 0.15, 0.2, 0.18, 1.3, 0.3, 0.25]))
    assert isinstance(health, GradientHealth)
    assert health.exploding_epochs == () and health.large_update_epochs == ()
    assert not (health.exploding or health.large_updates or health.vanishing or health.saturated or health.dead)
    assert health.weight_names == ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "head.weight")
    assert health.first_weight == "lstm.weight_ih_l0" and health.last_weight == "head.weight"
    np.testing.assert_allclose(health.depth_ratio, 0.5)
    np.testing.assert_allclose(health.median_update_ratio, 0.005)


def test_exploding_epochs_non_finite_far_above_the_earlier_epochs_or_autotrainer_gradient_ratio():
    total = [0.2, 0.3, 0.25, 9.0, 0.3, math.nan, math.inf, 0.2]  # 9.0 > 30 x median(0.2, 0.3, 0.25) = 7.5
    first = [80.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]  # epoch 1: first / last weight = 80 > 70
    health = gradient_health(observations(total, first=first))
    assert health.non_finite_epochs == (6, 7)
    assert health.exploding_epochs == (1, 4, 6, 7)


def test_the_factor_rule_waits_for_two_earlier_epochs_and_skips_unobserved_ones():
    total = [0.1, 50.0, math.nan, 0.2, 100.0]
    health = gradient_health(observations(total, measured=[4, 4, 0, 4, 4]))
    # Epoch 2 has one earlier epoch only; epoch 3 was not measured (NaN is not non-finite there); epoch 5 is
    # 100 > 30 x median(0.1, 50, 0.2) = 6.
    assert health.exploding_epochs == (5,) and health.non_finite_epochs == ()
    assert health.observed.tolist() == [True, True, False, True, True]


def test_large_update_epochs_use_the_median_over_weight_tensors_only():
    ratio = [0.4, 0.05, 0.02, 0.11, 0.005]
    health = gradient_health(observations(np.full(5, 0.3), ratio=ratio))
    assert health.large_update_epochs == (1, 4)
    np.testing.assert_allclose(health.median_update_ratio, ratio)


def test_vanishing_by_autotrainers_rule_judged_on_the_last_quarter():
    first = [0.5] * 6 + [5e-5, 5e-5]  # first weight / head = 5e-5 < 1e-3 and below 1e-4 in the last 2 epochs
    health = gradient_health(observations(np.full(8, 0.3), first=first))
    assert health.tail_epochs == 2 and health.vanishing
    assert health.depth_ratio_end == pytest.approx(5e-5) and health.first_grad_norm_end == pytest.approx(5e-5)
    early = gradient_health(observations(np.full(8, 0.3), first=[5e-5] * 2 + [0.5] * 6))
    assert not early.vanishing  # vanishing at the start only, gone at the end


def test_all_gradients_near_zero_vanish_only_while_the_loss_is_not_near_zero():
    tiny = observations(np.full(4, 1e-6), first=np.full(4, 1e-6), last=np.full(4, 1e-6))
    assert not gradient_health(tiny).vanishing  # without the loss nothing can be said
    assert gradient_health(tiny, train_loss=[0.7, 0.69, 0.69, 0.69]).vanishing
    assert not gradient_health(tiny, train_loss=[0.3, 0.01, 0.001, 0.0005]).vanishing  # fitted
    with pytest.raises(DataError, match="3 train-loss values for 4 observed epochs"):
        gradient_health(tiny, train_loss=[0.1, 0.2, 0.3])


def test_saturated_and_dead_at_the_end_use_the_last_epoch_with_gate_statistics():
    health = gradient_health(observations(np.full(4, 0.3), saturation=[0.1, 0.7, 0.65, math.nan],
                                          dead=[0.0, 0.2, 0.5, math.nan]))
    assert health.saturation_end == pytest.approx(0.65) and health.saturated_layers == ("lstm.l0",)
    assert health.dead_end == pytest.approx(0.5) and health.dead and health.saturated
    calm = gradient_health(observations(np.full(4, 0.3), saturation=[0.9, 0.9, 0.3, 0.49], dead=[0.6] * 3 + [0]))
    assert not calm.saturated and not calm.dead


def test_a_model_without_recurrent_layers_or_observed_epochs():
    plain = OptimizationObservations.from_rows([{"steps": 2, "measured_steps": 2, "grad_norm_total": 0.1,
                                                 "grad_norm:0.weight": 0.1, "update_ratio:0.weight": 0.01}])
    health = gradient_health(plain)
    assert health.layer_names == () and math.isnan(health.saturation_end) and not health.saturated
    assert health.first_weight is None and math.isnan(health.depth_ratio[0])
    empty = gradient_health(OptimizationObservations.from_rows([{}, {}]))
    assert empty.exploding_epochs == () and empty.tail_epochs == 0 and not empty.vanishing


def test_to_dict_is_json_ready_and_bad_input_is_one_line():
    health = gradient_health(observations([0.2, math.inf, 0.2]))
    payload = json.loads(json.dumps(health.to_dict(), allow_nan=False))
    assert payload["exploding"] is True and payload["total_grad_norm"][1] is None
    with pytest.raises(DataError, match="needs OptimizationObservations"):
        gradient_health({"grad_norm": [1.0]})


def test_weight_tensors_leave_out_biases():
    assert weight_tensors(["a.weight", "a.bias", "gru.bias_hh_l0", "gain", "x.weight_hh_l0"]) == (
        "a.weight", "gain", "x.weight_hh_l0")


def _with_grad(base, grad):
    return dataclasses.replace(base, grad_norm=np.asarray(grad, dtype=float))


def test_weights_whose_gradient_stays_exactly_zero_to_the_end_are_silenced_from_that_epoch():
    base = observations(np.full(6, 0.3))
    grad = base.grad_norm.copy()
    grad[1:, [0, 1, 3]] = 0.0                  # every weight silent from epoch 2 on; the biases still learn
    health = gradient_health(_with_grad(base, grad))
    assert health.silenced == {"lstm.weight_ih_l0": 2, "lstm.weight_hh_l0": 2, "head.weight": 2}
    assert health.silenced_share == 1.0
    grad = base.grad_norm.copy()
    grad[:, 0] = 0.0                           # never had a gradient: a frozen input, not a death
    grad[4:, 1] = 0.0                          # only the last 2 epochs: too short to call
    grad[1:3, 3] = 0.0                         # silent for a while, then back
    assert gradient_health(_with_grad(base, grad)).silenced == {}
    assert json.loads(json.dumps(health.to_dict()))["silenced"]["head.weight"] == 2


def test_trainable_tensors_backward_never_reached_are_ungraded():
    # An own GRU whose hidden state was detached before the head: NaN for every GRU tensor in every epoch (their
    # gradient hooks never ran) while the head's were measured.
    base = observations(np.full(6, 0.3))
    grad = base.grad_norm.copy()
    grad[:, [0, 1, 2]] = np.nan
    health = gradient_health(_with_grad(base, grad))
    assert health.ungraded == ("lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0")
    assert json.loads(json.dumps(health.to_dict()))["ungraded"] == list(health.ungraded)
    # Measured in one epoch only is reached; nothing measured anywhere says nothing.
    grad[3, 0] = 0.1
    assert gradient_health(_with_grad(base, grad)).ungraded == ("lstm.weight_hh_l0", "lstm.bias_ih_l0")
    assert gradient_health(_with_grad(base, np.full_like(grad, np.nan))).ungraded == ()
    assert gradient_health(base).ungraded == ()


def test_a_total_gradient_norm_that_grows_every_epoch_is_growing():
    # An own loop without optimizer.zero_grad(): 0.67 -> 416 over 25 epochs, rising in 88% of them.
    steady = observations(np.geomspace(0.67, 416, 25))
    assert gradient_health(steady).growing
    # A sum of unzeroed gradients that stops growing stays high: an Adam LSTM without zero_grad() rose 20x in 7 epochs
    # and held there as its gates saturated; zero_grad() once per epoch jumped between 33x and 420x.
    held = np.r_[np.geomspace(0.97, 17, 7), 17 + np.random.default_rng(0).uniform(0, 4, 33)]
    assert gradient_health(observations(held)).growing
    jumping = np.r_[np.geomspace(0.55, 20, 7), np.random.default_rng(1).choice([20.0, 30.0, 45.0, 230.0], 33)]
    assert gradient_health(observations(jumping)).growing
    # Peaks of 100x with the ups and downs of a learning run, back to under 10x between them (a GunPoint run of the
    # suite: 102x at its end, 8.7x at its lowest in the second half), or rising every epoch but only 10x, are not.
    wobbling = np.geomspace(0.67, 67, 25) * np.where(np.arange(25) % 2, 1.0, 0.087)
    assert not gradient_health(observations(wobbling)).growing
    assert not gradient_health(observations(np.geomspace(0.5, 5, 25))).growing


def test_a_gradient_norm_rising_while_the_train_loss_goes_to_zero_is_growing():
    # Trial 19: an own GRU at Adam without zero_grad(), 4.1 -> 30.5 rising in 90% of its epochs while its train loss
    # fell to 0.7% of its first epoch's: zeroed gradients shrink as the loss goes to 0.
    total = np.geomspace(4.1, 30.5, 30) * np.where(np.arange(30) == 12, 0.99, 1.0)
    fitted = np.geomspace(2.0, 0.014, 30)
    assert not gradient_health(observations(total)).growing
    assert gradient_health(observations(total), train_loss=fitted).growing
    # The same rise where the loss keeps half its value (the nearest of 850 cached runs, label noise being memorised),
    # or a rise in fewer epochs, is not.
    assert not gradient_health(observations(total), train_loss=np.geomspace(2.0, 1.0, 30)).growing
    wobbling = total * np.where(np.arange(30) % 3 == 0, 0.8, 1.0)
    assert not gradient_health(observations(wobbling), train_loss=fitted).growing


def test_steps_that_never_move_the_weights_by_a_ten_thousandth_are_stalled():
    # An own loop clipping at 1e-4 under SGD 0.05: no epoch's median update ratio above 5e-6.
    tiny = gradient_health(observations(np.full(10, 2.8), ratio=np.full(10, 5e-6)))
    assert tiny.stalled and tiny.largest_update_ratio == pytest.approx(5e-6)
    assert tiny.to_dict()["stalled"] is True
    # A learning rate far too high ends with tiny ratios too, once its weights have grown, but takes large steps first.
    grown = np.full(10, 1e-7)
    grown[0] = 0.3
    assert not gradient_health(observations(np.full(10, 2.8), ratio=grown)).stalled
    # A working run (0.005) is not; nor is one whose gradients became non-finite.
    assert not gradient_health(observations(np.full(10, 2.8))).stalled
    non_finite = np.full(10, 2.8)
    non_finite[4] = np.nan
    assert not gradient_health(observations(non_finite, ratio=np.full(10, 5e-6))).stalled
