"""Optimization health on hand-made curves: spikes, non-finite epochs, oscillation, slopes at the end."""

import json
import math

import numpy as np
import pytest

from lossgap.analysis.optimization import (find_spikes, new_low_share, optimization_health, oscillation,
                                          Spike, recovery_epochs, relative_slope)
from lossgap.errors import ConfigError, DataError

EPOCHS = np.arange(30)
DECAY = np.exp(-EPOCHS / 10)


def test_clean_exponential_decay_is_healthy_and_still_falling():
    health = optimization_health(DECAY, 0.2 + DECAY)
    assert health.non_finite_epochs == ()
    assert health.spikes == ()
    assert not health.oscillating and not health.unstable
    assert health.train_oscillation.sign_change_fraction == 0
    assert health.train_still_falling and health.val_still_falling
    assert health.tail_epochs == 7  # a quarter of 30 epochs
    # A pure exponential loses 1 - e^-0.1 of itself per epoch; the least-squares slope over the tail is close.
    assert health.train_slope_end == pytest.approx(-0.1, rel=0.05)
    assert -0.1 < health.val_slope_end < 0


def test_a_threefold_jump_at_epoch_12_is_one_spike():
    train = DECAY.copy()
    train[11] *= 3
    health = optimization_health(train, 0.2 + DECAY)
    assert [(spike.epoch, spike.split) for spike in health.spikes] == [(12, "train")]
    assert health.spikes[0].size == pytest.approx(3 * math.exp(-0.1))
    assert health.unstable


def test_a_jump_in_noisy_val_loss_is_a_spike_but_its_noise_is_not():
    noise = np.resize([0.03, -0.03, 0.02, -0.01, 0.0, 0.025], 30)
    val = 0.6 + noise
    assert find_spikes(val, "val") == ()
    val[20] = 1.2
    assert [spike.epoch for spike in find_spikes(val, "val")] == [21]


def test_a_small_bump_is_not_a_spike():
    train = DECAY.copy()
    train[11] *= 1.2  # a 20% bump stays under the 25% floor
    assert find_spikes(train, "train") == ()


def test_a_nan_at_epoch_5_is_reported_and_not_a_spike():
    train = DECAY.copy()
    train[4] = np.nan
    health = optimization_health(train, 0.2 + DECAY)
    assert health.non_finite_epochs == (5,)
    assert health.spikes == ()
    assert health.unstable


def test_inf_in_either_loss_is_non_finite():
    val = 0.2 + DECAY
    val[[6, 9]] = [np.inf, -np.inf]
    train = DECAY.copy()
    train[9] = np.nan
    assert optimization_health(train, val).non_finite_epochs == (7, 10)


def test_zig_zag_loss_oscillates():
    zig_zag = 0.5 + 0.1 * np.resize([1, -1], 30)
    health = optimization_health(zig_zag, 0.2 + DECAY, tail=10)
    assert health.train_oscillation.sign_change_fraction == 1.0
    assert health.train_oscillation.relative_amplitude == pytest.approx(0.2)
    assert health.train_oscillation.oscillating and health.oscillating and health.unstable
    assert not health.val_oscillation.oscillating


def test_tiny_noise_flips_direction_but_does_not_oscillate():
    flat = 0.5 + 0.001 * np.resize([1, -1], 30)
    result = oscillation(flat, "train")
    assert result.sign_change_fraction == 1.0
    assert result.relative_amplitude < 0.01
    assert not result.oscillating


def test_a_converged_or_noisy_flat_loss_is_not_still_falling():
    converged = 0.3 + 0.001 * np.exp(-EPOCHS / 3)
    assert not optimization_health(converged).train_still_falling
    noisy = 0.5 + np.random.default_rng(1).normal(0, 0.02, 30)
    assert relative_slope(noisy)[1] is False
    rising = np.linspace(0.5, 0.6, 10)
    slope, falling = relative_slope(rising)
    assert slope > 0 and not falling


def test_lr_and_gradient_norm_summaries():
    lr = np.r_[np.full(29, 1e-3), np.nan]
    grad = np.r_[np.arange(1.0, 30.0), np.inf]
    health = optimization_health(DECAY, lr=lr, grad_norm=grad)
    assert health.lr_end == 1e-3
    assert health.grad_norm_median == 15.0 and health.grad_norm_max == 29.0
    assert health.val_oscillation is None and math.isnan(health.val_slope_end) and not health.val_still_falling
    bare = optimization_health(DECAY)
    assert bare.lr_end is None and bare.grad_norm_median is None and bare.grad_norm_max is None


def test_the_tail_sets_where_the_slope_is_measured():
    curve = np.r_[np.linspace(1.0, 0.5, 20), np.full(10, 0.5)]
    assert not optimization_health(curve, tail=10).train_still_falling
    assert optimization_health(curve, tail=30).train_still_falling
    assert optimization_health(curve, tail=100).tail_epochs == 30


@pytest.mark.parametrize("epochs", [1, 2, 3])
def test_very_short_runs_do_not_fail(epochs):
    health = optimization_health(DECAY[:epochs], 0.2 + DECAY[:epochs])
    assert health.spikes == () and health.non_finite_epochs == ()
    assert not health.oscillating
    json.dumps(health.to_dict(), allow_nan=False)
    if epochs == 1:
        assert math.isnan(health.train_slope_end) and not health.train_still_falling


