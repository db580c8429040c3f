"""per_class: recall, balanced accuracy and class shares on hand-made predictions with known answers."""

import dataclasses
import json
import math

import numpy as np
import pytest
from fixtures.dynamics import dynamics_from_logits

from lossgap.plain import to_plain
from lossgap.analysis.per_class import (group_lean, minority_classes, per_class, probability_lift,
                                        probability_shortfall)
from lossgap.errors import ConfigError, DataError


def predicting(predicted, labels, num_classes):
    """Dynamics whose argmax in each epoch is ``predicted`` (E, N)."""
    predicted = np.asarray(predicted)
    logits = np.zeros(predicted.shape + (num_classes,))
    np.put_along_axis(logits, predicted[..., None], 3.0, axis=2)
    return dynamics_from_logits(logits, labels)


def hide(dynamics, epoch_row, samples):
    """The same dynamics with ``samples`` unseen in ``epoch_row`` (as the recorder stores them)."""
    predicted, log_prob = dynamics.predicted.copy(), dynamics.true_log_prob.copy()
    max_prob, margin = dynamics.max_prob.copy(), dynamics.margin.copy()
    predicted[epoch_row, samples] = -1
    log_prob[epoch_row, samples] = np.nan
    max_prob[epoch_row, samples] = np.nan
    margin[epoch_row, samples] = np.nan
    return dataclasses.replace(dynamics, predicted=predicted, true_log_prob=log_prob, max_prob=max_prob, margin=margin)


def test_always_predicting_the_majority_class_of_a_90_5_5_split():
    labels = np.repeat([0, 1, 2], [90, 5, 5])
    result = per_class(predicting(np.zeros((3, 100), dtype=int), labels, 3))

    np.testing.assert_array_equal(result.support, [90, 5, 5])
    np.testing.assert_allclose(result.true_share, [0.9, 0.05, 0.05])
    np.testing.assert_allclose(result.accuracy, [0.9] * 3)
    np.testing.assert_allclose(result.balanced_accuracy, [1 / 3] * 3)
    np.testing.assert_allclose(result.recall, [[1, 0, 0]] * 3)
    np.testing.assert_allclose(result.predicted_share, [[1, 0, 0]] * 3)
    assert result.never_predicted == (1, 2)
    assert result.minority == (1, 2)
    assert (result.majority_class, result.majority_share) == (0, pytest.approx(0.9))
    np.testing.assert_array_equal(result.epochs_never_predicted(), [0, 3, 3])


def test_class_absent_from_the_split_has_nan_recall_and_is_left_out_of_balanced_accuracy():
    labels = np.array([0, 0, 0, 1])
    # class 0: 2 of 3 right; class 1: right; class 2 never occurs (but is predicted once).
    result = per_class(predicting([[0, 0, 2, 1]], labels, 3))

    np.testing.assert_array_equal(result.support, [3, 1, 0])
    np.testing.assert_allclose(result.recall[0, :2], [2 / 3, 1.0])
    assert math.isnan(result.recall[0, 2])
    assert result.balanced_accuracy[0] == pytest.approx((2 / 3 + 1) / 2)
    assert result.accuracy[0] == pytest.approx(0.75)
    np.testing.assert_allclose(result.predicted_share[0], [0.5, 0.25, 0.25])
    assert result.never_predicted == ()


def test_unseen_samples_are_ignored_in_every_figure():
    labels = np.array([0, 0, 1, 1])
    dynamics = predicting([[0, 1, 0, 1], [0, 0, 1, 1]], labels, 2)
    # Epoch 1: hide the two wrong samples -> everything seen is right. Epoch 2: hide all of class 1.
    dynamics = hide(hide(dynamics, 0, [1, 2]), 1, [2, 3])
    result = per_class(dynamics)

    np.testing.assert_array_equal(result.seen_count, [2, 2])
    np.testing.assert_allclose(result.accuracy, [1.0, 1.0])
    np.testing.assert_allclose(result.recall[0], [1.0, 1.0])
    assert result.recall[1, 0] == 1.0 and math.isnan(result.recall[1, 1])
    np.testing.assert_allclose(result.balanced_accuracy, [1.0, 1.0])
    np.testing.assert_allclose(result.predicted_share, [[0.5, 0.5], [1.0, 0.0]])
    assert result.never_predicted == (1,)


def test_an_epoch_with_no_sample_seen_gives_nan_not_zero():
    dynamics = hide(predicting([[0, 1], [0, 1]], [0, 1], 2), 0, [0, 1])
    result = per_class(dynamics)
    assert math.isnan(result.accuracy[0]) and math.isnan(result.balanced_accuracy[0])
    assert result.accuracy[1] == 1.0
    assert result.never_predicted_at(1) == (0, 1)  # nothing was predicted at all


