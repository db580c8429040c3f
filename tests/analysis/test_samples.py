"""Per-sample dynamics (data maps, forgetting, AUM, learned epoch), on hand-made training runs."""

import dataclasses
import json
import math

import numpy as np
import pytest
from fixtures.dynamics import binary_dynamics, dynamics_from_logits

from lossgap.analysis.samples import NEVER_LEARNED, sample_dynamics
from lossgap.analysis.suspects import label_noise_evidence, suspected_mislabeled
from lossgap.errors import ConfigError, DataError


def test_known_answers_for_one_sample():
    true_prob = np.array([0.3, 0.8, 0.9, 0.4, 0.7, 0.95])[:, None]
    result = sample_dynamics(binary_dynamics(true_prob, split="train"), class_onset=0)
    assert result.forgetting_events[0] == 1
    assert result.learned_epoch[0] == 5
    assert result.correctness[0] == pytest.approx(4 / 6)
    assert result.confidence[0] == pytest.approx(true_prob.mean())
    assert result.variability[0] == pytest.approx(true_prob.std(), rel=1e-5)
    assert result.aum[0] == pytest.approx(np.mean(np.log(true_prob) - np.log1p(-true_prob)), rel=1e-5)
    assert result.seen_epochs[0] == 6


def with_unseen(dynamics, unseen):
    """The same dynamics with entries where ``unseen`` (E, N) marked unseen, as the recorder stores them."""
    predicted, log_prob = dynamics.predicted.copy(), dynamics.true_log_prob.copy()
    max_prob, margin = dynamics.max_prob.copy(), dynamics.margin.copy()
    predicted[unseen], log_prob[unseen], max_prob[unseen], margin[unseen] = -1, np.nan, np.nan, np.nan
    return dataclasses.replace(dynamics, predicted=predicted, true_log_prob=log_prob, max_prob=max_prob,
                               margin=margin, logits=None)


@pytest.mark.parametrize(("pattern", "forgetting", "learned"), [
    ("C.WC", 1, 4),   # correct -> wrong across an unseen epoch is a forgetting event
    ("C.C", 0, 1),
    ("WC.", 0, 2),    # learned at its last seen epoch
    ("CW.", 1, NEVER_LEARNED),
    (".WC", 0, 3),
    ("...", 0, NEVER_LEARNED),
    ("CWCWC", 2, 5),
])
def test_unseen_epochs_are_skipped(pattern, forgetting, learned):
    true_prob = np.array([[0.8 if step == "C" else 0.2] for step in pattern])
    unseen = np.array([[step == "."] for step in pattern])
    result = sample_dynamics(with_unseen(binary_dynamics(true_prob, split="train"), unseen))
    assert result.forgetting_events[0] == forgetting
    assert result.learned_epoch[0] == learned
    assert result.seen_epochs[0] == pattern.count("C") + pattern.count("W")


def test_a_never_seen_sample_has_nan_statistics_and_is_never_suspect():
    dynamics = with_unseen(binary_dynamics(np.full((3, 2), 0.2), split="train"), np.array([[True, False]] * 3))
    result = sample_dynamics(dynamics)
    assert math.isnan(result.confidence[0]) and math.isnan(result.aum[0]) and math.isnan(result.correctness[0])
    assert result.learned_epoch[0] == NEVER_LEARNED and result.forgetting_events[0] == 0
    assert 0 not in suspected_mislabeled(result).indices


def reference_class_start(dynamics, burn_in, onset):
    """0-based first epoch (whole run) from which each class's AUM counts, by a loop over the definition."""
    seen, correct = dynamics.seen, dynamics.correct
    starts = []
    for label in range(dynamics.num_classes):
        members = dynamics.labels == label
        shares = [correct[epoch, members & seen[epoch]].sum() / max((members & seen[epoch]).sum(), 1)
                  for epoch in range(burn_in, dynamics.num_epochs)]
        peak = max(shares)
        start = burn_in
        if peak > 0:
            start = burn_in + next(index for index, share in enumerate(shares) if share >= onset * peak)
        starts.append(start)
    # Nor before the split's balanced accuracy is onset x its peak lift above chance.
    present = [label for label in range(dynamics.num_classes)
               if (seen[burn_in:] & (dynamics.labels == label)[None, :]).any()]
    lifts = []
    for epoch in range(burn_in, dynamics.num_epochs):
        shares = [correct[epoch, (dynamics.labels == label) & seen[epoch]].sum()
                  / max(((dynamics.labels == label) & seen[epoch]).sum(), 1) for label in present]
        lifts.append(np.mean(shares) - 1 / len(present))
    if onset > 0 and max(lifts) > 0:
        split_start = burn_in + next(index for index, lift in enumerate(lifts) if lift >= onset * max(lifts))
        starts = [max(start, split_start) for start in starts]
    return np.array(starts)


