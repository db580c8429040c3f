"""The signal test and the permuted-label control comparison on predictions with known answers."""

import json
import math

import numpy as np
import pytest
from fixtures.dynamics import dynamics_from_logits
from scipy import stats

from lossgap.analysis.signal import (BALANCED_MIN_CLASS_SAMPLES, any_epoch_balanced_p_value, balanced_accuracy_p_values,
                                     binomial_tail, control_test, detectable_accuracy, normal_upper_quantile,
                                     normal_upper_tail, prior_entropy, signal_test, wilson_interval)
from lossgap.errors import ConfigError, DataError

BALANCED = np.repeat([0, 1], 250)


def test_chance_predictions_on_500_samples_are_not_significant():
    predicted = np.random.default_rng(0).integers(0, 2, 500)
    result = signal_test(BALANCED, predicted, num_classes=2)
    assert result.num_samples == 500
    assert result.accuracy == pytest.approx(np.mean(predicted == BALANCED))
    assert result.baseline_accuracy == 0.5
    assert not result.significant
    assert result.p_value > 0.05
    low, high = result.interval
    assert low < 0.5 < high


def test_ninety_percent_on_a_balanced_split_is_significant():
    predicted = BALANCED.copy()
    predicted[::10] = 1 - predicted[::10]  # 50 of 500 wrong
    result = signal_test(BALANCED, predicted, num_classes=2)
    assert result.accuracy == pytest.approx(0.9)
    assert result.num_correct == 450
    assert result.significant and result.p_value < 1e-50
    assert result.p_value == pytest.approx(stats.binom.sf(449, 500, 0.5), rel=1e-6)
    low, high = result.interval
    assert 0.86 < low < 0.9 < high < 0.93
    assert result.lift == pytest.approx(0.4)


def test_always_predicting_the_majority_of_a_90_10_split_is_not_significant():
    labels = np.repeat([0, 1], [450, 50])
    result = signal_test(labels, np.zeros(500, dtype=int), num_classes=2)
    assert result.accuracy == pytest.approx(0.9)
    assert (result.majority_class, result.baseline_accuracy) == (0, pytest.approx(0.9))
    assert not result.significant
    assert result.p_value > 0.4


def test_the_prior_comes_from_the_training_counts_but_the_baseline_is_the_best_constant_answer_on_val():
    labels = np.repeat([0, 1, 2], [30, 50, 20])  # val majority is class 1 ...
    result = signal_test(labels, np.ones(100, dtype=int), num_classes=3, train_class_counts=[600, 300, 100])
    assert result.majority_class == 0  # ... but training says class 0: the prior the loss is judged against
    # Always answering class 1 is a constant answer: 0.5, exactly the baseline, never "signal".
    assert result.baseline_accuracy == pytest.approx(0.5)
    assert result.accuracy == pytest.approx(0.5)
    assert not result.significant
    expected_entropy = -(0.3 * math.log(0.6) + 0.5 * math.log(0.3) + 0.2 * math.log(0.1))
    assert result.prior_entropy == pytest.approx(expected_entropy)


def test_prior_entropy_of_a_balanced_prior_is_ln_2():
    assert prior_entropy(BALANCED, [250, 250], 2) == pytest.approx(math.log(2))
    assert signal_test(BALANCED, BALANCED, num_classes=2).prior_entropy == pytest.approx(math.log(2))
    assert signal_test(BALANCED, BALANCED, num_classes=2, train_class_counts=[7, 7]).prior_entropy == pytest.approx(
        math.log(2))


def test_a_val_class_missing_from_the_prior_keeps_the_entropy_finite():
    entropy = prior_entropy([0, 0, 1], [10, 0], 2)
    assert entropy == pytest.approx(-(2 * math.log(11 / 12) + math.log(1 / 12)) / 3)


def test_loss_is_compared_with_the_prior_entropy():
    assert signal_test(BALANCED, BALANCED, num_classes=2, val_loss=0.5).loss_below_prior is True
    assert signal_test(BALANCED, BALANCED, num_classes=2, val_loss=0.69).loss_below_prior is False  # within 1%
    assert signal_test(BALANCED, BALANCED, num_classes=2, val_loss=0.8).loss_below_prior is False
    per_sample = np.r_[np.full(499, 0.4), np.nan]
    assert signal_test(BALANCED, BALANCED, num_classes=2, val_loss=per_sample).loss == pytest.approx(0.4)
    no_loss = signal_test(BALANCED, BALANCED, num_classes=2)
    assert no_loss.loss is None and no_loss.loss_below_prior is None


