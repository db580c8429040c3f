"""SplitDynamics' per-epoch figures count exactly the samples seen in each epoch."""

import numpy as np
import pytest
from fixtures.dynamics import dynamics_from_logits

from lossgap.dynamics import MISSING_PREDICTION, SplitDynamics


def unseen(record, epoch, samples):
    """A copy of ``record`` in which ``samples`` were not seen in ``epoch``."""
    true_log_prob, predicted = record.true_log_prob.copy(), record.predicted.copy()
    true_log_prob[epoch, samples], predicted[epoch, samples] = np.nan, MISSING_PREDICTION
    return SplitDynamics(split=record.split, sample_ids=record.sample_ids, labels=record.labels,
                         true_log_prob=true_log_prob, predicted=predicted, max_prob=record.max_prob,
                         margin=record.margin, num_classes=record.num_classes)


def test_balanced_accuracy_is_the_mean_class_recall_over_seen_samples():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    # Epoch 1 predicts everything as 0; epoch 2 is right everywhere.
    logits = np.zeros((2, 8, 3))
    logits[0, :, 0] = 1.0
    logits[1, np.arange(8), labels] = 1.0
    whole = dynamics_from_logits(logits, labels)
    assert whole.epoch_balanced_accuracy() == pytest.approx([1 / 3, 1.0])
    # Epoch 1 sees neither of class 2 and one of class 0 (a right one): only seen samples count, class 2 drops out.
    record = unseen(whole, 0, [0, 6, 7])
    assert record.epoch_balanced_accuracy()[0] == pytest.approx((1.0 + 0.0) / 2)
    assert record.epoch_accuracy()[0] == pytest.approx(3 / 5)
    # An epoch that saw no sample has no balanced accuracy.
    nothing = unseen(whole, 1, list(range(8)))
    assert np.isnan(nothing.epoch_balanced_accuracy()[1])


def test_balanced_accuracy_matches_a_per_class_loop_on_random_records():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, size=200)
    record = dynamics_from_logits(rng.normal(size=(6, 200, 5)), labels)
    for epoch in range(6):
        record = unseen(record, epoch, rng.choice(200, size=30 * epoch, replace=False))
    seen, correct = record.seen, record.correct
    expected = [np.mean([correct[epoch, seen[epoch] & (labels == cls)].mean() for cls in range(5)
                         if (seen[epoch] & (labels == cls)).any()]) for epoch in range(6)]
    assert record.epoch_balanced_accuracy() == pytest.approx(expected, abs=1e-12)


def test_a_certain_answers_loss_is_plus_zero_never_minus_zero():
    # log-probability 0.0 negated is -0.0, which had printed as "train loss fell from 0.060 to -0.000".
    from lossgap.training.epoch_summary import summarise_epoch

    split = dynamics_from_logits(np.array([[[60.0, 0.0], [0.0, 60.0]]]), np.array([0, 1]))
    assert split.true_log_prob[0, 0] == 0.0
    assert not np.signbit(split.loss).any() and not np.signbit(split.epoch_loss()).any()
    values = np.array([[0.0, 0, 1.0, 60.0], [0.0, 1, 1.0, 60.0]])
    assert not np.signbit(summarise_epoch("train", np.array([0, 1]), values).loss)
