"""Noise-aware plateaus on hand-made curves with known windows."""

import json
import math

import numpy as np
import pytest

from lossgap.analysis.plateaus import Plateau, accuracy_noise, find_plateaus, main_plateau
from lossgap.errors import ConfigError, DataError

N = 150  # one sample = 0.67 points of accuracy; noise at p ~ 0.47 is about 6 samples
JITTER = np.array([0, 1, -1, 0, 1, 0, -1, 1, 0, -1]) / N  # +-1 sample, never a trend


def falling_loss(epochs, rate=0.05, start=1.0):
    return start * np.exp(-rate * np.arange(epochs))


def flat_after_ramp(epochs=30, ramp=(0.2, 0.267, 0.333, 0.4), level=0.467):
    """Accuracy climbing by 10 samples per epoch, then flat at ``level`` within +-1 sample."""
    flat = level + np.resize(JITTER, epochs - len(ramp))
    return np.r_[ramp, flat]


def test_accuracy_noise_is_the_binomial_error_but_never_below_two_samples():
    assert accuracy_noise(0.5, 150) == pytest.approx(math.sqrt(0.25 / 150))
    assert accuracy_noise(1.0, 150) == pytest.approx(2 / 150)
    assert accuracy_noise(0.0, 150) == pytest.approx(2 / 150)
    assert accuracy_noise(0.5, 4) == pytest.approx(0.5)  # sqrt(.25/4) = .25 < two samples of four
    np.testing.assert_allclose(accuracy_noise(np.array([0.5, 1.0]), 100), [0.05, 0.02])
    with pytest.raises(ConfigError):
        accuracy_noise(0.5, 0)


def test_flat_accuracy_with_falling_loss_is_one_plateau_from_where_accuracy_settles():
    loss = falling_loss(30)
    plateaus = find_plateaus(loss, flat_after_ramp(), N, "val")

    assert len(plateaus) == 1
    plateau = plateaus[0]
    # Epoch 4 (0.400) is 10 samples below the plateau; epoch 5 is on it.
    assert (plateau.split, plateau.start_epoch, plateau.end_epoch) == ("val", 5, 30)
    assert plateau.loss_change == pytest.approx(loss[29] - loss[4])
    assert plateau.loss_start == pytest.approx(loss[4])
    assert abs(plateau.accuracy_change) <= 1 / N + 1e-12
    assert plateau.accuracy_noise == pytest.approx(accuracy_noise(plateau.accuracy_mean, N))
    assert plateau.num_epochs == 26
    assert main_plateau(plateaus) is plateau


def test_one_noisy_epoch_does_not_split_a_plateau():
    accuracy = flat_after_ramp()
    accuracy[15] += 9 / N  # one epoch 9 samples up: beyond the noise, but alone
    plateaus = find_plateaus(falling_loss(30), accuracy, N, "val")
    assert [(p.start_epoch, p.end_epoch) for p in plateaus] == [(5, 30)]


def test_a_jump_of_fifteen_samples_separates_two_plateaus_sorted_by_loss_fall():
    accuracy = np.r_[np.full(15, 0.4), np.full(15, 0.5)] + np.resize(JITTER, 30)
    loss = np.r_[falling_loss(15, rate=0.01), falling_loss(15, rate=0.05, start=0.85)]
    plateaus = find_plateaus(loss, accuracy, N, "val")

    assert [(p.start_epoch, p.end_epoch) for p in plateaus] == [(16, 30), (1, 15)]
    assert plateaus[0].loss_change < plateaus[1].loss_change < 0


def test_accuracy_rising_by_ten_samples_is_no_plateau():
    accuracy = 0.4 + np.arange(11) / N  # one sample per epoch: each window's range is within noise
    assert find_plateaus(falling_loss(11), accuracy, N, "val") == ()


def test_flat_accuracy_with_flat_loss_is_no_plateau():
    loss = 0.69 + np.resize([0.001, -0.001, 0.0005], 30)
    assert find_plateaus(loss, 0.5 + np.resize(JITTER, 30), N, "val") == ()


