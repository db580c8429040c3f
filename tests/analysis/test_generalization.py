"""Overfitting evidence on hand-made loss curves: best epoch, onset, gap, early-stopping replay, strength."""

import json
import math

import numpy as np
import pytest

from lossgap.analysis.generalization import analyze_generalization, early_stopping_epoch
from lossgap.errors import ConfigError, DataError

EPOCHS = np.arange(40)
TRAIN = np.exp(-EPOCHS / 10)  # keeps falling
VAL_U = 0.5 + 0.002 * (EPOCHS - 15) ** 2  # minimum 0.5 at epoch 16, then rises to 1.15


def test_classic_overfitting_curve():
    result = analyze_generalization(TRAIN, VAL_U)

    assert result.best_epoch == 16
    assert result.min_val_loss == pytest.approx(0.5)
    assert result.onset_epoch == 16 and result.overfitting
    np.testing.assert_allclose(result.gap, VAL_U - TRAIN)
    assert result.gap_at_onset == pytest.approx(0.5 - TRAIN[15])
    assert result.gap_at_best == result.gap_at_onset
    assert result.gap_at_end == pytest.approx(VAL_U[-1] - TRAIN[-1])
    assert result.val_loss_rise == pytest.approx(VAL_U[-1] - 0.5)
    assert result.train_fall_after_best > 0.1
    # Patience 5 on the raw curve: best at 16, five worse epochs 17..21, stop at 21.
    assert (result.early_stopping_epoch, result.early_stopping_stopped_at) == (16, 21)
    assert result.overfitting_strength > 0.95


def test_both_losses_still_falling_is_no_overfitting():
    result = analyze_generalization(TRAIN, 0.3 + TRAIN)
    assert result.best_epoch == 40
    assert result.onset_epoch is None and not result.overfitting
    assert result.gap_at_onset is None
    assert result.val_loss_rise == 0
    assert result.overfitting_strength == 0
    assert (result.early_stopping_epoch, result.early_stopping_stopped_at) == (40, None)


def test_a_val_rise_within_its_own_noise_is_no_onset():
    noise = np.resize([0.02, -0.02, 0.015, -0.01, 0.0], 40)
    val = np.r_[0.6 - 0.01 * np.arange(10), np.full(30, 0.51)] + noise
    result = analyze_generalization(TRAIN, val)
    assert result.onset_epoch is None
    assert result.val_rise_margin > 0.03
    assert result.overfitting_strength < 0.2


def test_a_clear_val_rise_without_train_falling_is_no_onset():
    train = np.r_[np.exp(-EPOCHS[:16] / 10), np.full(24, math.exp(-1.5))]  # flat after epoch 16
    result = analyze_generalization(train, VAL_U)
    assert result.best_epoch == 16
    assert result.onset_epoch is None
    assert result.val_loss_rise == pytest.approx(VAL_U[-1] - 0.5)


def test_a_one_epoch_dip_does_not_move_the_best_epoch():
    val = VAL_U.copy()
    val[4] = 0.45  # below the true minimum, but alone among much higher neighbours
    assert analyze_generalization(TRAIN, val).best_epoch == 16
    assert analyze_generalization(TRAIN, val, smoothing=1).best_epoch == 5


def test_ties_go_to_the_earliest_epoch():
    result = analyze_generalization(TRAIN, np.full(40, 0.7))
    assert result.best_epoch == 1
    assert result.onset_epoch is None
    assert result.early_stopping_epoch == 1 and result.early_stopping_stopped_at == 6


def test_non_finite_losses_are_missing_epochs():
    val = VAL_U.copy()
    val[15] = np.nan  # the true minimum is missing
    val[30] = np.inf
    train = TRAIN.copy()
    train[20] = np.nan
    result = analyze_generalization(train, val)
    assert result.best_epoch in (15, 17)
    assert math.isfinite(result.min_val_loss)
    assert result.onset_epoch == result.best_epoch
    assert math.isnan(result.gap[15]) and math.isnan(result.gap[20]) and math.isnan(result.gap[30])
    json.dumps(result.to_dict(), allow_nan=False)


def test_all_val_losses_missing():
    result = analyze_generalization(TRAIN[:5], np.full(5, np.nan))
    assert result.best_epoch is None and result.onset_epoch is None
    assert result.early_stopping_epoch is None
    assert result.overfitting_strength == 0
    json.dumps(result.to_dict(), allow_nan=False)


def test_one_and_two_epochs():
    one = analyze_generalization([0.7], [0.8])
    assert (one.best_epoch, one.onset_epoch, one.early_stopping_epoch) == (1, None, 1)
    assert one.gap_at_end == pytest.approx(0.1) and one.val_loss_rise == 0
    two = analyze_generalization([0.7, 0.5], [0.8, 0.9])
    assert two.best_epoch == 1
    assert two.onset_epoch is None or two.onset_epoch == 1
    assert two.val_loss_rise == pytest.approx(0.1)
    assert 0 <= two.overfitting_strength <= 1