def test_unseen_samples_are_left_out():
    predicted = BALANCED.copy()
    predicted[:100] = -1
    result = signal_test(BALANCED, predicted, num_classes=2)
    assert result.num_samples == 400
    assert result.accuracy == 1.0
    assert result.baseline_accuracy == pytest.approx(250 / 400)  # class 1 is now the majority of what was seen
    assert result.majority_class == 1


def test_a_class_absent_from_val_and_all_wrong_predictions():
    labels = np.repeat([0, 1], [40, 60])
    result = signal_test(labels, np.full(100, 2), num_classes=3, train_class_counts=[10, 10, 80])
    assert result.accuracy == 0
    assert result.majority_class == 2 and result.baseline_accuracy == pytest.approx(0.6)
    assert not result.significant and result.p_value == 1.0


def test_no_recorded_sample_is_not_significant():
    result = signal_test(BALANCED, np.full(500, -1), num_classes=2)
    assert result.num_samples == 0 and math.isnan(result.accuracy)
    assert not result.significant
    json.dumps(result.to_dict(), allow_nan=False)


def test_to_dict_is_plain_json():
    as_dict = signal_test(BALANCED, BALANCED, num_classes=2, val_loss=0.1).to_dict()
    json.dumps(as_dict, allow_nan=False)
    assert as_dict["significant"] is True and as_dict["interval"][1] == pytest.approx(1.0)
    assert as_dict["lift"] == pytest.approx(0.5)


def test_bad_input_is_a_clear_error():
    with pytest.raises(DataError, match="labels"):
        signal_test([0, 3], [0, 0], num_classes=2)
    with pytest.raises(DataError, match="prediction"):
        signal_test([0, 1], [0], num_classes=2)
    with pytest.raises(DataError, match="predictions outside"):
        signal_test([0, 1], [0, 2], num_classes=2)
    with pytest.raises(DataError, match="train_class_counts"):
        signal_test([0, 1], [0, 1], num_classes=2, train_class_counts=[1, 2, 3])
    with pytest.raises(ConfigError, match="alpha"):
        signal_test([0, 1], [0, 1], num_classes=2, alpha=0)


def test_a_run_well_above_its_permuted_label_control_is_significant():
    result = control_test(0.9, 0.5, 200)
    assert result.difference == pytest.approx(0.4)
    assert result.significant and result.p_value < 1e-10
    json.dumps(result.to_dict(), allow_nan=False)


def test_a_run_level_with_its_control_is_not_significant():
    assert not control_test(0.52, 0.5, 200).significant
    equal = control_test(0.5, 0.5, 200)
    assert not equal.significant and equal.p_value > 0.5
    below = control_test(0.4, 0.5, 200)
    assert below.difference == pytest.approx(-0.1) and not below.significant


def test_control_test_rejects_bad_input():
    with pytest.raises(ConfigError):
        control_test(0.5, 0.5, 0)
    with pytest.raises(DataError):
        control_test(1.5, 0.5, 10)


def test_detectable_accuracy_is_the_first_count_the_binomial_test_calls_significant():
    for num_samples, baseline in [(20, 0.5), (50, 0.5), (200, 0.295), (37, 0.6)]:
        accuracy = detectable_accuracy(num_samples, baseline, 0.005)
        count = round(accuracy * num_samples)
        assert stats.binomtest(count, num_samples, baseline, alternative="greater").pvalue < 0.005
        assert stats.binomtest(count - 1, num_samples, baseline, alternative="greater").pvalue >= 0.005
    assert detectable_accuracy(20, 0.5, 0.005) == 0.85
    assert detectable_accuracy(5, 0.5, 0.005) == float("inf")  # even 5 of 5 has p = 0.03
    assert math.isnan(detectable_accuracy(0, 0.5, 0.005))


def _split_of(labels, predicted):
    """One epoch's val split from labels and predictions (logits one-hot on the prediction)."""
    logits = np.eye(int(max(labels.max(), predicted.max())) + 1)[predicted][None] * 3.0
    return dynamics_from_logits(logits, labels)


IMBALANCED = np.repeat([0, 1, 2], [180, 10, 10])


def test_predictions_that_ignore_the_labels_rarely_show_balanced_signal():
    rng = np.random.default_rng(0)
    p_values = [balanced_accuracy_p_values(_split_of(IMBALANCED, rng.choice(3, 200, p=[0.7, 0.2, 0.1])))[0]
                for _ in range(300)]
    assert np.mean(np.asarray(p_values) < 0.01) <= 0.03  # the test's level, within its sampling noise


