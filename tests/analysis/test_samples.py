"""Per-sample dynamics and suspected mislabelled samples, on hand-made and simulated training runs."""

import dataclasses
import json
import math

import numpy as np
import pytest
from fixtures.dynamics import binary_dynamics, dynamics_from_logits

from lossgap.analysis.samples import (
    NEVER_LEARNED,
    label_noise_evidence,
    otsu_threshold,
    sample_dynamics,
    suspected_mislabeled,
)
from lossgap.errors import ConfigError, DataError


def simulated_run(n=1_500, epochs=30, flipped_share=0.0, hard_share=0.0, classes=3, seed=0):
    """A training run of a learnable 3-class task, as logits per epoch.

    Clean samples: the given (= true) class's logit rises from 0 at a per-sample speed, so the margin goes
    from ~0 to large positive. Flipped samples: the network learns their *true* class like any other
    sample, so the margin of the given (wrong) label grows ever more negative, until from 60% of training on
    the label's logit is memorised and overtakes (late learning). Hard samples (correct labels): the margin
    stays slightly negative for the first 40% of training, then rises and turns positive half-way through.
    Returns (dynamics, flipped mask, hard mask).
    """
    rng = np.random.default_rng(seed)
    true_class = rng.integers(0, classes, n)
    flipped = rng.random(n) < flipped_share
    hard = ~flipped & (rng.random(n) < hard_share)
    labels = np.where(flipped, (true_class + rng.integers(1, classes, n)) % classes, true_class)
    progress = (np.arange(1, epochs + 1) / epochs)[:, None]  # (E, 1) in (0, 1]
    speed = rng.uniform(0.7, 1.5, n)[None, :]
    rows = np.arange(n)

    logits = rng.normal(scale=0.3, size=(epochs, n, classes))
    hard_logit = -0.6 + 6 * np.clip(progress - 0.4, 0, None)  # trails until 40%, wins from ~50% of training
    logits[:, rows, true_class] += np.where(hard, hard_logit, 5 * speed * progress)
    memorised = np.clip(progress - 0.6, 0, None) * 25
    logits[:, rows, labels] += np.where(flipped, memorised, 0.0)
    return dynamics_from_logits(logits, labels, split="train", sample_ids=rows + 1000), flipped, hard


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
        wrong_predictions = dynamics.predicted[window, i][~states].astype(int)
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


def flagged_precision_and_recall(suspects, flipped):
    flagged = np.zeros(flipped.size, bool)
    flagged[suspects.indices] = True
    return (flagged & flipped).sum() / max(flagged.sum(), 1), (flagged & flipped).sum() / flipped.sum()


def test_flipped_labels_rank_among_the_suspects():
    dynamics, flipped, _ = simulated_run(flipped_share=0.3, seed=1)
    suspects = suspected_mislabeled(sample_dynamics(dynamics))
    precision, recall = flagged_precision_and_recall(suspects, flipped)
    # Over all epochs the memorised margins lift some flipped samples' AUM above 0: recall suffers a little.
    assert precision > 0.9 and recall > 0.75
    assert not suspects.capped and suspects.threshold <= 0
    np.testing.assert_array_equal(suspects.sample_ids, suspects.indices + 1000)
    assert np.all(np.diff(suspects.scores) <= 0)  # most suspect first


def test_stopping_aum_before_memorisation_finds_every_flipped_label():
    dynamics, flipped, _ = simulated_run(flipped_share=0.3, seed=1)
    everything = suspected_mislabeled(sample_dynamics(dynamics))
    before_memorisation = suspected_mislabeled(sample_dynamics(dynamics, until_epoch=18))  # 60% of 30 epochs
    precision, recall = flagged_precision_and_recall(before_memorisation, flipped)
    assert precision > 0.9 and recall > 0.95
    assert recall > flagged_precision_and_recall(everything, flipped)[1]


