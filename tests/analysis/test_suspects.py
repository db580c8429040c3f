"""Suspected mislabelled samples and the label-noise figures, on simulated training runs."""

import dataclasses
import math

import numpy as np
import pytest
from fixtures.dynamics import binary_dynamics, dynamics_from_logits

from lossgap.analysis.samples import sample_dynamics
from lossgap.analysis.suspects import label_noise_evidence, otsu_threshold, suspected_mislabeled
from lossgap.errors import ConfigError


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
    # Flipped samples are memorised from ~75% of training (epoch ~23 of 30); clean ones learn early. The AUM
    # window stops before that, as the diagnosis's does at the val-loss minimum (memorisation lifts the flips'
    # margins, and the split's peak accuracy, from which the window's start is read).
    statistics = sample_dynamics(dynamics, until_epoch=22)
    evidence = label_noise_evidence(statistics, reference_epoch=15)
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
    # Their ids are kept, most contradicted first, for a diagnosis that must point at some without flagging them.
    unjudged_aum = statistics.aum[np.searchsorted(statistics.sample_ids, suspects.unjudged_sample_ids)]
    assert set(suspects.unjudged_sample_ids) == set(statistics.sample_ids[true_class > 0])
    assert np.all(np.diff(unjudged_aum) >= 0)
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
    # The majority is "right" from the start only as every sample is put in it, which the predictions cannot tell
    # from fitting it: its AUM too counts from when the model begins to tell the classes apart.
    assert 11 <= statistics.class_start_epoch[0] <= 15
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
