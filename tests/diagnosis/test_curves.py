"""A run's curves: metrics.csv columns where they hold numbers, the dynamics' own figures where they do not."""

import numpy as np
from fixtures.diagnosis import healthy_run
from lossgap.diagnosis.curves import curves_from


def test_recorded_columns_are_used_and_missing_ones_are_computed_from_the_dynamics():
    dynamics = healthy_run()
    epochs = dynamics["val"].num_epochs
    recorded = np.linspace(1.0, 0.5, epochs)
    curves = curves_from({"train_loss": recorded, "val_loss": np.full(epochs, np.nan)}, dynamics)
    assert np.array_equal(curves.train_loss, recorded)
    # An all-NaN column (an own loop that logged nothing) is computed, exactly as the dynamics give it.
    assert np.array_equal(curves.val_loss, dynamics["val"].epoch_loss())
    assert np.array_equal(curves.val_accuracy, dynamics["val"].epoch_accuracy())
    assert curves.lr is None and curves.num_epochs == epochs
