"""What label_noise's routes measure: the one-way pair's sign test, the suspects' contradiction depth."""

import numpy as np
import pytest

from lossgap.diagnosis.causes.label_noise import PAIR_P_NONE
from lossgap.diagnosis.causes.label_noise_measures import contradiction_depth, one_way_pair, sign_test


def test_a_one_way_pair_is_tested_against_chance_before_it_counts_fully():
    # 5 suspects one way against 1 the other (p = 0.11) is what two overlapping classes give an unfinished model:
    # clean BasicMotions runs had read label noise 0.79-0.86 from it.
    assert sign_test(5, 1) == pytest.approx(7 / 64) and sign_test(5, 1) > PAIR_P_NONE
    assert sign_test(9, 1) == pytest.approx(11 / 1024) and sign_test(0, 0) == 1.0


def test_contradiction_depth_is_how_far_below_zero_the_suspects_sit_against_the_rest_above_it():
    flagged = np.array([True, True, False, False, False])
    assert contradiction_depth(np.array([-2.0, -2.0, 2.0, 2.0, 2.0]), flagged) == 1.0
    assert contradiction_depth(np.array([-0.5, -0.5, 2.0, 2.0, 2.0]), flagged) == 0.25
    assert contradiction_depth(np.array([-9.0, -9.0, 2.0, 2.0, 2.0]), flagged) == 2.0  # capped
    assert contradiction_depth(np.array([-2.0, -2.0, 2.0, 2.0, 2.0]), np.zeros(5, bool)) == 0.0


def test_a_labeller_who_mixes_up_two_pairs_of_classes_makes_one_one_way_confusion_of_both():
    # JapaneseVowels with 11 of class 1 labelled 2 and 11 of class 3 labelled 4: the 16 suspects split 9 / 7 over the
    # two pairs, and the larger alone (56%) had left label noise at 0.30 under overfitting 0.56.
    labels = np.array([4] * 9 + [2] * 7)
    rivals = np.array([3] * 9 + [1] * 7)
    both = one_way_pair(labels, rivals, 9)
    assert both.pairs == ((4, 3), (2, 1)) and both.top == (4, 3)
    assert both.share == 1.0 and both.reverse == 0.0 and both.p == sign_test(16, 0)
    # A second pair confused about as often the other way is a hard pair, not a labeller's: it stays out, and so
    # does its reverse.
    hard = one_way_pair(np.r_[labels[:9], [2] * 4, [1] * 4], np.r_[rivals[:9], [1] * 4, [2] * 4], 9)
    assert hard.pairs == ((4, 3),) and hard.share == 9 / 17
    # So does a pair whose lean chance gives often: 3 of 10 scattered hard samples sharing a pair one way (p = 0.125);
    # 5 against none (p = 0.031) joins.
    few = one_way_pair(np.r_[labels[:9], [2] * 3], np.r_[rivals[:9], [1] * 3], 9)
    assert few.pairs == ((4, 3),) and few.share == 9 / 12
    assert one_way_pair(np.r_[labels[:9], [2] * 5], np.r_[rivals[:9], [1] * 5], 9).pairs == ((4, 3), (2, 1))
    # The most common pair stands on its own, its reverse counted against it, as before.
    single = one_way_pair(np.array([1] * 11 + [0] * 4), np.array([0] * 11 + [1] * 4), 3)
    assert single.pairs == ((1, 0),) and single.reverse == 4 / 11 and single.p == sign_test(11, 4)
    assert one_way_pair(np.array([], dtype=int), np.array([], dtype=int), 3).top is None
    # Confusions that run round the classes are a model's that has not learned them, not a labeller's: only the top.
    cycle = one_way_pair(np.array([2] * 9 + [1] * 8 + [0] * 7), np.array([0] * 9 + [2] * 8 + [1] * 7), 3)
    assert cycle.pairs == ((2, 0),) and cycle.share == 9 / 24
    # Two pairs into one class (A's and C's both called B) are a labeller's lumping, and both count.
    lumped = one_way_pair(np.array([4] * 9 + [2] * 7), np.array([3] * 9 + [3] * 7), 9)
    assert lumped.pairs == ((4, 3), (2, 3)) and lumped.share == 1.0
    # One class's samples called two others are a hard class between them (a blurred middle frequency class).
    split = one_way_pair(np.array([2] * 9 + [2] * 7), np.array([1] * 9 + [3] * 7), 4)
    assert split.pairs == ((2, 1),) and split.share == 9 / 16
