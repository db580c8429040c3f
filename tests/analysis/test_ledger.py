"""The loss ledger on hand-made dynamics: known groups, the two exact identities, series, sentences."""

import dataclasses
import json
import math

import numpy as np
import pytest
from fixtures.dynamics import binary_dynamics, dynamics_from_logits

from lossgap.analysis.ledger import LEDGER_GROUPS, describe_ledger, ledger_series, loss_ledger, main_plateau_ledger
from lossgap.analysis.plateaus import Plateau
from lossgap.errors import ConfigError

# Six samples of class 0, one per group (and two that stay right), epoch 1 -> epoch 2.
START = np.array([0.6, 0.7, 0.2, 0.3, 0.4, 0.8])
END = np.array([0.9, 0.8, 0.4, 0.1, 0.7, 0.3])
EXPECTED_GROUPS = {"stayed_correct": [0, 1], "stayed_wrong_closer": [2], "stayed_wrong_further": [3],
                   "became_correct": [4], "became_wrong": [5]}


def hide(dynamics, epoch_row, samples):
    """The same dynamics with ``samples`` unseen in ``epoch_row``, as the recorder stores them."""
    predicted, log_prob = dynamics.predicted.copy(), dynamics.true_log_prob.copy()
    predicted[epoch_row, samples] = -1
    log_prob[epoch_row, samples] = np.nan
    return dataclasses.replace(dynamics, predicted=predicted, true_log_prob=log_prob)


def assert_identities(ledger):
    contributions = sum(group.loss_change for group in ledger.groups)
    assert contributions == pytest.approx(ledger.loss_change, rel=1e-12, abs=1e-15)
    assert ledger.loss_change == pytest.approx(ledger.loss_end - ledger.loss_start, rel=1e-9, abs=1e-12)
    counts = {group.name: group.count for group in ledger.groups}
    assert ledger.accuracy_change == (counts["became_correct"] - counts["became_wrong"]) / ledger.num_samples
    assert ledger.accuracy_change == pytest.approx(ledger.accuracy_end - ledger.accuracy_start, abs=1e-15)
    assert sum(counts.values()) == ledger.num_samples
    if ledger.loss_change != 0:
        assert sum(group.share for group in ledger.groups) == pytest.approx(1.0, rel=1e-9)


def test_each_sample_lands_in_its_group_with_its_loss_change():
    ledger = loss_ledger(binary_dynamics(np.stack([START, END])), 1, 2)

    assert [group.name for group in ledger.groups] == list(LEDGER_GROUPS)
    assert (ledger.split, ledger.start_epoch, ledger.end_epoch, ledger.num_samples) == ("val", 1, 2, 6)
    per_sample_change = -(np.log(END) - np.log(START))
    for name, members in EXPECTED_GROUPS.items():
        group = ledger.group(name)
        assert group.count == len(members), name
        assert group.loss_change == pytest.approx(per_sample_change[members].sum() / 6, rel=1e-6), name
    assert ledger.loss_change == pytest.approx(per_sample_change.mean(), rel=1e-6)
    assert ledger.loss_start == pytest.approx(-np.log(START).mean(), rel=1e-6)
    assert (ledger.accuracy_start, ledger.accuracy_end) == (0.5, 0.5)
    assert ledger.accuracy_change == 0
    assert ledger.group("stayed_correct").share == pytest.approx(
        per_sample_change[[0, 1]].sum() / per_sample_change.sum(), rel=1e-6)
    assert_identities(ledger)


def test_identities_hold_exactly_on_random_multiclass_dynamics_with_unseen_samples():
    rng = np.random.default_rng(3)
    dynamics = dynamics_from_logits(rng.normal(0, 2, (6, 500, 4)), rng.integers(0, 4, 500))
    dynamics = hide(hide(dynamics, 2, [1, 2, 3]), 4, [3, 7])
    for start, end in [(1, 2), (1, 6), (2, 5), (3, 4), (4, 5)]:
        assert_identities(loss_ledger(dynamics, start, end))
    assert loss_ledger(dynamics, 3, 5).num_samples == 500 - 4  # samples 1, 2, 3 and 7 miss one of the epochs