def test_argmax_ties_count_as_the_lowest_class():
    result = per_class(dynamics_from_logits(np.zeros((1, 4, 3)), [0, 1, 2, 2]))
    np.testing.assert_allclose(result.predicted_share[0], [1, 0, 0])
    np.testing.assert_allclose(result.recall[0], [1, 0, 0])
    assert result.accuracy[0] == pytest.approx(0.25)


def test_one_epoch_all_correct_and_all_wrong():
    labels = np.array([0, 1, 1])
    right = per_class(predicting([[0, 1, 1]], labels, 2))
    wrong = per_class(predicting([[1, 0, 0]], labels, 2))
    assert right.num_epochs == 1
    assert (right.accuracy[0], right.balanced_accuracy[0]) == (1.0, 1.0)
    assert (wrong.accuracy[0], wrong.balanced_accuracy[0]) == (0.0, 0.0)
    assert right.never_predicted == () and wrong.never_predicted == ()


def test_never_predicted_per_epoch_follows_the_predictions():
    labels = np.repeat([0, 1, 2], [4, 2, 2])
    result = per_class(predicting([np.zeros(8, dtype=int), labels], labels, 3))
    assert result.never_predicted_at(1) == (1, 2)
    assert result.never_predicted_at(2) == ()
    assert result.never_predicted == ()
    with pytest.raises(ConfigError):
        result.never_predicted_at(3)


@pytest.mark.parametrize(("support", "expected"), [
    ([90, 5, 5], (1, 2)), ([80, 20], (1,)), ([70, 30], ()), ([50, 50, 50], ()), ([60, 0, 5], (2,)), ([0, 0], ()),
    # At exactly half the balanced share a class is rare: 3:1 (a stratified split of such data lands on the bound).
    ([75, 25], (1,)), ([387, 387, 129, 129], (2, 3)), ([400, 100, 100], (1, 2)), ([74, 26], ()),
])
def test_minority_classes(support, expected):
    assert minority_classes(support) == expected


def test_minority_classes_rejects_a_non_positive_share():
    with pytest.raises(ConfigError):
        minority_classes([1, 2], relative_share=0)


def test_labels_out_of_range_are_a_data_error():
    dynamics = dataclasses.replace(predicting([[0, 1]], [0, 1], 2), num_classes=1, logits=None)
    with pytest.raises(DataError):
        per_class(dynamics)


def test_to_dict_is_plain_json_with_nan_as_none():
    result = per_class(predicting([[0, 0, 0]], [0, 0, 1], 3))
    plain = result.to_dict()
    assert plain["recall"] == [[1.0, 0.0, None]]
    assert plain["never_predicted"] == [1]
    assert plain["support"] == [2, 1, 0]
    json.dumps(plain, allow_nan=False)


def test_jsonable_converts_numpy_scalars_and_non_finite_floats():
    assert to_plain({"a": np.float32(1.5), "b": np.int64(2), "c": float("inf"), "d": (np.bool_(True),)}) == {
        "a": 1.5, "b": 2, "c": None, "d": [True]}


def test_probability_shortfall_is_the_difference_of_the_groups_mean_true_class_probability():
    labels = np.array([0, 0, 0, 1, 2])
    # Epoch 1: the true class gets logit 0 against 0 elsewhere (1/3 each); epoch 2: ln(8) for class 0
    # samples (8/10) and ln(2) for the rest (2/4).
    logits = np.zeros((2, 5, 3))
    logits[1, :3, 0] = np.log(8.0)
    logits[1, 3, 1] = logits[1, 4, 2] = np.log(2.0)
    dynamics = dynamics_from_logits(logits, labels)

    first = probability_shortfall(dynamics, 1, [1, 2])
    assert first.shortfall == pytest.approx(0.0, abs=1e-6) and first.group_samples == 2
    second = probability_shortfall(dynamics, 2, [1, 2])
    assert (second.group_mean, second.rest_mean) == (pytest.approx(0.5), pytest.approx(0.8))
    assert second.shortfall == pytest.approx(0.3) and second.standard_error == pytest.approx(0.0, abs=1e-6)
    assert probability_shortfall(dynamics, 2, [0, 1, 2]) is None
    with pytest.raises(ConfigError, match="out of range"):
        probability_shortfall(dynamics, 3, [1])