def reference_statistics(dynamics, burn_in, onset=0.0):
    """Per-sample loop over the definitions, to check the vectorised code against."""
    seen, correct = dynamics.seen, dynamics.correct
    class_start = reference_class_start(dynamics, burn_in, onset)
    out = {"forgetting": [], "learned": [], "aum": [], "confidence": [], "correctness": [], "rival": [],
           "class_start": class_start + 1}
    for i in range(dynamics.num_samples):
        window = np.flatnonzero(seen[burn_in:, i]) + burn_in
        states = correct[window, i]
        out["forgetting"].append(int(np.sum(states[:-1] & ~states[1:])))
        margin_window = window[window >= class_start[dynamics.labels[i]]]
        out["aum"].append(dynamics.margin[margin_window, i].astype(np.float64).mean() if margin_window.size
                          else np.nan)
        out["confidence"].append(np.exp(dynamics.true_log_prob[window, i].astype(np.float64)).mean()
                                 if window.size else np.nan)
        out["correctness"].append(states.mean() if window.size else np.nan)
        wrong_predictions = dynamics.predicted[margin_window, i][~correct[margin_window, i]].astype(int)
        out["rival"].append(int(np.argmax(np.bincount(wrong_predictions))) if wrong_predictions.size else -1)
        all_seen = np.flatnonzero(seen[:, i])
        learned = NEVER_LEARNED
        for position in range(all_seen.size):
            if correct[all_seen[position:], i].all():
                learned = int(all_seen[position]) + 1
                break
        out["learned"].append(learned)
    return out


@pytest.mark.parametrize("burn_in", [0, 3])
@pytest.mark.parametrize("onset", [0.0, 0.5, 0.9])
def test_vectorised_statistics_match_a_per_sample_reference(burn_in, onset):
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(8, 60, 3)) + np.linspace(-1, 2, 8)[:, None, None] * np.eye(3)[rng.integers(0, 3, 60)]
    dynamics = dynamics_from_logits(logits, rng.integers(0, 3, 60), split="train")
    dynamics = with_unseen(dynamics, rng.random((8, 60)) < 0.25)
    result = sample_dynamics(dynamics, burn_in=burn_in, class_onset=onset)
    expected = reference_statistics(dynamics, burn_in, onset)
    np.testing.assert_array_equal(result.class_start_epoch, expected["class_start"])
    if onset == 0.9:
        assert result.class_start_epoch.max() > burn_in + 1  # the onset is exercised, not only the default
    np.testing.assert_array_equal(result.forgetting_events, expected["forgetting"])
    np.testing.assert_array_equal(result.learned_epoch, expected["learned"])
    np.testing.assert_allclose(result.aum, expected["aum"], rtol=1e-5)
    np.testing.assert_allclose(result.confidence, expected["confidence"], rtol=1e-5)
    np.testing.assert_allclose(result.correctness, expected["correctness"])
    np.testing.assert_array_equal(result.rival_class, expected["rival"])
    assert result.burn_in == burn_in


def test_burn_in_leaves_out_early_epochs_but_not_from_learned_epoch():
    true_prob = np.array([0.2, 0.6, 0.9, 0.9])[:, None]
    result = sample_dynamics(binary_dynamics(true_prob, split="train"), burn_in=2)
    assert result.confidence[0] == pytest.approx(0.9, rel=1e-5)
    assert result.correctness[0] == 1.0 and result.seen_epochs[0] == 2
    assert result.learned_epoch[0] == 2
    for bad in (-1, 4, 1.5):
        with pytest.raises(ConfigError):
            sample_dynamics(binary_dynamics(true_prob, split="train"), burn_in=bad)


def test_until_epoch_stops_the_window_but_not_learned_epoch():
    true_prob = np.array([0.9, 0.9, 0.2, 0.8])[:, None]
    result = sample_dynamics(binary_dynamics(true_prob, split="train"), burn_in=1, until_epoch=3)
    assert result.confidence[0] == pytest.approx((0.9 + 0.2) / 2, rel=1e-5)
    assert result.forgetting_events[0] == 1 and result.seen_epochs[0] == 2
    assert result.learned_epoch[0] == 4 and result.until_epoch == 3
    for bad in (0, 5):
        with pytest.raises(ConfigError):
            sample_dynamics(binary_dynamics(true_prob, split="train"), until_epoch=bad)
    with pytest.raises(ConfigError):
        sample_dynamics(binary_dynamics(true_prob, split="train"), burn_in=2, until_epoch=2)