def test_a_tiny_loss_drift_below_two_percent_is_no_plateau():
    loss = 0.69 * (1 - 0.0005 * np.arange(30))  # a clean line, but only 1.5% over 30 epochs
    assert find_plateaus(loss, 0.5 + np.resize(JITTER, 30), N, "val") == ()


def test_rising_loss_with_flat_accuracy_is_a_plateau_but_not_the_main_one():
    plateaus = find_plateaus(1 + 0.02 * np.arange(20), 0.6 + np.resize(JITTER, 20), N, "val")
    assert [(p.start_epoch, p.end_epoch) for p in plateaus] == [(1, 20)]
    assert plateaus[0].loss_change == pytest.approx(0.38)
    assert main_plateau(plateaus) is None


def test_tiny_split_one_sample_flips_are_noise_but_a_full_climb_is_not():
    # Four samples: one sample is 25 points, two samples (the noise floor) are 50.
    flipping = np.resize([0.5, 0.75], 12)
    plateaus = find_plateaus(falling_loss(12), flipping, 4, "val")
    assert [(p.start_epoch, p.end_epoch) for p in plateaus] == [(1, 12)]
    assert plateaus[0].accuracy_noise == pytest.approx(0.5)

    climbing = np.repeat([0.0, 0.25, 0.5, 0.75, 1.0], 6)
    plateaus = find_plateaus(falling_loss(30), climbing, 4, "val")
    assert plateaus and all(p.num_epochs < 30 for p in plateaus)
    for plateau in plateaus:
        assert abs(plateau.accuracy_change) <= 0.5


@pytest.mark.parametrize("epochs", [0, 1, 2])
def test_one_or_two_epochs_give_no_plateau(epochs):
    assert find_plateaus(falling_loss(epochs), np.full(epochs, 0.5), N, "val") == ()


def test_shorter_than_min_epochs_gives_no_plateau():
    assert find_plateaus(falling_loss(8), np.full(8, 0.5), N, "val", min_epochs=9) == ()
    assert len(find_plateaus(falling_loss(8), np.full(8, 0.5), N, "val", min_epochs=8)) == 1


def test_a_non_finite_epoch_ends_a_window():
    loss = falling_loss(30)
    loss[14] = np.nan
    accuracy = 0.5 + np.resize(JITTER, 30)
    plateaus = find_plateaus(loss, accuracy, N, "val")
    assert sorted((p.start_epoch, p.end_epoch) for p in plateaus) == [(1, 14), (16, 30)]


def test_all_right_all_along_with_falling_loss_is_a_plateau():
    plateaus = find_plateaus(falling_loss(10), np.ones(10), N, "train")
    assert [(p.split, p.start_epoch, p.end_epoch) for p in plateaus] == [("train", 1, 10)]
    assert plateaus[0].accuracy_noise == pytest.approx(2 / N)


def test_to_dict_is_plain_json():
    plateau = find_plateaus(falling_loss(30), flat_after_ramp(), N, "val")[0]
    as_dict = plateau.to_dict()
    json.dumps(as_dict, allow_nan=False)
    for key in ("split", "start_epoch", "end_epoch", "loss_change", "accuracy_change", "accuracy_noise"):
        assert as_dict[key] == getattr(plateau, key)
    assert as_dict["relative_loss_change"] == pytest.approx(plateau.loss_change / plateau.loss_start)
    assert Plateau("val", 1, 5, -0.1, 0.0, 0.02).to_dict()["relative_loss_change"] is None


def test_bad_input_is_a_clear_error():
    with pytest.raises(DataError, match="loss values"):
        find_plateaus([1.0, 0.9], [0.5], N, "val")
    with pytest.raises(ConfigError, match="num_samples"):
        find_plateaus([1.0, 0.9], [0.5, 0.5], 0, "val")
    with pytest.raises(ConfigError, match="min_epochs"):
        find_plateaus([1.0, 0.9], [0.5, 0.5], N, "val", min_epochs=2)