def test_to_dict_is_plain_json():
    train = DECAY.copy()
    train[11] *= 3
    train[4] = np.nan
    as_dict = optimization_health(train, 0.2 + DECAY, lr=np.full(30, 0.01)).to_dict()
    json.dumps(as_dict, allow_nan=False)
    assert as_dict["non_finite_epochs"] == [5]
    assert as_dict["spikes"] == [{"epoch": 12, "split": "train", "size": pytest.approx(3 * math.exp(-0.1))}]
    assert as_dict["unstable"] is True and as_dict["lr_end"] == 0.01


def test_bad_input_is_a_clear_error():
    with pytest.raises(DataError, match="val loss"):
        optimization_health(DECAY, DECAY[:5])
    with pytest.raises(DataError, match="learning-rate"):
        optimization_health(DECAY, lr=[0.1])
    with pytest.raises(DataError, match="no epochs"):
        optimization_health([])
    with pytest.raises(ConfigError, match="tail"):
        optimization_health(DECAY, tail=1)


def test_new_low_share_counts_the_tail_epochs_that_beat_every_earlier_one():
    creeping = 0.7 - 1e-4 * EPOCHS  # too slow to count as falling, a new low every epoch
    assert new_low_share(creeping, 7) == 1.0
    health = optimization_health(creeping, creeping)
    assert not health.val_still_falling and health.val_new_low_share == 1.0 and health.val_still_improving
    assert health.to_dict()["val_still_improving"] is True
    level = 0.5 + np.random.default_rng(3).normal(0, 0.01, 30)
    assert new_low_share(level, 7) <= 2 / 7
    assert not optimization_health(level, level).val_still_improving
    # A NaN is never a new low and hides nothing: the next finite epoch still has to beat the earlier ones.
    assert new_low_share([1.0, 0.9, np.nan, 0.95, 0.8], 3) == pytest.approx(1 / 3)
    assert math.isnan(new_low_share([1.0], 3))
    assert math.isnan(optimization_health(DECAY).val_new_low_share)


def test_a_spike_the_loss_recovered_from_spans_the_spike_to_the_epoch_back_below_its_start():
    loss = np.array([1.0, 0.9, 0.8, 1.6, 1.2, 0.7, 0.6])
    spikes = find_spikes(loss, "val")
    assert [spike.epoch for spike in spikes] == [4]
    assert recovery_epochs(loss, spikes) == (4, 5)       # epoch 6 (0.7) is back below epoch 3's 0.8
    # A run that ended inside its spike has not recovered: its last epochs are the trend, not an episode in it.
    assert recovery_epochs(loss[:5], find_spikes(loss[:5], "val")) == ()
    # Back-to-back spikes are one episode, measured from where it began: a Lightning run whose val loss went 0.229 ->
    # 0.452 -> 1.065 and ended at 0.385 is still inside it (0.452 is no level to have recovered to).
    back_to_back = (Spike(epoch=4, split="val", size=2.0), Spike(epoch=5, split="val", size=2.2))
    assert recovery_epochs([1.0, 0.9, 0.8, 1.6, 3.5, 1.0, 0.7], back_to_back) == (4, 5, 6)
    inside = [0.5, 0.4, 0.3, 0.26, 0.229, 0.452, 1.065, 0.789, 0.628, 0.497, 0.437, 0.385]
    assert recovery_epochs(inside, (Spike(epoch=6, split="val", size=1.97), Spike(epoch=7, split="val", size=2.4))) == ()
    # Left out of the new-low count, numerator and denominator.
    assert new_low_share(loss, 6) == pytest.approx(4 / 6)
    assert new_low_share(loss, 6, skip=(4, 5)) == 1.0
    assert math.isnan(new_low_share(loss, 2, skip=(6, 7)))


def test_a_falling_loss_with_a_recovered_two_epoch_spike_in_its_tail_is_still_falling():
    # A GRU's val loss set 7 new lows in its last 10 epochs around a 2-epoch spike (0.50 -> 0.62, 0.82, 1.01 -> 0.40)
    # and had read as levelled off: the spike's epochs pulled the tail's slope up.
    falling = 0.9 * np.exp(-np.arange(40) / 40)
    spiked = falling.copy()
    spiked[37:39] = [1.6 * falling[36], 2.0 * falling[36]]
    assert not relative_slope(spiked[-10:])[1]            # the whole tail, spike included
    health = optimization_health(spiked, spiked)
    assert health.val_recovery_epochs == (38, 39)
    assert health.val_still_falling and health.train_still_falling and health.val_slope_end < 0
    assert health.val_new_low_share == 1.0 and health.val_still_improving
    # The same run ending inside its spike is not still falling.
    assert not optimization_health(spiked[:39], spiked[:39]).val_still_falling


def test_train_new_lows_are_counted_outside_a_spike_the_train_loss_recovered_from():
    from lossgap.analysis.optimization import optimization_health

    recovered_late = [1.0, 0.8, 0.6, 0.5, 0.45, 0.42, 1.2, 0.9, 0.6, 0.44, 0.40, 0.38]
    health = optimization_health(recovered_late, tail=5)
    # Epochs 8-12 are the tail; 7-10 the spike's episode (back at or below 0.42, the loss before it, only at 11):
    # 11 and 12, the epochs left, are both new lows; the slope has too few epochs left to say anything.
    assert health.train_new_low_share == 1.0 and not health.train_still_falling and health.train_still_improving
    levelled = [1.0, 0.8, 0.6, 0.5, 0.45, 0.42, 1.2, 0.9, 0.6, 0.41, 0.43, 0.415]
    health = optimization_health(levelled, tail=5)
    assert health.train_new_low_share == 1 / 3 and not health.train_still_improving
