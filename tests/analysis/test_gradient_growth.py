"""Growth of the total gradient norm: a sum of gradients never zeroed, on hand-made per-epoch norms."""

import numpy as np

from lossgap.analysis.gradient_growth import GROWING_EPOCHS, gradient_growth, growing


def test_growth_gives_first_last_share_of_rises_and_the_floor_over_the_second_half():
    growth = gradient_growth([1.0, 2.0, 4.0, 3.0, 8.0, 16.0])
    assert (growth.first, growth.last, growth.rose, growth.floor) == (1.0, 16.0, 0.8, 3.0)
    assert gradient_growth([1.0] * (GROWING_EPOCHS - 1)) is None          # too few epochs to tell
    assert gradient_growth([0.0, 1.0, 2.0, 3.0, 4.0]) is None             # no positive first norm to compare to
    assert gradient_growth([np.nan, 1.0, 2.0, 3.0, 4.0, 5.0]).first == 1.0


def test_a_steady_climb_a_high_floor_or_a_climb_while_the_loss_vanishes_is_growing_and_noise_is_not():
    assert growing(np.geomspace(1.0, 100.0, 10))                          # 100x, rising every epoch
    assert growing(np.array([1.0, 20.0, 18.0, 21.0, 19.0, 20.0]))         # jumps 20x, holds there
    climb = np.geomspace(1.0, 6.0, 10)                                    # only 6x ...
    assert not growing(climb)
    assert growing(climb, loss=np.geomspace(1.0, 0.01, 10))               # ... while the train loss goes to zero
    rng = np.random.default_rng(0)
    assert not growing(np.exp(rng.normal(0.0, 0.5, 30)))                 # a zeroed loop's norms wander
