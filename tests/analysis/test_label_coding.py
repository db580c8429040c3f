"""Val accuracy far below what label-blind predictions get: val's labels contradict what the model learned."""

import numpy as np
from fixtures.dynamics import dynamics_from_logits

from lossgap.analysis.label_coding import label_blind_shortfall, shared_samples
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


def _split(labels, true_prob, split, ids=None):
    probability = np.asarray(true_prob, dtype=np.float64)[None, :].repeat(2, axis=0)
    logits = np.zeros((2, len(labels), 2))
    logits[:, np.arange(len(labels)), labels] = np.log(probability)
    logits[:, np.arange(len(labels)), 1 - labels] = np.log1p(-probability)
    return dynamics_from_logits(logits, labels, split=split, sample_ids=np.arange(len(labels)) if ids is None else ids)


def test_val_that_is_the_training_set_again_shares_ids_labels_and_losses():
    # An own loop whose val pass iterated the training data: the same ids, labels and (nearly) the same losses.
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 300)
    prob = rng.uniform(0.05, 0.99, 300)
    shared = shared_samples(_split(labels, prob, "train"), _split(labels, np.clip(prob + 0.01, 0, 0.995), "val"))
    assert (shared.num_val, shared.shared, shared.same_label) == (300, 300, 300) and shared.loss_correlation > 0.99
    assert shared.same_split


def test_splits_numbered_from_zero_are_not_the_same_split():
    rng = np.random.default_rng(1)
    train = _split(rng.integers(0, 2, 300), rng.uniform(0.05, 0.99, 300), "train")
    # Other samples under the same ids: labels agree on about half.
    other = shared_samples(train, _split(rng.integers(0, 2, 100), rng.uniform(0.05, 0.99, 100), "val"))
    assert other.shared == 100 and 30 < other.same_label < 70 and not other.same_split
    # Both sorted by class, so ids and labels agree, but the losses of different samples do not move together.
    labels = np.repeat([0, 1], 150)
    sorted_train = _split(labels, rng.uniform(0.05, 0.99, 300), "train")
    sorted_val = _split(np.repeat([0, 1], [150, 150]), rng.uniform(0.05, 0.99, 300), "val")
    agreeing = shared_samples(sorted_train, sorted_val)
    assert agreeing.same_label == 300 and abs(agreeing.loss_correlation) < 0.3 and not agreeing.same_split
    # Disjoint ids share nothing.
    disjoint = shared_samples(train, _split(labels, rng.uniform(0.05, 0.99, 300), "val", ids=np.arange(300) + 10**6))
    assert disjoint.shared == 0 and not disjoint.same_split
