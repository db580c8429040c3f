"""The profile interval of a learning curve's extrapolation holds every power law the means cannot reject:
the truth, a curve about to flatten that fits as well, and nothing the means rule out."""

import math

import numpy as np

from fixtures.learning_curves import SIZES, accuracy_law, loss_law, seeded_curve
from lossgap.analysis.learning_curve import EXPONENT_BOUNDS, learning_curve
from lossgap.analysis.learning_curve_profile import profile_interval

BOUNDS = {"asymptote_bounds": (0.0, 1.0), "exponent_bounds": EXPONENT_BOUNDS}


def test_the_interval_holds_the_true_figure_and_gain_and_excludes_far_ones():
    values = seeded_curve(accuracy_law(SIZES), 0.01, seeds=10, seed=3)
    low, high = profile_interval(SIZES, values, 1600.0, falling=False, **BOUNDS)
    assert low <= accuracy_law(1600.0) <= high and high - low < 0.3
    assert not low <= accuracy_law(400.0) <= high          # 4x is not where the curve stands now
    gain = profile_interval(SIZES, values, 800.0, falling=False, gain_from=400.0, **BOUNDS)
    assert gain[0] <= accuracy_law(800.0) - accuracy_law(400.0) <= gain[1] and gain[0] >= 0.0


def test_a_curve_about_to_flatten_that_fits_the_means_is_inside():
    # A climbing curve (asymptote 0.9) and one flattening at 0.7 differ by under 0.02 at the measured sizes and
    # by 0.1 at 4x: with seeds scattering by 0.1 (10 seeds) the means cannot tell them apart.
    climbing = accuracy_law(SIZES)
    flattening = accuracy_law(SIZES, asymptote=0.7, scale=0.116, exponent=1.044)
    assert np.abs(climbing - flattening).max() < 0.02
    assert accuracy_law(1600.0) - accuracy_law(1600.0, asymptote=0.7, scale=0.116, exponent=1.044) > 0.09
    noise = np.random.default_rng(0).standard_normal((4, 10))
    low, high = profile_interval(SIZES, climbing[:, None] + 0.1 * noise, 1600.0, falling=False, **BOUNDS)
    assert low <= accuracy_law(1600.0, asymptote=0.7, scale=0.116, exponent=1.044) and high >= accuracy_law(1600.0)
    # The same means measured ten times more precisely rule the flattening curve out.
    low, high = profile_interval(SIZES, climbing[:, None] + 0.01 * noise, 1600.0, falling=False, **BOUNDS)
    assert low > accuracy_law(1600.0, asymptote=0.7, scale=0.116, exponent=1.044) + 0.05
    assert low <= accuracy_law(1600.0) <= high


def test_a_falling_loss_stays_above_its_bound_and_holds_the_truth_about_as_often_as_it_says():
    inside = 0
    for seed in range(20):
        values = seeded_curve(loss_law(SIZES), 0.05, seeds=10, seed=seed)
        low, high = profile_interval(SIZES, values, 1600.0, falling=True, asymptote_bounds=(0.0, math.inf),
                                     exponent_bounds=EXPONENT_BOUNDS)
        assert low >= 0.0 and high - low < 0.5
        inside += low <= loss_law(1600.0) <= high
    assert inside >= 17   # a 95% interval: 19 of 20 expected, 17 or more in 98% of such sets


def test_agreeing_seeds_or_too_few_sizes_cannot_be_profiled():
    exact = np.repeat(accuracy_law(SIZES)[:, None], 3, axis=1)
    assert all(math.isnan(end) for end in profile_interval(SIZES, exact, 800.0, falling=False, **BOUNDS))
    two = seeded_curve(accuracy_law(SIZES[:2]), 0.01)
    assert all(math.isnan(end) for end in profile_interval(SIZES[:2], two, 800.0, falling=False, **BOUNDS))


def test_the_curves_intervals_hold_the_profile():
    values = seeded_curve(accuracy_law(SIZES), 0.03, seeds=10, seed=2)
    curve = learning_curve("val_accuracy", SIZES, values, falling=False, asymptote_bounds=(0.0, 1.0),
                           replicates=100)
    for prediction in curve.predictions:
        low, high = profile_interval(SIZES, values, prediction.size, falling=False, **BOUNDS)
        assert prediction.estimate.low <= low and prediction.estimate.high >= high
    gain_low, gain_high = profile_interval(SIZES, values, 800.0, falling=False, gain_from=400.0, **BOUNDS)
    assert curve.gain.low <= gain_low and curve.gain.high >= gain_high
    last = profile_interval(SIZES, values, float(curve.band_sizes[-1]), falling=False, **BOUNDS)
    assert curve.band_low[-1] <= last[0] and curve.band_high[-1] >= last[1]