def test_a_model_that_tells_rare_classes_apart_shows_signal_while_trailing_the_majority_share():
    predicted = IMBALANCED.copy()
    predicted[:30] = 1             # 30 of the frequent class sent to the rare classes
    predicted[30:45] = 2
    predicted[[180, 181, 190]] = 0  # 8 of 10 of each rare class recalled
    split = _split_of(IMBALANCED, predicted)
    assert split.epoch_accuracy()[0] < 0.9  # below always answering class 0
    assert signal_test(IMBALANCED, predicted, num_classes=3).p_value > 0.5
    assert balanced_accuracy_p_values(split)[0] < 1e-6


def test_one_class_for_everything_is_no_balanced_signal_and_tiny_classes_are_left_out():
    assert balanced_accuracy_p_values(_split_of(IMBALANCED, np.zeros(200, dtype=np.int64)))[0] == 1.0
    # Classes 1 and 2 have fewer than BALANCED_MIN_CLASS_SAMPLES: too few classes left to test.
    few = np.repeat([0, 1, 2], [190, 4, 4])
    assert BALANCED_MIN_CLASS_SAMPLES == 5
    assert np.isnan(balanced_accuracy_p_values(_split_of(few, few))[0])


def test_the_balanced_p_value_over_epochs_is_corrected_for_picking_the_best():
    rng = np.random.default_rng(3)
    epochs = [rng.choice(3, 200, p=[0.7, 0.2, 0.1]) for _ in range(10)]
    split = dynamics_from_logits(np.stack([np.eye(3)[p] * 3.0 for p in epochs]), IMBALANCED)
    per_epoch = balanced_accuracy_p_values(split)
    assert any_epoch_balanced_p_value(split) == pytest.approx(min(1.0, 2 * min(per_epoch.min() * 10, per_epoch[-1])))


@pytest.mark.parametrize(("successes", "trials", "probability"),
                         [(0, 10, 0.3), (1, 10, 0.3), (7, 10, 0.3), (10, 10, 0.3), (55, 100, 0.5), (3, 7, 0.9)])
def test_the_tail_and_interval_helpers_equal_scipy_stats(successes, trials, probability):
    # The helpers replace scipy.stats to keep `lossgap diagnose` from importing it; they must give its numbers.
    assert binomial_tail(successes, trials, probability) == pytest.approx(
        stats.binomtest(successes, trials, probability, alternative="greater").pvalue, rel=1e-12, abs=1e-300)
    expected = stats.binomtest(successes, trials).proportion_ci(0.95, method="wilson")
    assert wilson_interval(successes, trials) == pytest.approx((expected.low, expected.high), rel=1e-12, abs=1e-15)
    z = np.array([-3.0, -0.5, 0.0, 1.7, 8.0])
    np.testing.assert_allclose(normal_upper_tail(z), stats.norm.sf(z), rtol=1e-12)
    assert normal_upper_quantile(0.001) == pytest.approx(stats.norm.isf(0.001), rel=1e-12)


def test_the_detectable_balanced_lead_is_where_the_balanced_test_turns_significant():
    # 100 val samples per class, predictions split evenly: the lead is z(0.005) x sqrt(2 x 0.25 / 100) / 2 = 0.091,
    # so 60 right of each class (a lead of 0.10) tests significant at 0.005 and 59 (0.09) does not.
    from fixtures.dynamics import binary_dynamics
    from lossgap.analysis.signal import balanced_accuracy_p_values, detectable_balanced_lead

    lead = detectable_balanced_lead([100, 100], 0.005)
    assert abs(lead - normal_upper_quantile(0.005) * math.sqrt(0.005) / 2) < 1e-12 and 0.09 < lead < 0.1
    labels = np.arange(200) % 2

    def p_value(right_per_class):
        right = np.concatenate([np.arange(100) < right_per_class] * 2)
        order = np.argsort(labels, kind="stable")
        prob = np.empty(200)
        prob[order] = np.where(right, 0.7, 0.3)
        return float(balanced_accuracy_p_values(binary_dynamics(prob[None, :], labels))[0])

    assert p_value(60) < 0.005 < p_value(59)
    # A class under 5 val samples takes no part; one class left can show nothing.
    assert detectable_balanced_lead([100, 100, 3], 0.005) == lead
    assert detectable_balanced_lead([100, 4], 0.005) == math.inf
    # Fewer rare samples need a larger lead.
    assert detectable_balanced_lead([108, 12], 0.005) > detectable_balanced_lead([60, 60], 0.005)