def test_one_epoch_and_argmax_ties():
    # Sample 0: tie, label 0 -> predicted 0, correct. Sample 1: tie, label 1 -> wrong with margin 0.
    result = sample_dynamics(dynamics_from_logits(np.zeros((1, 2, 2)), [0, 1], split="train"))
    np.testing.assert_array_equal(result.learned_epoch, [1, NEVER_LEARNED])
    np.testing.assert_array_equal(result.forgetting_events, [0, 0])
    np.testing.assert_allclose(result.variability, [0, 0])
    np.testing.assert_allclose(result.aum, [0, 0])
    assert len(suspected_mislabeled(result).indices) == 0  # a tie is not disagreement


def test_no_epochs_is_a_data_error():
    with pytest.raises(DataError):
        sample_dynamics(dynamics_from_logits(np.zeros((0, 2, 2)), [0, 1], split="train"))


def test_results_are_json_ready():
    dynamics = with_unseen(binary_dynamics(np.full((2, 3), 0.3), split="train"), np.array([[1, 0, 0]] * 2, bool))
    statistics = sample_dynamics(dynamics)
    plain = statistics.to_dict()
    assert plain["aum"][0] is None and plain["num_epochs"] == 2
    suspects = suspected_mislabeled(statistics).to_dict()
    assert suspects["fraction"] == pytest.approx(1 / 3)  # capped at floor(0.5 * 3) = 1
    none_flagged = suspected_mislabeled(sample_dynamics(binary_dynamics(np.full((2, 3), 0.9), split="train")))
    assert none_flagged.to_dict()["concentration"] is None and none_flagged.to_dict()["suspect_correctness"] is None
    for value in (plain, suspects, none_flagged.to_dict(), label_noise_evidence(statistics, reference_epoch=1).to_dict()):
        json.dumps(value, allow_nan=False)


def test_rival_class_is_the_most_frequent_wrong_prediction():
    # Sample 0: predicted 2, 2, 1, 0 (label 0) -> rival 2. Sample 1: never wrong -> -1.
    # Sample 2: 1 and 2 once each (label 0) -> the lower class, 1.
    logits = np.zeros((4, 3, 3))
    for epoch, winner in enumerate([2, 2, 1, 0]):
        logits[epoch, 0, winner] = 3
    logits[:, 1, 0] = 3
    logits[0, 2, 2], logits[1, 2, 1], logits[2:, 2, 0] = 3, 3, 3
    dynamics = dynamics_from_logits(logits, [0, 0, 0], split="train")
    statistics = sample_dynamics(dynamics, class_onset=0.0)
    np.testing.assert_array_equal(statistics.rival_class, [2, -1, 1])
    assert statistics.num_classes == 3
    # Only the window counts: from epoch 2 on, sample 0 was predicted as 1 once, 2 once -> 1.
    np.testing.assert_array_equal(sample_dynamics(dynamics, burn_in=1, class_onset=0.0).rival_class, [1, -1, 1])
    # And, as for AUM, only the epochs from the class's start: class 0 reaches half its peak share right at
    # epoch 3, where sample 0 is predicted as 1 and sample 2 is right.
    by_class = sample_dynamics(dynamics)
    assert by_class.class_start_epoch[0] == 3
    np.testing.assert_array_equal(by_class.rival_class, [1, -1, -1])


def test_a_sample_flipped_into_the_class_a_fresh_network_predicts_for_everything_is_counted_from_real_learning():
    # Epochs 1-3: every sample predicted as class 0 (a fresh network's one-class guess). From epoch 4 the model
    # tells the classes apart; sample 2 is labelled 0 but looks like class 1, so it is predicted 1 from then on.
    # Class 0 is "fitted" from epoch 1 (all its samples right at once), yet nothing was learned before epoch 4:
    # counted from epoch 1, sample 2's margin averages to ~0 and it would pass as a hard, not a wrong, sample.
    epochs, labels = 8, np.array([0, 0, 0, 1, 1, 1])
    looks_like = np.array([0, 0, 1, 1, 1, 1])
    logits = np.zeros((epochs, labels.size, 2))
    logits[:3, :, 0] = 2.0
    logits[3:, np.arange(labels.size), looks_like] = 2.0
    statistics = sample_dynamics(dynamics_from_logits(logits, labels, split="train"))
    np.testing.assert_array_equal(statistics.class_start_epoch, [4, 4])
    assert statistics.aum[2] == pytest.approx(-2.0) and statistics.aum[0] == pytest.approx(2.0)
    assert 2 in suspected_mislabeled(statistics).indices
