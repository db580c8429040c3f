"""fit_summary: whether a model moved away from the class prior on its own training data."""

import math

import numpy as np
import pytest

from fixtures.dynamics import dynamics_from_logits
from lossgap.analysis.fit import MOVED_Z, fit_summary, loss_reversal, prior_of


def summary_of(logits, labels):
    """The FitSummary of one epoch whose per-sample records come from ``logits`` (N, C)."""
    train = dynamics_from_logits(np.asarray(logits)[None], labels, split="train")
    loss = float(-train.true_log_prob[0].mean())
    accuracy = float(train.correct[0].mean())
    return fit_summary([loss], [accuracy], [accuracy], train=train, val=train, judged_epoch=1)


def test_an_imbalanced_training_set_fitted_sample_by_sample_has_moved():
    # 75 + 4 samples, every one fitted: most of the gain over the prior sits on the 4 rare ones, so the paired
    # mean test alone cannot show it (it read "did not fit even its training set" on a perfect fit).
    labels = np.repeat([0, 1], [75, 4])
    logits = np.where(np.arange(2)[None, :] == labels[:, None], 7.0, 0.0)
    fit = summary_of(logits, labels)
    assert fit.moved_share > 0.9 and fit.moved_z > -MOVED_Z
    assert fit.moved_sign_z < -MOVED_Z and fit.below_prior_in_every_class and fit.train_moved


def test_a_model_surer_of_the_majority_but_not_of_the_rare_class_has_not_moved():
    # 75 + 4: the majority's samples at 0.975 (their prior is 0.94), the rare ones scattered around their prior
    # loss (2.88 nats). The mean is 4% below the prior and most samples are below theirs, but only because
    # of the majority: the sign test counts only when every class has most of its samples below.
    labels = np.repeat([0, 1], [75, 4])
    rare_loss = np.array([1.5, 2.5, 3.0, 4.0])
    logits = np.zeros((79, 2))
    logits[:75, 0] = np.log(0.975 / 0.025)
    logits[75:, 0] = np.log(np.expm1(rare_loss))   # p(rare) = exp(-loss) for these logits
    fit = summary_of(logits, labels)
    assert fit.moved_share > 0.02 and fit.moved_z > -MOVED_Z and fit.moved_sign_z < -MOVED_Z
    assert not fit.below_prior_in_every_class and not fit.train_moved


def test_predicting_the_class_shares_or_only_the_majority_has_not_moved():
    labels = np.repeat([0, 1], [75, 4])
    prior = prior_of(np.bincount(labels))
    assert not summary_of(np.tile(np.log(prior), (79, 1)), labels).train_moved
    # Sure of the majority for every sample: most samples sit below their prior loss, but the mean is above it.
    majority = summary_of(np.tile([5.0, 0.0], (79, 1)), labels)
    assert majority.moved_sign_z < -MOVED_Z and not majority.below_prior_in_every_class
    assert majority.moved_share < 0 and not majority.train_moved


def test_a_train_loss_a_hair_above_a_small_prior_entropy_is_not_worse_than_a_constant_guess():
    from lossgap.analysis.fit import ABOVE_PRIOR_MARGIN

    # 75 + 4 samples: the prior's entropy is 0.20 nats, and 0.028 nats above it is 14% of it but 4% of log 2 (a
    # model sorting out its 4 rare samples); a train loss twice the prior's is worse than a constant guess.
    labels = np.repeat([0, 1], [75, 4])
    entropy = float(-np.log(prior_of([75, 4]))[labels].mean())

    def share(curve):
        train = dynamics_from_logits(np.zeros((len(curve), 79, 2)), labels, split="train")
        return fit_summary(curve, [0.95] * len(curve), [0.95] * len(curve), train=train, val=train,
                           judged_epoch=len(curve)).above_prior_share

    hair = entropy + 0.8 * ABOVE_PRIOR_MARGIN * np.log(2)
    assert hair > (1 + ABOVE_PRIOR_MARGIN) * entropy  # 5% above the shares' loss, but not 5% of log 2
    assert share([0.6, 0.19, hair, hair, hair, 0.18, 0.17]) == 0.0
    assert share([0.6, 0.19, 2 * entropy, 2 * entropy, 0.18, 0.17, 0.16]) == 2 / 6


