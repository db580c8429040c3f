"""The power-law region of a learning curve: the shares whose runs learned, from the smallest where every run
did; a run at chance above it failed to train."""

import numpy as np

from lossgap.analysis.learning_region import chance_runs, learning_region


def test_the_power_law_region_starts_where_every_seed_learned():
    chance = 0.25  # four balanced classes; 300 val samples put "learned" above 0.25 + 2 * 0.025 = 0.30
    accuracy = np.array([[0.25, 0.26, 0.55],    # smallest share: two of three seeds at chance
                         [0.60, 0.66, 0.58],
                         [0.70, 0.72, 0.69],
                         [0.75, 0.77, 0.74]])
    assert learning_region(accuracy, chance=chance, val_samples=300).tolist() == [False, True, True, True]
    # A seed at chance in a larger share ends the region there: more data does not unlearn.
    dip = accuracy.copy()
    dip[1, 0] = 0.27
    assert learning_region(dip, chance=chance, val_samples=300).tolist() == [False, False, True, True]
    # Random labels learn at no size: nothing is in the region (the caller then keeps the flat curve).
    assert not learning_region(np.full((4, 3), 0.26), chance=chance, val_samples=300).any()
    # An unfinished run (NaN) neither learns nor breaks the region.
    unfinished = accuracy.copy()
    unfinished[2, 1] = np.nan
    assert learning_region(unfinished, chance=chance, val_samples=300).tolist() == [False, True, True, True]


def test_a_run_at_chance_above_a_fully_learned_share_is_a_failed_run_not_the_small_data_region():
    accuracy = np.array([[0.25, 0.26, 0.55],    # small-data region: most runs at chance
                         [0.60, 0.66, 0.58],    # every run learned: the region starts here
                         [0.70, 0.27, 0.69],    # one run at chance: it failed to train
                         [0.75, 0.77, 0.74]])
    assert learning_region(accuracy, chance=0.25, val_samples=300).tolist() == [False, True, True, True]
    assert chance_runs(accuracy, chance=0.25, val_samples=300)[2].tolist() == [False, True, False]
    # Most runs at chance in a larger share ends the region there.
    most = accuracy.copy()
    most[2] = [0.26, 0.27, 0.69]
    assert learning_region(most, chance=0.25, val_samples=300).tolist() == [False, False, False, True]
