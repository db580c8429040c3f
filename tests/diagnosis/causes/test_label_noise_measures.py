"""What label_noise's routes measure: the one-way pair's sign test, the suspects' contradiction depth."""

import numpy as np
import pytest

from lossgap.diagnosis.causes.label_noise import PAIR_P_NONE
from lossgap.diagnosis.causes.label_noise_measures import contradiction_depth, sign_test


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