def test_the_shares_are_learned_at_the_first_epoch_near_their_loss_and_never_when_no_epoch_comes_near():
    from lossgap.analysis.fit import ABOVE_PRIOR_MARGIN

    labels = np.repeat([0, 1], [75, 4])
    entropy = float(-np.log(prior_of([75, 4]))[labels].mean())
    near = entropy + 0.9 * ABOVE_PRIOR_MARGIN * np.log(2)

    def first(curve):
        train = dynamics_from_logits(np.zeros((len(curve), 79, 2)), labels, split="train")
        return fit_summary(curve, [0.95] * len(curve), [0.95] * len(curve), train=train, val=train,
                           judged_epoch=len(curve)).shares_learned_epoch

    assert first([0.8, 0.5, near, 0.3, 0.1]) == 3
    assert first([0.19, 0.8]) == 1
    assert first([0.8, 0.7, 0.6, np.nan]) == 0


def test_a_first_descent_from_above_a_constant_guess_is_a_slow_start_and_a_rise_back_above_it_counts():
    # Four balanced classes (log 4 = 1.386): a network of one unit starts at 1.65 and comes down in every epoch;
    # those epochs above the guess read "worse than a constant guess" in 58% of them, unstable_optimization 1.00.
    labels = np.arange(80) % 4

    def share(curve):
        train = dynamics_from_logits(np.zeros((len(curve), 80, 4)), labels, split="train")
        return fit_summary(curve, [0.3] * len(curve), [0.3] * len(curve), train=train, val=train,
                           judged_epoch=len(curve)).above_prior_share

    assert share([1.65, 1.62, 1.59, 1.55, 1.50, 1.45, 1.40, 1.35, 1.30]) == 0.0
    # Rising back above it while still coming down from above counts; so does lying above a guess it was below.
    assert share([1.65, 1.60, 1.70, 1.55, 1.50]) == 1 / 4
    assert share([1.65, 1.30, 1.20, 1.60, 1.55]) == 2 / 4


def test_the_weighted_epoch_loss_is_what_a_class_weighted_cross_entropy_averages():
    # Two epochs of 3 + 1 samples; the rare class weighs 2 (balanced: 4 / (2 x 3) and 4 / (2 x 1)), and in
    # epoch 2 the third sample was not recorded. sum(w_y x loss) / sum(w_y) over the recorded samples.
    from lossgap.analysis.fit import weighted_epoch_loss
    from lossgap.class_weights import balanced_class_weights
    labels = np.array([0, 0, 0, 1])
    weights = balanced_class_weights(labels, 2)
    assert weights.tolist() == [4 / 6, 2.0]
    logits = np.log(np.array([[[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.5, 0.5]],
                              [[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.2, 0.8]]]))
    train = dynamics_from_logits(logits, labels, split="train")
    train.predicted[1, 2] = -1  # not recorded in epoch 2
    losses = -np.log([[0.9, 0.8, 0.6, 0.5], [0.9, 0.8, np.nan, 0.8]])
    w = weights[labels]
    expected = [np.sum(w * losses[0]) / w.sum(), np.nansum(w[[0, 1, 3]] * losses[1, [0, 1, 3]]) / w[[0, 1, 3]].sum()]
    np.testing.assert_allclose(weighted_epoch_loss(train, weights), expected, rtol=1e-6)


