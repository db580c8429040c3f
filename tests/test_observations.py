"""optimization.csv: the observations container round-trips exactly and reads rows of differing columns."""

import math

import numpy as np
import pytest

from lossgap.observations import (OptimizationObservations, load_observations, observations_to_csv,
                                  save_observations)


def rows():
    return [
        {},  # an epoch before observing started
        {"steps": 5, "measured_steps": 5, "grad_norm_total": 0.1 + 0.2, "grad_norm:lstm.weight_ih_l0": 1 / 3,
         "update_ratio:lstm.weight_ih_l0": 1e-3, "gate_saturation:lstm.l0": 0.25, "dead_units:lstm.l0": 0.0},
        {"steps": 5, "measured_steps": 1, "grad_norm_total": math.inf, "grad_norm:lstm.weight_ih_l0": math.nan,
         "grad_norm:head.weight": 2.0, "update_ratio:head.weight": 0.5},
    ]


def test_rows_become_arrays_with_the_union_of_names_and_nan_where_missing():
    observed = OptimizationObservations.from_rows(rows())
    assert observed.tensor_names == ("lstm.weight_ih_l0", "head.weight") and observed.layer_names == ("lstm.l0",)
    assert observed.num_epochs == 3 and observed.steps.tolist() == [0, 5, 5]
    assert observed.grad_norm.shape == (3, 2) and np.isnan(observed.grad_norm[0]).all()
    assert observed.grad_norm[1, 0] == 1 / 3 and np.isnan(observed.grad_norm[1, 1])
    assert np.isnan(observed.gate_saturation[2, 0]) and observed.grad_norm_total[2] == math.inf


def test_the_csv_round_trips_exactly(tmp_path):
    observed = OptimizationObservations.from_rows(rows())
    save_observations(tmp_path / "optimization.csv", observed)
    text = (tmp_path / "optimization.csv").read_text()
    assert text.splitlines()[0] == ("epoch,steps,measured_steps,grad_norm_total,grad_norm:lstm.weight_ih_l0,"
                                    "grad_norm:head.weight,update_ratio:lstm.weight_ih_l0,update_ratio:head.weight,"
                                    "gate_saturation:lstm.l0,dead_units:lstm.l0")
    back = load_observations(tmp_path / "optimization.csv")
    assert back.tensor_names == observed.tensor_names and back.layer_names == observed.layer_names
    for name in ("steps", "measured_steps", "grad_norm_total", "grad_norm", "update_ratio", "gate_saturation",
                 "dead_units"):
        np.testing.assert_array_equal(getattr(back, name), getattr(observed, name))
    assert observations_to_csv(back) == text


def test_unknown_columns_are_ignored_and_a_bad_file_is_a_value_error(tmp_path):
    path = tmp_path / "optimization.csv"
    path.write_text("epoch,steps,future_column,grad_norm:w\n1,3,x,0.5\n")
    observed = load_observations(path)
    assert observed.tensor_names == ("w",) and observed.grad_norm.tolist() == [[0.5]]
    path.write_text("steps\n3\n")
    with pytest.raises(ValueError, match="no 'epoch' column"):
        load_observations(path)
    path.write_text("epoch,steps\n2,3\n")
    with pytest.raises(ValueError, match="row 1 holds epoch 2"):
        load_observations(path)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="grad_norm has shape"):
        OptimizationObservations(tensor_names=("a",), layer_names=(), steps=np.zeros(2, int),
                                 measured_steps=np.zeros(2, int), grad_norm_total=np.zeros(2),
                                 grad_norm=np.zeros((2, 2)), update_ratio=np.zeros((2, 1)),
                                 gate_saturation=np.zeros((2, 0)), dead_units=np.zeros((2, 0)))
