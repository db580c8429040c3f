"""Val accuracy far below what label-blind predictions get: val's labels contradict what the model learned."""

import numpy as np
from fixtures.dynamics import dynamics_from_logits

from lossgap.analysis.label_coding import label_blind_shortfall
from lossgap.dynamics import MISSING_PREDICTION


def _predicting(predicted, labels, classes):
    logits = np.zeros((2, len(labels), classes))
    logits[:, np.arange(len(labels)), predicted] = 5.0
    return dynamics_from_logits(logits, labels)


def test_classes_rotated_between_the_splits_are_contradicted():
    labels = np.arange(120) % 4
    shortfall = label_blind_shortfall(_predicting((labels + 1) % 4, labels, 4))
    assert shortfall.accuracy == 0.0 and shortfall.expected == 0.25 and shortfall.epoch == 2
    assert shortfall.p_value < 1e-10 and shortfall.contradicted


def test_predictions_that_ignore_the_labels_are_not_contradicted():
    # Shuffled labels, or a model that learned nothing useful: accuracy near the label-blind level.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 400)
    shortfall = label_blind_shortfall(_predicting(rng.integers(0, 4, 400), labels, 4))
    assert abs(shortfall.accuracy - shortfall.expected) < 0.06 and not shortfall.contradicted
    # A model that always names one class gets exactly that class's share: the label-blind level itself.
    constant = label_blind_shortfall(_predicting(np.zeros(400, dtype=int), labels, 4))
    assert constant.accuracy == constant.expected and constant.p_value > 0.4


def test_a_small_split_all_wrong_is_not_enough():
    # 10 samples of two classes all wrong: p = 0.5^10 ~ 1e-3, bad luck a val split that small can have.
    labels = np.arange(10) % 2
    shortfall = label_blind_shortfall(_predicting(1 - labels, labels, 2))
    assert shortfall.accuracy == 0.0 and 1e-4 < shortfall.p_value < 1e-2 and not shortfall.contradicted


def test_the_epoch_is_chosen_and_an_empty_epoch_gives_none():
    labels = np.arange(60) % 3
    logits = np.zeros((3, 60, 3))
    logits[0, np.arange(60), labels] = 5.0  # epoch 1 right, epochs 2-3 rotated
    logits[1:, np.arange(60), (labels + 1) % 3] = 5.0
    dynamics = dynamics_from_logits(logits, labels)
    assert label_blind_shortfall(dynamics, epoch=1).accuracy == 1.0
    assert label_blind_shortfall(dynamics).contradicted
    dynamics.predicted[2] = MISSING_PREDICTION  # nothing recorded in the last epoch
    assert label_blind_shortfall(dynamics) is None