def test_the_weighted_objective_is_judged_against_the_uniform_guess_it_prefers():
    # 95/5 data: predicting the class shares costs 0.2 nats of plain loss, but under balanced weights the
    # constant guess the weighted loss prefers is uniform, at log 2.
    from lossgap.analysis.fit import weighted_objective
    labels = np.repeat([0, 1], [95, 5])
    logits = np.where(np.arange(2)[None, :] == labels[:, None], 1.0, 0.0)[None].repeat(3, axis=0)
    train = dynamics_from_logits(logits, labels, split="train")
    objective = weighted_objective(train, train, judged_epoch=3)
    assert objective.name == "class-weighted train loss"
    assert abs(objective.fit.prior_entropy - np.log(2)) < 1e-6 and objective.fit.train_baseline == 0.5
    plain = fit_summary(-train.true_log_prob.mean(axis=1), train.epoch_accuracy(), train.epoch_accuracy(),
                        train=train, val=train, judged_epoch=3)
    assert plain.prior_entropy < 0.25 and plain.moved_share < 0  # above the plain prior: "worse than a guess"
    assert objective.fit.moved_share > 0.5 and objective.fit.train_moved  # well below the uniform guess
    np.testing.assert_allclose(objective.train_accuracy, 1.0)


def test_a_split_that_got_every_sample_right_still_has_spread_in_the_gap_noise():
    # 12 val samples all right beside train at 0.854 of 48: each split's own p(1 - p)/n gave val no spread and the
    # gap (0.146) read as val siding with the model beyond its noise; a model right on 85% of inputs gets 12 of 12
    # one time in seven.
    from lossgap.analysis.fit import _difference_noise

    plain = math.sqrt(0.854 * 0.146 / 48)
    adjusted = _difference_noise(0.854, 48, 1.0, 12)
    assert adjusted > 1.5 * plain
    expected_val = (13 / 14) * (1 / 14) / 12
    expected_train = ((0.854 * 48 + 1) / 50) * (1 - (0.854 * 48 + 1) / 50) / 48
    assert adjusted == pytest.approx(math.sqrt(expected_val + expected_train), rel=1e-12)
    assert _difference_noise(0.9, 0, 0.8, 10) == pytest.approx(math.sqrt((9 / 12) * (3 / 12) / 10), rel=1e-12)


def test_outputs_that_never_change_are_told_from_outputs_that_barely_move():
    from lossgap.analysis.fit import outputs_unchanged

    labels = np.arange(50) % 2
    logits = np.zeros((4, 50, 2))
    logits[:, :, 1] = np.linspace(-1, 1, 50)
    assert outputs_unchanged(dynamics_from_logits(logits, labels))
    assert not outputs_unchanged(dynamics_from_logits(logits[:2], labels))  # two epochs show nothing
    moved = logits.copy()
    moved[3, 7, 1] += 1e-3                      # one sample's output moved in the last epoch
    assert not outputs_unchanged(dynamics_from_logits(moved, labels))


def test_loss_reversal_sums_the_climbs_given_back_over_the_run_or_its_largest_window():
    # From epoch 2 on: 0.9 0.8 1.0 0.7 0.9 0.6 0.5 -> steps -0.1 +0.2 -0.3 +0.2 -0.3 -0.1: rises 0.4, falls 0.8.
    losses = [1.0, 0.9, 0.8, 1.0, 0.7, 0.9, 0.6, 0.5]
    assert loss_reversal(losses, 1.0) == pytest.approx(0.4)
    assert loss_reversal(losses, 2.0) == pytest.approx(0.2)   # in units of the prior's entropy
    assert loss_reversal(losses, 1.0, window=100) == pytest.approx(0.4)   # a window longer than the run is the run
    assert loss_reversal(losses, 1.0, window=2) == pytest.approx(0.2)   # best two steps: +0.2 -0.3
    assert loss_reversal(losses, 1.0, window=1) == 0.0   # one step only rises or falls
    assert loss_reversal([0.5], 1.0, window=3) == 0.0 and loss_reversal(losses, 0.0) == 0.0