def test_unseen_samples_are_left_out_of_both_epochs():
    dynamics = hide(binary_dynamics(np.stack([START, END])), 1, [4])  # the sample that became correct
    ledger = loss_ledger(dynamics, 1, 2)

    assert ledger.num_samples == 5
    assert ledger.group("became_correct").count == 0
    assert ledger.accuracy_change == pytest.approx(-1 / 5)
    assert ledger.loss_change == pytest.approx(-(np.log(END) - np.log(START))[[0, 1, 2, 3, 5]].mean(), rel=1e-6)
    assert_identities(ledger)


def test_a_wrong_sample_whose_probability_did_not_move_counts_as_further():
    ledger = loss_ledger(binary_dynamics([[0.3, 0.2], [0.3, 0.25]]), 1, 2)
    assert ledger.group("stayed_wrong_further").count == 1
    assert ledger.group("stayed_wrong_closer").count == 1


def test_argmax_ties_go_to_the_lowest_class():
    # Equal logits: the prediction is class 0, right for sample 0 (label 0), wrong for sample 1 (label 1).
    ledger = loss_ledger(dynamics_from_logits(np.zeros((2, 2, 3)), [0, 1]), 1, 2)
    assert ledger.group("stayed_correct").count == 1
    assert ledger.group("stayed_wrong_further").count == 1
    assert ledger.loss_change == 0
    assert all(math.isnan(group.share) for group in ledger.groups)


@pytest.mark.parametrize("probabilities, group", [(0.9, "stayed_correct"), (0.1, "stayed_wrong_closer")])
def test_all_right_or_all_wrong_puts_everything_in_one_group(probabilities, group):
    start = np.full(10, probabilities)
    ledger = loss_ledger(binary_dynamics(np.stack([start, start + 0.05])), 1, 2)
    assert ledger.group(group).count == 10
    assert ledger.group(group).share == pytest.approx(1.0)
    assert ledger.accuracy_change == 0
    assert_identities(ledger)


def test_no_sample_in_both_epochs_gives_nan_means_and_empty_groups():
    dynamics = hide(binary_dynamics(np.stack([START, END])), 0, list(range(6)))
    ledger = loss_ledger(dynamics, 1, 2)
    assert ledger.num_samples == 0
    assert math.isnan(ledger.loss_change) and math.isnan(ledger.accuracy_change)
    assert all(group.count == 0 for group in ledger.groups)
    assert describe_ledger(ledger) == "no val sample was recorded in both epoch 1 and epoch 2"


def test_series_matches_the_single_ledger_of_every_consecutive_pair():
    rng = np.random.default_rng(5)
    dynamics = hide(dynamics_from_logits(rng.normal(0, 2, (5, 300, 3)), rng.integers(0, 3, 300)), 2, [0, 9])
    series = ledger_series(dynamics)

    assert series.group_names == LEDGER_GROUPS
    assert series.counts.shape == (4, 5) and series.counts.dtype == np.int64
    assert series.contributions.shape == (4, 5) and series.contributions.dtype == np.float64
    np.testing.assert_array_equal(series.start_epochs, [1, 2, 3, 4])
    for row in range(4):
        ledger = loss_ledger(dynamics, row + 1, row + 2)
        np.testing.assert_array_equal(series.counts[row], [group.count for group in ledger.groups])
        np.testing.assert_allclose(series.contributions[row], [group.loss_change for group in ledger.groups],
                                   rtol=1e-12, atol=1e-15)
        assert series.num_samples[row] == ledger.num_samples
        assert series.loss_change[row] == pytest.approx(ledger.loss_change, rel=1e-12)
        assert series.accuracy_change[row] == ledger.accuracy_change
    np.testing.assert_allclose(series.contributions.sum(axis=1), series.loss_change, rtol=1e-12, atol=1e-15)
    assert series.num_samples[1] == 298 and series.num_samples[2] == 298


def test_series_of_a_single_epoch_is_empty_and_a_ledger_of_one_epoch_with_itself_is_zero():
    dynamics = binary_dynamics([START])
    series = ledger_series(dynamics)
    assert series.counts.shape == (0, 5) and series.loss_change.shape == (0,)
    assert series.to_dict()["counts"] == []
    ledger = loss_ledger(dynamics, 1, 1)
    assert ledger.loss_change == 0 and ledger.accuracy_change == 0
    assert "did not change" in describe_ledger(ledger)