def test_the_shortfalls_standard_error_uses_the_sample_variance_and_says_one_sample_shows_no_spread():
    # Rare class 1 with true-class probabilities 0.2, 0.4, 0.6 (ddof 1 variance 0.04, ddof 0 0.0267) against
    # three class-0 samples at 0.9; then a single rare sample, whose spread nothing measures.
    labels = np.array([0, 0, 0, 1, 1, 1])
    probability = np.array([0.9, 0.9, 0.9, 0.2, 0.4, 0.6])
    logits = np.zeros((1, 6, 2))
    logits[0, np.arange(6), labels] = np.log(probability / (1 - probability))
    shortfall = probability_shortfall(dynamics_from_logits(logits, labels), 1, [1])
    assert shortfall.standard_error == pytest.approx(np.sqrt(0.04 / 3))
    single = probability_shortfall(dynamics_from_logits(logits[:, 2:4], labels[2:4]), 1, [1])
    assert single.group_samples == 1 and single.standard_error == pytest.approx(np.sqrt(0.25 + 0.25))  # 1 of each


def test_probability_lift_is_the_best_epochs_mean_true_class_probability_over_the_class_share():
    labels = np.array([0, 0, 0, 1])
    # Epoch 1: every sample given the shares (0.75 / 0.25); epoch 2: the class-1 sample given 0.5.
    probabilities = np.array([[0.75, 0.25], [0.5, 0.5]])
    logits = np.zeros((2, 4, 2))
    logits[0] = np.log([0.75, 0.25])
    logits[1, :3] = np.log([0.75, 0.25])
    logits[1, 3] = np.log(probabilities[1])
    dynamics = dynamics_from_logits(logits, labels, split="val")
    assert math.isclose(probability_lift(dynamics, [1], [0.75, 0.25]), 2.0, rel_tol=1e-6)
    assert math.isclose(probability_lift(dynamics, [0], [0.75, 0.25]), 1.0, rel_tol=1e-6)
    assert math.isnan(probability_lift(dynamics_from_logits(logits[:, :3], labels[:3], split="val"), [1], [0.75, 0.25]))


def test_the_probability_lift_counts_only_epochs_from_the_first_one_asked():
    # Two rare samples (share 0.1) given 0.5 in epoch 1 and their share from then on: 5x over every epoch, 1x from 2.
    labels = np.array([0, 0, 0, 1, 1])
    probability = np.array([[0.5] * 5, [0.9, 0.9, 0.9, 0.1, 0.1], [0.9, 0.9, 0.9, 0.1, 0.1]])
    rare_logit = np.log(probability / (1 - probability))
    logits = np.zeros((3, 5, 2))
    logits[:, :, 1] = rare_logit * (labels == 1) - rare_logit * (labels == 0)
    # Without logits, so that the lean every sample shares in epoch 1 (see below) does not cancel the lift.
    records = dataclasses.replace(dynamics_from_logits(logits, labels, split="val"), logits=None)
    shares = [0.9, 0.1]
    assert probability_lift(records, [1], shares) == pytest.approx(5.0)
    assert probability_lift(records, [1], shares, first_epoch=2) == pytest.approx(1.0)
    assert math.isnan(probability_lift(records, [1], shares, first_epoch=4))


def test_a_lift_that_every_sample_shares_is_no_lift():
    # 90/10 random labels: rare and frequent val samples got 0.151 and 0.147 of the rare class at the epoch that set a
    # lift of 1.54 against the share; against what the frequent samples got, it is 1.03. A rare class being learned
    # (0.288 against 0.037) keeps its lift against the share, the frequent samples getting less than it.
    labels = np.array([0] * 8 + [1] * 2)

    def records(rare_on_rare, rare_on_frequent):
        probability_rare = np.where(labels == 1, rare_on_rare, rare_on_frequent)[None, :]
        logits = np.zeros((1, 10, 2))
        logits[:, :, 1] = np.log(probability_rare / (1 - probability_rare))
        return dynamics_from_logits(logits, labels, split="val")

    shares = [0.9, 0.1]
    leaning = records(0.151, 0.147)
    assert group_lean(leaning, [1], shares)[0] == pytest.approx(1.47, rel=1e-3)  # logits are kept as float16
    assert probability_lift(leaning, [1], shares) == pytest.approx(0.151 / 0.147, rel=1e-3)
    learned = records(0.288, 0.037)
    assert group_lean(learned, [1], shares)[0] == pytest.approx(0.37, rel=1e-3)
    assert probability_lift(learned, [1], shares) == pytest.approx(2.88, rel=1e-3)
    # Without recorded logits the lean is unknown: the lift is against the share alone.
    bare = dataclasses.replace(leaning, logits=None)
    assert group_lean(bare, [1], shares) is None
    assert probability_lift(bare, [1], shares) == pytest.approx(1.51, rel=1e-3)