def test_hard_but_correct_samples_rank_below_flipped_ones():
    dynamics, flipped, hard = simulated_run(flipped_share=0.2, hard_share=0.1, seed=2)
    # Measured before memorisation, hard samples have negative AUM too, so they are among the suspects ...
    statistics = sample_dynamics(dynamics, until_epoch=18)
    assert np.all(statistics.aum[hard] < 0)
    suspects = suspected_mislabeled(statistics)
    rank = np.full(flipped.size, len(suspects.indices))  # not flagged = after every suspect
    rank[suspects.indices] = np.arange(len(suspects.indices))
    # ... but the model disagreed with them by less than with the flipped ones: they rank below.
    assert np.quantile(rank[flipped], 0.95) < rank[hard].min()
    assert np.median(statistics.learned_epoch[hard]) < np.median(statistics.learned_epoch[flipped])
    # Over the whole run their margin ends positive enough that they are not flagged at all.
    hard_flagged = np.isin(np.flatnonzero(hard), suspected_mislabeled(sample_dynamics(dynamics)).indices)
    assert hard_flagged.sum() == 0


def test_clean_well_learned_data_has_few_or_no_suspects():
    dynamics, _, _ = simulated_run(seed=3)
    suspects = suspected_mislabeled(sample_dynamics(dynamics))
    assert suspects.fraction < 0.01
    assert not suspects.capped


def test_when_the_model_disagrees_with_most_labels_the_suspects_are_capped():
    true_prob = np.full((5, 10), 0.1)  # every sample wrong in every epoch
    suspects = suspected_mislabeled(sample_dynamics(binary_dynamics(true_prob, split="train")), max_fraction=0.3)
    assert len(suspects.indices) == 3 and suspects.capped
    all_right = sample_dynamics(binary_dynamics(np.full((5, 10), 0.9), split="train"))
    assert len(suspected_mislabeled(all_right).indices) == 0
    with pytest.raises(ConfigError):
        suspected_mislabeled(all_right, max_fraction=0)


def test_the_cut_moves_below_zero_when_clean_samples_straddle_it_and_flipped_ones_sit_far_below():
    statistics = sample_dynamics(binary_dynamics(np.full((2, 100), 0.6), split="train"))
    rng = np.random.default_rng(5)
    aum = np.concatenate([np.full(30, -4.0) + rng.normal(0, 0.2, 30), rng.uniform(-0.3, 1.5, 70)])
    suspects = suspected_mislabeled(dataclasses.replace(statistics, aum=aum))
    assert -4 < suspects.threshold < -0.3
    np.testing.assert_array_equal(np.sort(suspects.indices), np.arange(30))


def test_otsu_threshold_splits_two_clusters():
    values = np.concatenate([np.full(30, -2.0), np.full(70, 3.0)])
    assert otsu_threshold(values) == pytest.approx(0.5)
    assert math.isnan(otsu_threshold(np.ones(5)))
    assert math.isnan(otsu_threshold(np.array([1.0])))


def test_label_noise_evidence_shows_late_learning_of_the_suspects():
    dynamics, flipped, _ = simulated_run(flipped_share=0.3, seed=4)
    statistics = sample_dynamics(dynamics)
    evidence = label_noise_evidence(statistics, reference_epoch=15)
    # Flipped samples are memorised from ~75% of training (epoch ~23 of 30); clean ones learn early.
    assert evidence.fraction_learned_after_reference == pytest.approx(flipped.mean(), abs=0.05)
    assert evidence.suspects_learned_after_reference > 0.9
    assert evidence.suspects_never_learned < 0.1  # memorised, not out of reach
    assert evidence.fraction_negative_aum == pytest.approx(flipped.mean(), abs=0.05)
    assert evidence.suspect_fraction == pytest.approx(flipped.mean(), abs=0.05)
    without_reference = label_noise_evidence(statistics)
    assert without_reference.fraction_learned_after_reference is None
    assert without_reference.suspects_learned_after_reference is None
    with pytest.raises(ConfigError):
        label_noise_evidence(statistics, reference_epoch=31)


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