def test_to_dict_is_plain_json():
    ledger = loss_ledger(binary_dynamics([[0.3, 0.2], [0.3, 0.2]]), 1, 2)  # zero change: shares are NaN
    as_dict = ledger.to_dict()
    json.dumps(as_dict, allow_nan=False)
    assert as_dict["groups"][0] == {"name": "stayed_correct", "count": 0, "loss_change": 0.0, "share": None}
    series = ledger_series(binary_dynamics(np.stack([START, END, START])))
    as_dict = series.to_dict()
    json.dumps(as_dict, allow_nan=False)
    assert as_dict["counts"] == [[2, 1, 1, 1, 1], [2, 1, 1, 1, 1]]


def test_describe_a_fall_names_the_driving_group_and_the_crossings():
    # 8 right samples grow confident; 3 cross to right, 1 to wrong; the already-right ones dominate.
    start = np.r_[np.full(8, 0.55), [0.45, 0.45, 0.45], [0.51]]
    end = np.r_[np.full(8, 0.99), [0.52, 0.52, 0.52], [0.49]]
    ledger = loss_ledger(binary_dynamics(np.stack([start, start, end])), 1, 3)
    share = ledger.group("stayed_correct").share
    assert share > 0.5
    assert describe_ledger(ledger) == (
        f"of the {abs(ledger.loss_change):.3g} fall in val loss between epochs 1 and 3, {share:.0%} came from "
        "samples that were already right; 3 samples changed from wrong to right and 1 from right to wrong")


def test_describe_a_rise_and_singular_counts():
    ledger = loss_ledger(binary_dynamics([[0.9, 0.9, 0.4], [0.6, 0.6, 0.6]]), 1, 2)
    sentence = describe_ledger(ledger)
    assert sentence.startswith(f"of the {ledger.loss_change:.3g} rise in val loss between epochs 1 and 2, ")
    assert "came from samples that were already right" in sentence
    assert sentence.endswith("1 sample changed from wrong to right and 0 from right to wrong")


def test_describe_no_change_says_so():
    ledger = loss_ledger(binary_dynamics([[0.9, 0.2], [0.9, 0.2]]), 1, 2)
    assert describe_ledger(ledger) == ("val loss did not change between epochs 1 and 2 (2 samples); "
                                       "no sample changed between wrong and right")


@pytest.mark.parametrize("start, end", [(0, 2), (1, 3), (2, 1), (1.0, 2)])
def test_bad_epochs_are_config_errors(start, end):
    with pytest.raises(ConfigError):
        loss_ledger(binary_dynamics(np.stack([START, END])), start, end)


def test_unknown_group_name_is_a_key_error():
    with pytest.raises(KeyError, match="stayed_correct"):
        loss_ledger(binary_dynamics(np.stack([START, END])), 1, 2).group("improved")


def test_samples_whose_loss_is_not_finite_are_counted_apart_and_named():
    # An own loop whose logits went NaN read "no val sample was recorded in both epoch 1 and epoch 10" although
    # every sample was recorded in every epoch.
    dynamics = binary_dynamics(np.array([[0.4, 0.6, 0.7], [0.6, 0.7, 0.8], [0.6, 0.7, 0.8]]),
                               labels=np.array([0, 1, 0]))
    dynamics.true_log_prob[2, :] = np.nan  # every sample's loss NaN in epoch 3, all still recorded
    dynamics.true_log_prob[1, 2] = np.nan  # and sample 3's in epoch 2
    gone = loss_ledger(dynamics, 1, 3)
    assert gone.num_samples == 0 and gone.non_finite == 3
    assert describe_ledger(gone) == ("val loss is not finite (NaN or infinite) between epochs 1 and 3 for every "
                                     "sample recorded in both epochs (3 samples), so no change can be traced to them")
    partly = loss_ledger(dynamics, 1, 2)
    assert partly.num_samples == 2 and partly.non_finite == 1
    assert "(1 sample with a non-finite loss left out)" in describe_ledger(partly)
    unseen = binary_dynamics(np.array([[0.4, 0.6], [0.6, 0.7]]), labels=np.array([0, 1]))
    unseen.predicted[1, :] = -1
    assert describe_ledger(loss_ledger(unseen, 1, 2)) == "no val sample was recorded in both epoch 1 and epoch 2"


