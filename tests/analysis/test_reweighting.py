"""Taking a class-weighted loss's shift out of the model's outputs: exact on hand-made logits."""

import dataclasses

import numpy as np
import pytest
from fixtures.dynamics import dynamics_from_logits

from lossgap.analysis.reweighting import samples_with_weights_undone, unweighted_signal, unweighted_view
from lossgap.analysis.samples import sample_dynamics

WEIGHTS = np.array([0.5, 2.0, 4.0])


def test_the_unweighted_view_of_shifted_logits_is_the_model_before_the_shift():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (3, 50, 3))
    labels = rng.integers(0, 3, 50)
    plain = dynamics_from_logits(logits, labels)
    view = unweighted_view(dynamics_from_logits(logits + np.log(WEIGHTS), labels), WEIGHTS)
    # The stored logits are float16: the shift comes back to within their rounding.
    assert np.mean(view.predicted == plain.predicted) > 0.98
    np.testing.assert_allclose(view.true_log_prob, plain.true_log_prob, atol=0.02)
    np.testing.assert_allclose(view.margin, plain.margin, atol=0.02)


def test_weights_move_the_argmax_toward_the_up_weighted_class_and_the_view_moves_it_back():
    logits = np.array([[[1.0, 0.2, 0.0]]])  # class 0 ahead by 0.8 nats
    weighted = dynamics_from_logits(logits + np.log(WEIGHTS), np.array([0]))
    assert weighted.predicted[0, 0] == 2  # log 4 - log 0.5 = 2.08 nats pushed it into class 2
    view = unweighted_view(weighted, WEIGHTS)
    assert view.predicted[0, 0] == 0 and view.margin[0, 0] == pytest.approx(0.8, abs=0.01)


def test_no_view_without_full_logits_or_with_a_zero_weight():
    split = dynamics_from_logits(np.zeros((2, 4, 3)), np.arange(4) % 3, keep_logits=False)
    assert unweighted_view(split, WEIGHTS) is None
    assert unweighted_view(dynamics_from_logits(np.zeros((2, 4, 3)), np.arange(4) % 3), [1.0, 0.0, 1.0]) is None
    assert unweighted_signal(split, WEIGHTS, 1, np.array([2, 1, 1])) is None


def test_a_contradiction_is_lifted_only_by_a_push_toward_the_up_weighted_class():
    labels = np.array([0, 2, 1, 0])
    logits = np.zeros((4, 4, 3))
    logits[:, 0, 2] = 1.0   # a class-0 sample predicted as class 2 (weight 8x): lifted by log 8
    logits[:, 1, 0] = 1.0   # a class-2 sample predicted as class 0: the other way, kept
    logits[:, 2, 1] = 1.0   # right: no rival, kept
    logits[:, 3, 0] = 1.0   # right
    samples = sample_dynamics(dynamics_from_logits(logits, labels, split="train", keep_logits=False))
    undone = samples_with_weights_undone(samples, WEIGHTS)
    expected = np.asarray(samples.aum, dtype=np.float64) + np.array([np.log(8.0), 0.0, 0.0, 0.0])
    np.testing.assert_allclose(undone.aum, expected, rtol=1e-6)
    assert undone.aum[0] > 0 > samples.aum[0]
    # Everything else is the samples' own.
    for field in dataclasses.fields(samples):
        if field.name != "aum":
            np.testing.assert_array_equal(getattr(undone, field.name), getattr(samples, field.name))