def imbalanced_run(counts, epochs=20, unfit=(), flips=(), seed=0, late=()):
    """A run of a learnable task with classes of ``counts`` samples, as logits per epoch.

    Fitted classes: the true class's logit rises from 0 to ~5. Classes in ``unfit`` are ones the model leans
    away from (a rare class, or one a too-small model cannot represent): the largest class's logit stays
    ahead of theirs throughout. Classes in ``late`` are learned only from half-way through training, and
    more slowly (rare classes taken up after the majority, stopped at the val-loss minimum soon after):
    until then the largest class's logit leads. ``flips`` is a list of (true class, given label, count): samples of the
    true class whose label says otherwise; the model learns their true class like any other sample.
    Returns (dynamics, flipped mask, true classes).
    """
    rng = np.random.default_rng(seed)
    true_class = np.repeat(np.arange(len(counts)), counts)
    labels = true_class.copy()
    for source, target, count in flips:
        chosen = rng.choice(np.flatnonzero((true_class == source) & (labels == source)), count, replace=False)
        labels[chosen] = target
    progress = (np.arange(1, epochs + 1) / epochs)[:, None]
    rows = np.arange(true_class.size)
    logits = rng.normal(scale=0.3, size=(epochs, true_class.size, len(counts)))
    own = np.where(np.isin(true_class, unfit), 0.5 * progress, 5 * rng.uniform(0.7, 1.5, true_class.size) * progress)
    late_rise = 2.5 * rng.uniform(0.7, 1.5, true_class.size) * np.clip(progress - 0.5, 0, None) / 0.5
    own = np.where(np.isin(true_class, late), late_rise, own)
    logits[:, rows, true_class] += own
    majority = int(np.argmax(counts))
    logits[:, rows, majority] += np.where(np.isin(true_class, unfit), 1.0 + 2 * progress, 0.0)
    logits[:, rows, majority] += np.where(np.isin(true_class, late) & (progress <= 0.5), 2.0, 0.0)
    return dynamics_from_logits(logits, labels, split="train"), labels != true_class, true_class


def test_a_rare_class_the_model_under_predicts_is_not_flagged():
    dynamics, _, true_class = imbalanced_run((900, 50, 50), unfit=(1, 2))
    statistics = sample_dynamics(dynamics)
    assert np.all(statistics.aum[true_class > 0] < 0)  # every rare sample is contradicted ...
    suspects = suspected_mislabeled(statistics)
    assert len(suspects.indices) == 0  # ... yet their labels are right: the model just leans to class 0
    np.testing.assert_array_equal(suspects.unjudged_classes, [1, 2])
    assert suspects.unjudged_contradicted == 100
    np.testing.assert_allclose(suspects.class_fit, [1.0, 0.0, 0.0])
    assert suspects.fit_fraction == pytest.approx(0.9)
    # Without the class gate (the earlier rule) every rare sample was a suspect.
    ungated = suspected_mislabeled(statistics, min_relative_class_fit=0)
    np.testing.assert_array_equal(np.sort(ungated.indices), np.flatnonzero(true_class > 0))
    with pytest.raises(ConfigError):
        suspected_mislabeled(statistics, min_relative_class_fit=1.5)


def test_flips_contradicted_by_a_model_that_fits_the_rest_of_their_class_are_flagged():
    # Classes 0 and 1 are fitted and swap 5% of their labels; the rare classes 2 and 3 are under-predicted.
    dynamics, flipped, true_class = imbalanced_run((450, 450, 50, 50), unfit=(2, 3), flips=[(0, 1, 25), (1, 0, 20)])
    suspects = suspected_mislabeled(sample_dynamics(dynamics))
    np.testing.assert_array_equal(np.sort(suspects.indices), np.flatnonzero(flipped))
    np.testing.assert_array_equal(suspects.rival_classes, true_class[suspects.indices])  # what the model says
    np.testing.assert_array_equal(suspects.class_suspects, [20, 25, 0, 0])
    np.testing.assert_array_equal(suspects.unjudged_classes, [2, 3])
    assert suspects.suspect_correctness < 0.05  # consistently contradicted
    assert suspects.concentration == pytest.approx(25 / 45)


def test_flips_into_a_rare_class_that_the_model_fits_are_flagged():
    # A rare class the model does learn is judged like any other: flips into it are found.
    dynamics, flipped, _ = imbalanced_run((900, 50, 50), flips=[(0, 1, 10), (0, 2, 10)])
    suspects = suspected_mislabeled(sample_dynamics(dynamics))
    np.testing.assert_array_equal(np.sort(suspects.indices), np.flatnonzero(flipped))
    assert len(suspects.unjudged_classes) == 0
    assert suspects.class_fit[1] == pytest.approx(50 / 60)


