"""The class-share shift between train and val: a chi-square test of homogeneity plus a size that matters."""

import dataclasses

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from lossgap.analysis.class_shares import (FALLBACK_SURE, SHIFT_DISTANCE, SURE, PredictedMixShift, class_share_shift,
                                           predicted_mix_shift)


def test_a_val_split_drawn_from_another_mix_is_shifted():
    # The new-user trial's label-shift run: train 50/50, val 85/15.
    shift = class_share_shift([300, 300], [170, 30])
    assert shift.shifted and shift.p_value < 1e-10
    assert shift.train_shares == (0.5, 0.5) and shift.val_shares == (0.85, 0.15)
    assert abs(shift.distance - 0.35) < 1e-12


def test_the_same_mix_is_not_shifted():
    shift = class_share_shift([300, 300, 60], [100, 100, 20])
    assert not shift.shifted and shift.distance == 0 and shift.p_value > 0.99


def test_a_small_difference_is_not_shifted_however_large_the_splits():
    # 40% of one of nine classes' labels moved to another shifts the shares by about 0.05: significant on large
    # splits, but no other mix of classes.
    train = np.full(9, 10000)
    train[0], train[1] = 6000, 14000
    shift = class_share_shift(train, np.full(9, 3000))
    assert shift.p_value < 1e-10 and shift.distance < SHIFT_DISTANCE and not shift.shifted


def test_a_difference_chance_explains_on_a_tiny_split_is_not_shifted():
    assert not class_share_shift([5, 5], [4, 1]).shifted


def test_nothing_to_compare_gives_none():
    assert class_share_shift([0, 0], [3, 4]) is None
    assert class_share_shift([5, 0], [3, 0]) is None
    assert class_share_shift([5, 3], [3, 3, 1]) is None


@given(st.lists(st.integers(0, 500), min_size=2, max_size=8), st.data())
def test_p_value_and_distance_are_fractions_and_symmetric(train, data):
    val = data.draw(st.lists(st.integers(0, 500), min_size=len(train), max_size=len(train)))
    shift, mirrored = class_share_shift(train, val), class_share_shift(val, train)
    if shift is None:
        assert mirrored is None
        return
    assert 0 <= shift.p_value <= 1 and 0 <= shift.distance <= 1
    assert np.isclose(shift.p_value, mirrored.p_value) and np.isclose(shift.distance, mirrored.distance)


def test_a_model_that_fits_train_and_piles_val_on_one_class_sees_val_as_unlike_train():
    # Own loops that fed val unstandardised put 90% of val into one class, sure of it, while 99% of train was right.
    from fixtures.val_split_runs import val_prepared_otherwise_run

    run = val_prepared_otherwise_run()
    mix = predicted_mix_shift(run["train"], run["val"])
    assert mix.shifted and mix.over_predicted == 0 and mix.val_shares[0] > 0.85
    assert abs(mix.train_shares[0] - 0.5) < 0.02 and abs(mix.val_label_shares[0] - 0.5) < 1e-12
    assert mix.p_value < 1e-20 and mix.train_accuracy > 0.95 and mix.sureness > SURE
    assert (mix.first_epoch, mix.last_epoch) == (16, 30)
    assert abs(mix.distance - (mix.val_shares[0] - mix.train_shares[0])) < 1e-12


def test_shuffled_labels_an_unsure_pile_or_an_unfitted_model_do_not_count():
    from fixtures.no_signal_runs import memorised_noise_run
    from fixtures.val_split_runs import val_prepared_otherwise_run

    noise = memorised_noise_run()
    assert not predicted_mix_shift(noise["train"], noise["val"]).shifted
    # A memorising model answering unfamiliar inputs from its prior is unsure of them.
    unsure = val_prepared_otherwise_run(sureness=0.55)
    assert not predicted_mix_shift(unsure["train"], unsure["val"]).shifted
    # Nor one answering every val sample from its prior, the 70% class at about its share of probability (0.69): what a
    # memorising model on 70/20/10 shuffled labels can give.
    from fixtures.no_signal_runs import majority_guess_run

    prior = majority_guess_run((700, 200, 100), (140, 40, 20))
    fallback = predicted_mix_shift(prior["train"], prior["val"])
    assert fallback.val_shares[0] == 1.0 and FALLBACK_SURE < fallback.sureness < 0.85 and not fallback.shifted
    # A model that never fitted train says nothing of how it sees val.
    unfitted = val_prepared_otherwise_run(fitted=False)
    assert not predicted_mix_shift(unfitted["train"], unfitted["val"]).shifted
    # A pile of 70% (a distance of 0.2) is within what shuffled labels reach (0.22 at most over the suite's cache).
    mild = val_prepared_otherwise_run(piled=0.7)
    assert not predicted_mix_shift(mild["train"], mild["val"]).shifted


def test_runs_too_short_to_have_a_late_half_are_not_judged():
    from fixtures.val_split_runs import val_prepared_otherwise_run

    run = val_prepared_otherwise_run(epochs=3)
    assert predicted_mix_shift(run["train"], run["val"]) is None


def test_a_pile_on_a_class_no_fallback_gives_needs_less_sureness_than_one_on_the_class_a_fallback_gives():
    # Session 38's fresh install: an own loop fed val scaled 3x and moved 2 sd put 80% of val on class 0, a class of
    # 26% of its train predictions and not its most predicted, at median probability 0.599; 33/31/30/7 shuffled labels
    # answered from the prior put all of val on the most predicted class at the same 0.599.
    bug = PredictedMixShift(train_shares=(0.255, 0.234, 0.275, 0.236), val_shares=(0.798, 0.165, 0.036, 0.001),
                            val_label_shares=(0.24, 0.24, 0.29, 0.23), distance=0.54, label_distance=0.56,
                            p_value=1e-19, train_accuracy=0.71, train_majority=0.29, first_epoch=13, last_epoch=25,
                            over_predicted=0, sureness=0.599)
    assert bug.shifted
    # The same pile on the class the model predicts most on train is what a fallback on the output bias gives.
    on_fallback = dataclasses.replace(bug, train_shares=(0.275, 0.234, 0.255, 0.236))
    assert not on_fallback.shifted
    assert dataclasses.replace(on_fallback, sureness=0.65).shifted   # half-way from 0.275 to 1 is 0.64
    # Below SURE, nowhere.
    assert not dataclasses.replace(bug, sureness=SURE - 0.01).shifted
