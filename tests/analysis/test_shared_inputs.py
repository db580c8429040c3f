"""Val accuracy with and without the val samples that copy training inputs."""

import numpy as np
from fixtures.dynamics import dynamics_from_logits

from lossgap.analysis.shared_inputs import copied_val_samples


def _val(right):
    """Two classes, two epochs; sample i right at both epochs where right[i]."""
    right = np.asarray(right, dtype=bool)
    labels = np.arange(right.size) % 2
    predicted = np.where(right, labels, 1 - labels)
    logits = np.zeros((2, right.size, 2))
    logits[:, np.arange(right.size), predicted] = 4.0
    return dynamics_from_logits(logits, labels, sample_ids=np.arange(100, 100 + right.size))


def test_copies_answered_from_memory_and_the_rest_at_chance_are_told_apart():
    rng = np.random.default_rng(0)
    right = np.concatenate([np.ones(60, dtype=bool), rng.random(60) < 0.5])
    copied = copied_val_samples(_val(right), range(100, 160), 60, epoch=2, train_class_counts=np.array([50, 50]))
    assert copied.num_val == 120 and copied.copies == 60 and copied.same_label == 60 and copied.epoch == 2
    assert copied.copies_accuracy == 1.0
    assert copied.accuracy == right.mean()
    assert copied.fresh.num_samples == 60 and copied.fresh.accuracy == right[60:].mean()
    assert not copied.fresh.significant and copied.warns


def test_ids_read_back_as_text_match_and_unknown_ids_give_none():
    val = _val(np.ones(40, dtype=bool))
    copied = copied_val_samples(val, ["100", "101"], 2, epoch=1, train_class_counts=np.array([20, 20]))
    assert copied.copies == 2 and not copied.warns  # 2 of 40: a note, no warning
    assert copied.fresh.significant
    assert copied_val_samples(val, [7, 8], 2, epoch=1, train_class_counts=np.array([20, 20])) is None
    assert copied_val_samples(val, [], 0, epoch=1, train_class_counts=np.array([20, 20])) is None


def test_a_val_split_made_only_of_copies_has_no_fresh_test():
    copied = copied_val_samples(_val(np.ones(10, dtype=bool)), range(100, 110), 10, epoch=1,
                                train_class_counts=np.array([5, 5]))
    assert copied.fresh is None and copied.copies == 10