def test_classes_learned_late_count_their_margin_from_when_they_were_learned():
    # The majority is fitted from the start, the rare classes only from half-way (10 of 20 epochs spent
    # predicting class 0 for them); flips from the majority into the rare classes.
    flips = [(0, 1, 20), (0, 2, 20)]
    dynamics, flipped, _ = imbalanced_run((800, 100, 100), late=(1, 2), flips=flips)
    statistics = sample_dynamics(dynamics)
    assert statistics.class_start_epoch[0] == 1
    assert 11 <= statistics.class_start_epoch[1] <= 15 and 11 <= statistics.class_start_epoch[2] <= 15
    suspects = suspected_mislabeled(statistics)
    flagged = np.zeros(flipped.size, bool)
    flagged[suspects.indices] = True
    assert (flagged & flipped).sum() >= 0.95 * flipped.sum()
    assert (flagged & ~flipped).sum() <= 5
    # Counted from epoch 1, the clean rare samples' early epochs of contradiction pull their AUM below 0:
    # either they are flagged, or their classes look unfitted and the flips into them go unfound.
    from_start = suspected_mislabeled(sample_dynamics(dynamics, class_onset=0))
    missed_or_false = np.setxor1d(from_start.indices, np.flatnonzero(flipped)).size
    assert missed_or_false >= 40
    np.testing.assert_array_equal(from_start.unjudged_classes, [1, 2])  # here: every flip goes unfound
    with pytest.raises(ConfigError):
        sample_dynamics(dynamics, class_onset=1.5)


def test_a_model_that_fits_few_classes_shows_it_in_the_suspects():
    # A model far too small: it represents 2 of 6 classes; the others are all contradicted.
    dynamics, _, _ = imbalanced_run((100,) * 6, unfit=(2, 3, 4, 5))
    suspects = suspected_mislabeled(sample_dynamics(dynamics))
    assert len(suspects.indices) == 0 and not suspects.capped
    assert suspects.fit_fraction == pytest.approx(1 / 3)
    np.testing.assert_array_equal(suspects.unjudged_classes, [2, 3, 4, 5])
    assert suspects.unjudged_contradicted == 400
    # With the gate off the contradicted samples are suspects, and none is ever learned: out of the model's reach.
    evidence = label_noise_evidence(sample_dynamics(dynamics), reference_epoch=10,
                                    suspects=suspected_mislabeled(sample_dynamics(dynamics), min_relative_class_fit=0))
    assert evidence.suspects_never_learned == 1.0 and evidence.suspects_learned_after_reference == 0.0


def test_samples_that_flip_with_the_weights_are_told_apart_by_correctness_and_forgetting():
    # 20 consistently contradicted samples (wrong every epoch) and, in another run, 20 that are wrong in
    # 6 of 10 epochs, alternating as unstable weights make them; 80 easy samples in both.
    consistent = np.concatenate([np.full((10, 20), 0.2), np.full((10, 80), 0.9)], axis=1)
    jumping = consistent.copy()
    jumping[[0, 2, 4, 6], :20] = 0.6
    for true_prob, correctness, forgetting in ((consistent, 0.0, 0.0), (jumping, 0.4, 4.0)):
        suspects = suspected_mislabeled(sample_dynamics(binary_dynamics(true_prob, split="train")))
        np.testing.assert_array_equal(np.sort(suspects.indices), np.arange(20))
        assert suspects.suspect_correctness == pytest.approx(correctness)
        assert suspects.suspect_forgetting == pytest.approx(forgetting)


def test_rival_class_is_the_most_frequent_wrong_prediction():
    # Sample 0: predicted 2, 2, 1, 0 (label 0) -> rival 2. Sample 1: never wrong -> -1.
    # Sample 2: 1 and 2 once each (label 0) -> the lower class, 1.
    logits = np.zeros((4, 3, 3))
    for epoch, winner in enumerate([2, 2, 1, 0]):
        logits[epoch, 0, winner] = 3
    logits[:, 1, 0] = 3
    logits[0, 2, 2], logits[1, 2, 1], logits[2:, 2, 0] = 3, 3, 3
    statistics = sample_dynamics(dynamics_from_logits(logits, [0, 0, 0], split="train"))
    np.testing.assert_array_equal(statistics.rival_class, [2, -1, 1])
    assert statistics.num_classes == 3
    # Only the window counts: from epoch 2 on, sample 0 was predicted as 1 once, 2 once -> 1.
    np.testing.assert_array_equal(sample_dynamics(dynamics_from_logits(logits, [0, 0, 0], split="train"),
                                                  burn_in=1).rival_class, [1, -1, 1])