def test_strength_grows_with_the_rise_and_the_gap():
    mild = analyze_generalization(TRAIN, 0.5 + 0.0002 * (EPOCHS - 15) ** 2)
    strong = analyze_generalization(TRAIN, VAL_U)
    assert mild.onset_epoch == 16
    assert 0 < mild.overfitting_strength < strong.overfitting_strength <= 1


def test_early_stopping_replay_with_min_delta_and_patience():
    val = [1.0, 0.9, 0.89, 0.88, 0.95, 0.87, 0.86]
    assert early_stopping_epoch(val, patience=5) == (7, None)
    # 0.89, 0.88, 0.87, 0.86 improve on 0.9 by less than 0.05: three epochs without improvement stop it.
    assert early_stopping_epoch(val, patience=3, min_delta=0.05) == (2, 5)
    assert early_stopping_epoch([np.nan, 1.0, np.nan, np.nan], patience=2) == (2, 4)
    assert early_stopping_epoch([], patience=2) == (None, None)


def test_to_dict_is_plain_json_with_the_gap_as_a_list():
    as_dict = analyze_generalization(TRAIN, VAL_U).to_dict()
    json.dumps(as_dict, allow_nan=False)
    assert len(as_dict["gap"]) == 40
    assert as_dict["onset_epoch"] == 16 and as_dict["best_epoch"] == 16


def test_bad_input_is_a_clear_error():
    with pytest.raises(DataError, match="train losses"):
        analyze_generalization([0.5, 0.4], [0.6])
    with pytest.raises(DataError, match="no epochs"):
        analyze_generalization([], [])
    with pytest.raises(ConfigError, match="patience"):
        analyze_generalization([0.5], [0.6], patience=0)
    with pytest.raises(ConfigError, match="smoothing"):
        analyze_generalization([0.5], [0.6], smoothing=2)


def test_a_train_loss_that_vanishes_below_its_own_jitter_still_counts_as_falling():
    # After the val minimum the train loss goes from ~0.07 to ~0.005 with spikes of 0.2: its straight-line
    # fall is smaller than three times its jitter, but it has shrunk by more than half.
    spikes = np.resize([0.0, 0.2, 0.0, 0.1, 0.0], 40)
    train = np.r_[np.linspace(1.0, 0.07, 16), np.full(24, 0.005)] + np.r_[np.zeros(16), spikes[:24]]
    result = analyze_generalization(train, VAL_U)
    assert result.best_epoch == 16
    assert result.train_fall_after_best < 3 * 0.06
    assert result.onset_epoch == 16


def test_a_large_rise_through_heavy_jitter_is_no_onset_but_keeps_its_unmargined_strength():
    jitter = np.resize([0.06, -0.06], 40)
    val = np.r_[np.linspace(0.9, 0.5, 15), np.linspace(0.5, 0.62, 25)] + jitter  # +24% after epoch 15
    result = analyze_generalization(TRAIN, val)
    assert result.onset_epoch is None and not result.val_rose_clearly
    assert result.overfitting_strength == 0
    assert result.unmargined_strength > 0.5


def test_unmargined_strength_is_never_below_the_strength():
    for val in (VAL_U, 0.3 + TRAIN, np.full(40, 0.7), 0.5 + 0.0002 * (EPOCHS - 15) ** 2):
        result = analyze_generalization(TRAIN, val)
        assert result.overfitting_strength <= result.unmargined_strength <= 1
    assert analyze_generalization(TRAIN, VAL_U).val_rose_clearly


def test_a_train_loss_nearly_flat_while_val_rises_much_more_is_no_onset():
    # Weight decay 10 pins a model at 75% train accuracy: train falls 0.643 -> 0.628 over the last 28 epochs
    # (more than its 1% margin) while val rises 0.662 -> 0.749: the gap grows from the val side alone. It had
    # read overfitting 0.74, with remedies that all regularise further.
    epochs = np.arange(60)
    train = np.where(epochs < 32, 0.9 - 0.008 * epochs, 0.644 - 0.00055 * (epochs - 32))
    val = np.where(epochs < 32, 0.92 - 0.008 * epochs, 0.664 + 0.003 * (epochs - 32))
    assert analyze_generalization(train, val).onset_epoch is None
    # The same rise with train falling by a third of it is memorisation.
    falling = np.where(epochs < 32, train, 0.644 - 0.001 * (epochs - 32))
    assert analyze_generalization(falling, val).onset_epoch is not None