def test_a_change_below_the_sentences_digits_is_said_to_barely_fall_with_both_losses():
    # 1.1250 -> 1.1195 over 60 epochs had read "did not change" beside "the val loss was still falling".
    ledger = loss_ledger(binary_dynamics([[0.33, 0.32], [0.331, 0.322]]), 1, 2)
    assert 0 < -ledger.loss_change < 0.005 * ledger.loss_start
    assert describe_ledger(ledger, decimals=2) == (
        f"val loss barely fell between epochs 1 and 2 ({ledger.loss_start:.4f} -> {ledger.loss_end:.4f}, 2 samples); "
        "no sample changed between wrong and right")


def test_describe_a_change_of_more_than_one_nat_with_two_decimals_never_rounded_or_in_exponent_form():
    # A fall of 1.02 read "the 1 fall" and one of 256 "the 2.6e+02 fall" at two significant digits.
    ledger = loss_ledger(binary_dynamics(np.stack([np.full(4, 0.1), np.full(4, 0.3)])), 1, 2)
    assert describe_ledger(ledger, decimals=2).startswith(f"of the {abs(ledger.loss_change):.2f} fall")
    assert abs(ledger.loss_change) > 1 and f"{abs(ledger.loss_change):.2g}" != f"{abs(ledger.loss_change):.2f}"
    huge = loss_ledger(binary_dynamics(np.stack([np.full(4, 1e-120), np.full(4, 0.5)])), 1, 2)
    assert describe_ledger(huge, decimals=2).startswith(f"of the {abs(huge.loss_change):.2f} fall")
    assert "e+" not in describe_ledger(huge, decimals=2)


def test_crossings_that_cancel_in_the_loss_are_said_to():
    # Trial 24: "100% came from wrong samples moving toward their true class" beside "33 changed from wrong to right and
    # 31 from right to wrong" read as a contradiction; the two crossings' losses had cancelled.
    start = [0.4] * 4 + [0.6] * 4 + [0.05] * 2
    end = [0.6] * 4 + [0.4] * 4 + [0.3] * 2
    sentence = describe_ledger(loss_ledger(binary_dynamics([start, end]), 1, 2))
    assert "100% came from wrong samples moving toward their true class" in sentence
    assert sentence.endswith("4 samples changed from wrong to right and 4 from right to wrong, whose losses nearly "
                             "cancel (-0.162 and +0.162 nats)")
    # One-sided crossings are no cancelling.
    one_way = describe_ledger(loss_ledger(binary_dynamics([start[:4] + start[8:], end[:4] + end[8:]]), 1, 2))
    assert "cancel" not in one_way


def test_the_main_plateau_is_the_first_whose_loss_fell_and_its_ledger_spans_it():
    dynamics = binary_dynamics(np.linspace(0.3, 0.9, 24).reshape(6, 4))
    rose = Plateau("val", 1, 2, loss_change=0.1, accuracy_change=0.0, accuracy_noise=0.1)
    fell = Plateau("val", 3, 5, loss_change=-0.2, accuracy_change=0.0, accuracy_noise=0.1)
    plateau, ledger = main_plateau_ledger(dynamics, {"val": (fell, rose), "train": ()})
    assert plateau is fell
    assert (ledger.start_epoch, ledger.end_epoch) == (3, 5)
    assert ledger.loss_change == pytest.approx(loss_ledger(dynamics, 3, 5).loss_change, abs=0)


def test_without_a_falling_plateau_the_ledger_spans_the_recorded_epochs_and_needs_two():
    everyone = [0, 1, 2, 3]
    dynamics = binary_dynamics(np.linspace(0.3, 0.9, 24).reshape(6, 4))
    dynamics = hide(hide(dynamics, 0, everyone), 5, everyone)
    rose = Plateau("val", 2, 4, loss_change=0.1, accuracy_change=0.0, accuracy_noise=0.1)
    plateau, ledger = main_plateau_ledger(dynamics, {"val": (rose,)})
    assert plateau is None and (ledger.start_epoch, ledger.end_epoch) == (2, 5)
    for row in (1, 2, 4):
        dynamics = hide(dynamics, row, everyone)
    assert main_plateau_ledger(dynamics, {}) == (None, None)
