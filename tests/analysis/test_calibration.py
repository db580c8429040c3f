"""Calibration: ECE, reliability bins and temperature scaling on synthetic predictions with known answers."""

import dataclasses
import json
import math

import numpy as np
import pytest
from fixtures.dynamics import dynamics_from_logits

from lossgap.analysis.calibration import calibration, expected_calibration_error, fit_temperature, reliability
from lossgap.errors import ConfigError, DataError


def calibrated_logits(n=20_000, classes=4, scale=1.5, seed=0):
    """Logits and labels drawn from softmax(logits): T = 1 is the true temperature."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(scale=scale, size=(n, classes))
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    labels = (rng.random((n, 1)) > probs.cumsum(axis=1)).sum(axis=1)
    return logits, labels


def test_ece_of_a_small_known_example():
    # Bin (0.8, 0.9]: confidence 0.9, accuracy 0.5; bin (0, 0.1]: confidence 0.1, accuracy 0.
    assert expected_calibration_error([0.9, 0.9, 0.1], [True, False, False], bins=10) == pytest.approx(
        2 / 3 * 0.4 + 1 / 3 * 0.1)


def test_reliability_bins_and_empty_bins():
    result = reliability([0.9, 0.9, 0.1, 0.0, 1.0], [1, 0, 0, 0, 1], bins=10)
    np.testing.assert_allclose(result.bin_edges, np.linspace(0, 1, 11))
    np.testing.assert_array_equal(result.count, [2, 0, 0, 0, 0, 0, 0, 0, 2, 1])
    assert result.mean_confidence[8] == pytest.approx(0.9) and result.accuracy[8] == 0.5
    assert result.mean_confidence[0] == pytest.approx(0.05) and result.accuracy[0] == 0.0
    assert np.isnan(result.mean_confidence[1:8]).all() and np.isnan(result.accuracy[1:8]).all()
    plain = result.to_dict()
    assert plain["accuracy"][1] is None
    json.dumps(plain, allow_nan=False)


def test_perfectly_calibrated_predictions_have_small_ece_and_shifted_ones_do_not():
    rng = np.random.default_rng(1)
    confidence = rng.uniform(0.5, 1.0, 100_000)
    calibrated = rng.random(confidence.size) < confidence
    overconfident = rng.random(confidence.size) < confidence - 0.2
    assert expected_calibration_error(confidence, calibrated) < 0.01
    assert expected_calibration_error(confidence, overconfident) == pytest.approx(0.2, abs=0.01)


def test_ece_ignores_nan_confidence_and_is_nan_without_predictions():
    assert expected_calibration_error([0.9, np.nan], [True, False], bins=10) == pytest.approx(0.1)
    assert math.isnan(expected_calibration_error([], []))
    with pytest.raises(DataError):
        expected_calibration_error([1.5], [True])
    with pytest.raises(ConfigError):
        expected_calibration_error([0.5], [True], bins=0)


def test_overconfident_logits_get_a_temperature_above_one_and_lose_loss():
    logits, labels = calibrated_logits()
    fit = fit_temperature(logits * 5, labels)
    assert fit.temperature == pytest.approx(5.0, rel=0.1)
    assert fit.loss_after < fit.loss_before - 0.5
    assert fit.loss_removed == pytest.approx(fit.loss_before - fit.loss_after)
    assert fit.ece_after < fit.ece_before / 3


def test_underconfident_logits_get_a_temperature_below_one():
    logits, labels = calibrated_logits(seed=2)
    fit = fit_temperature(logits * 0.25, labels)
    assert fit.temperature == pytest.approx(0.25, rel=0.1)
    assert fit.loss_removed > 0


def test_already_calibrated_logits_keep_a_temperature_near_one():
    logits, labels = calibrated_logits(seed=3)
    fit = fit_temperature(logits, labels)
    assert fit.temperature == pytest.approx(1.0, abs=0.05)
    assert 0 <= fit.loss_removed < 1e-3


def test_temperature_never_changes_accuracy():
    logits, labels = calibrated_logits(n=2_000, seed=4)
    fit = fit_temperature(logits * 5, labels)
    accuracy = (logits.argmax(axis=1) == labels).mean()
    assert fit.accuracy == pytest.approx(accuracy)
    assert ((logits * 5 / fit.temperature).argmax(axis=1) == labels).mean() == pytest.approx(accuracy)


def test_constant_logits_keep_temperature_one_and_remove_nothing():
    fit = fit_temperature(np.zeros((6, 3)), [0, 1, 2, 0, 1, 2])
    assert fit.temperature == 1.0 and fit.loss_removed == 0.0
    assert fit.loss_before == pytest.approx(math.log(3))
    assert fit.accuracy == pytest.approx(2 / 6)  # ties predict class 0


def test_huge_logits_do_not_overflow():
    fit = fit_temperature(np.array([[60000.0, 0.0], [0.0, 60000.0]]), [0, 0])
    assert math.isfinite(fit.loss_before) and math.isfinite(fit.loss_after)
    assert fit.loss_removed > 0


def test_fit_temperature_rejects_bad_input():
    with pytest.raises(DataError):
        fit_temperature(np.full((2, 2), np.nan), [0, 1])
    with pytest.raises(DataError):
        fit_temperature(np.zeros((2, 2)), [0, 2])
    with pytest.raises(DataError):
        fit_temperature(np.zeros(4), [0, 1, 0, 1])


def hide_last_epoch(dynamics, samples):
    """The same dynamics with ``samples`` unseen in the last epoch (NaN / -1, as the recorder stores them)."""
    predicted, max_prob, logits = dynamics.predicted.copy(), dynamics.max_prob.copy(), dynamics.logits.copy()
    predicted[-1, samples], max_prob[-1, samples], logits[-1, samples] = -1, np.nan, np.nan
    return dataclasses.replace(dynamics, predicted=predicted, max_prob=max_prob, logits=logits)


@pytest.fixture(scope="module")
def sharpening_run():
    """Three epochs of the same predictions: calibrated, a little, then very overconfident."""
    logits, labels = calibrated_logits(n=5_000, seed=5)
    return dynamics_from_logits(np.stack([logits, logits * 2, logits * 4]), labels)


def test_calibration_of_a_run_that_grows_overconfident(sharpening_run):
    result = calibration(sharpening_run, best_epoch=1)
    assert result.ece.shape == (3,)
    assert result.ece[0] < 0.03 < result.ece[1] < result.ece[2]
    assert (result.best_epoch, result.final_epoch) == (1, 3)
    assert result.temperature_best.temperature == pytest.approx(1.0, abs=0.1)
    assert result.temperature_final.temperature == pytest.approx(4.0, rel=0.15)
    assert result.loss_removed_share == pytest.approx(
        result.temperature_final.loss_removed / result.temperature_final.loss_before)
    assert result.loss_removed_share > 0.3
    assert result.reliability_final.count.sum() == 5_000
    assert result.reliability_best.ece == pytest.approx(result.ece[0])


def test_epoch_ece_matches_the_single_set_function(sharpening_run):
    result = calibration(sharpening_run, bins=7)
    for row in range(3):
        expected = expected_calibration_error(sharpening_run.max_prob[row], sharpening_run.correct[row], bins=7)
        assert result.ece[row] == pytest.approx(expected)
    assert result.reliability_best is None and result.temperature_best is None


def test_unseen_samples_are_left_out(sharpening_run):
    hidden = hide_last_epoch(sharpening_run, np.arange(1_000))
    result = calibration(hidden)
    assert result.reliability_final.count.sum() == 4_000
    assert result.temperature_final.num_samples == 4_000
    kept = sharpening_run.max_prob[-1, 1_000:], sharpening_run.correct[-1, 1_000:]
    assert result.ece[-1] == pytest.approx(expected_calibration_error(*kept))


def test_without_logits_there_is_no_temperature_fit():
    logits, labels = calibrated_logits(n=200, seed=6)
    dynamics = dynamics_from_logits(logits[None] * 3, labels, split="train", keep_logits=False)
    result = calibration(dynamics, best_epoch=1)
    assert result.temperature_best is None and result.temperature_final is None
    assert result.loss_removed_share is None
    assert math.isfinite(result.ece[0]) and result.reliability_best is not None
    plain = result.to_dict()
    assert plain["temperature_final"] is None and plain["final_epoch"] == 1
    json.dumps(plain, allow_nan=False)


def test_to_dict_nests_the_fits(sharpening_run):
    plain = calibration(sharpening_run, best_epoch=2).to_dict()
    assert set(plain["temperature_final"]) >= {"temperature", "loss_before", "loss_after", "loss_removed"}
    assert len(plain["ece"]) == 3 and len(plain["reliability_best"]["count"]) == 15
    json.dumps(plain, allow_nan=False)


def test_all_correct_and_all_wrong_single_epoch_runs():
    labels = np.array([0, 1, 0, 1])
    right = np.eye(2)[labels][None] * 3.0
    for logits, accuracy in ((right, 1.0), (-right, 0.0)):
        result = calibration(dynamics_from_logits(logits, labels))
        assert result.temperature_final.accuracy == accuracy
        assert result.temperature_final.loss_removed >= 0
        assert 0 <= result.ece[0] <= 1


def test_calibration_rejects_a_best_epoch_out_of_range(sharpening_run):
    with pytest.raises(ConfigError):
        calibration(sharpening_run, best_epoch=4)
    with pytest.raises(ConfigError):
        calibration(sharpening_run, best_epoch=0)


@pytest.mark.parametrize(("scale", "seed"), [(0.1, 0), (0.5, 1), (3.0, 2), (12.0, 3), (40.0, 4)])
def test_the_temperature_is_the_one_scipys_bounded_search_finds_or_better(scale, seed):
    # The Newton search replaced scipy.optimize.minimize_scalar (to keep scipy.optimize out of `diagnose`):
    # it must land on the same minimum, never on a worse one.
    from scipy.optimize import minimize_scalar

    logits, labels = calibrated_logits(n=500, classes=5, seed=seed)
    logits = logits * scale
    fit = fit_temperature(logits, labels)

    def nll(log_t):
        shifted = logits / math.exp(log_t)
        shifted = shifted - shifted.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(labels.size), labels]))

    low, high = math.log(0.05), math.log(20.0)
    reference = minimize_scalar(nll, bounds=(low, high), method="bounded", options={"xatol": 1e-9})
    assert fit.loss_after <= min(float(reference.fun), nll(0.0)) + 1e-12
    if reference.fun < nll(0.0) - 1e-9:
        assert fit.temperature == pytest.approx(math.exp(float(reference.x)), rel=1e-4)


def test_a_temperature_outside_the_bounds_stops_at_the_nearer_bound():
    logits, labels = calibrated_logits(n=2_000, seed=5)
    assert fit_temperature(logits * 100, labels).temperature == pytest.approx(20.0)
    assert fit_temperature(logits * 0.001, labels).temperature == pytest.approx(0.05)
