"""confidence_refinement is an explanation, never a fault, and never read off the first epochs."""

import numpy as np
from fixtures.diagnosis import crossing_plateau_run, diagnose_dynamics, healthy_run, refinement_run
from fixtures.dynamics import binary_dynamics

from lossgap.diagnosis.verdict import REPORT_THRESHOLD


def test_accuracy_flat_while_right_samples_grow_confident_is_explained_not_faulted():
    diagnosis = diagnose_dynamics(refinement_run())
    assert diagnosis.healthy and diagnosis.headline.startswith("No problem found"), diagnosis.to_text()
    assert [verdict.cause for verdict in diagnosis.explanations] == ["confidence_refinement"]
    assert "confidence_refinement" in diagnosis.headline
    groups = {group["name"]: group for group in diagnosis.ledger["groups"]}
    # The fall comes from samples that stayed right, not from samples crossing the boundary.
    assert groups["stayed_correct"]["share"] > 0.8 and groups["became_correct"]["count"] <= 10
    assert "already right" in diagnosis.explanations[0].summary


def test_a_run_at_full_accuracy_has_nothing_to_refine():
    diagnosis = diagnose_dynamics(healthy_run())
    assert diagnosis.healthy and not diagnosis.explanations, diagnosis.to_text()


def test_a_single_epoch_outside_the_band_is_shown_not_hidden_by_stayed():
    run = refinement_run()
    prob = np.exp(run["val"].true_log_prob.astype(np.float64))
    # One epoch in the middle of the plateau loses 60 of its right answers (accuracy 0.8 -> 0.6) and gets them
    # back: the 3-epoch median does not see it, the sentence must.
    right = prob[15] > 0.5
    dropped = np.flatnonzero(right)[:60]
    prob[15, dropped] = 0.45
    run = {**run, "val": binary_dynamics(prob, np.asarray(run["val"].labels))}
    diagnosis = diagnose_dynamics(run)
    explanation = next(verdict for verdict in diagnosis.explanations + diagnosis.considered
                       if verdict.cause == "confidence_refinement")
    low = float(np.mean(prob[15] > 0.5))
    assert f"single epochs ranged {low:.3f}-" in explanation.summary, explanation.summary
    # Without the dip nothing is added.
    assert "single epochs" not in diagnose_dynamics(refinement_run()).explanations[0].summary


def test_a_rejected_refinement_says_why_it_does_not_hold():
    # A rejected explanation once read "... 0% of the fall came from 15 samples that were already right: they
    # only grew more confident", the phenomenon stated as fact at confidence 0.
    from fixtures.noise_runs import noisy_labels_run
    from fixtures.underfitting import slow_creep_run
    at_ceiling = diagnose_dynamics(noisy_labels_run()[0]).verdict("confidence_refinement")
    assert at_ceiling.confidence == 0.0 and at_ceiling.evidence["rejected_because"] == "headroom"
    assert "has no room to rise" in at_ceiling.summary and "only grew more confident" not in at_ceiling.summary
    from_the_start = diagnose_dynamics(slow_creep_run()).verdict("confidence_refinement")
    assert from_the_start.confidence == 0.0 and from_the_start.evidence["rejected_because"] == "early"
    assert from_the_start.summary.endswith("starts at the first epoch, where a fresh network is learning, not refining")
    found = diagnose_dynamics(refinement_run()).verdict("confidence_refinement")
    assert "rejected_because" not in found.evidence and found.summary.endswith("they only grew more confident")


def test_right_answers_growing_surer_are_not_the_story_when_crossings_lowered_the_loss_more():
    # A ledger that read "149% came from samples that changed from wrong to right" had been explained as "they only
    # grew more confident", because the already-right samples' fall exceeded the net fall.
    crossing = diagnose_dynamics(crossing_plateau_run(crossing=30))
    verdict = crossing.verdict("confidence_refinement")
    assert verdict.evidence["ledger"]["groups"][0]["share"] > 0.8  # most of the net fall, on its own
    assert verdict.evidence["refined_share"] < 0.5 and verdict.evidence["rejected_because"] == "refined"
    assert verdict.confidence < REPORT_THRESHOLD and "confidence_refinement" not in {
        v.cause for v in crossing.explanations}
    still = diagnose_dynamics(crossing_plateau_run(crossing=0)).verdict("confidence_refinement")
    assert still.evidence["refined_share"] == 1.0 and still.confidence >= 0.8


def test_a_fall_carried_by_wrong_samples_moving_closer_names_them_not_only_the_right_ones():
    # A random-label ArrowHead run had read "0% of the fall came from 23 samples that were already right: they
    # only grew more confident", the whole fall from wrong samples moving toward their class without crossing.
    epochs, n = 30, 300
    labels = np.arange(n) % 2
    axis = np.arange(epochs)[:, None]
    wrong = np.arange(n) % 5 < 2                       # 40% of val stay wrong, 60% stay right at 0.8
    prob = np.where(wrong[None, :], 0.3 + axis / (epochs - 1) * 0.18, 0.8 + 0 * axis)
    train = binary_dynamics(np.full((epochs, n), 0.95), labels, split="train")
    diagnosis = diagnose_dynamics({"train": train, "val": binary_dynamics(prob, labels)})
    verdict = diagnosis.verdict("confidence_refinement")
    assert "0% of the fall came from 180 samples that were already right, and 100% from 120 wrong ones moving " \
        "toward their true class without crossing over" in verdict.summary, diagnosis.to_text()
    assert "stayed at 0.600 on average" in verdict.summary
    assert "they only grew more confident" not in verdict.summary


def test_a_later_best_epoch_whose_accuracy_stays_in_the_plateaus_band_is_more_refinement_not_a_stall():
    # An LSTM on a task with 30% unknowable labels: val accuracy 0.713 over epochs 19-40 and 0.728 at its loss-best
    # epoch 50, had its refinement rejected as "the run learned more after it: a stall on the way".
    from dataclasses import replace

    from lossgap.diagnosis.causes.confidence_refinement import rule
    from lossgap.diagnosis.evidence import gather_evidence
    from lossgap.diagnosis.remedies import RemedyBook

    evidence = gather_evidence({}, refinement_run(), train_config=None)
    plateau = evidence.main_plateau
    assert plateau.end_epoch == 30
    ended_earlier = replace(evidence, main_plateau=replace(plateau, end_epoch=20), judged_epoch=30)
    same_level = rule(ended_earlier, RemedyBook(None))
    assert same_level.confidence >= REPORT_THRESHOLD and "rejected_because" not in same_level.evidence
    # A best epoch that really is more accurate than the plateau is a stall on the way.
    accuracy = evidence.curves.val_accuracy.copy()
    accuracy[-1] = plateau.accuracy_mean + 3 * plateau.accuracy_noise
    learned_more = replace(ended_earlier, curves=replace(evidence.curves, val_accuracy=accuracy))
    stalled = rule(learned_more, RemedyBook(None))
    assert stalled.confidence == 0.0 and stalled.evidence["rejected_because"] == "early"
    assert "a stall on the way" in stalled.summary


def test_a_model_far_from_fitting_that_is_still_learning_its_training_set_is_not_refining():
    # Trial 33: a plain LSTM on PickupGestureWiimoteZ, train accuracy 0.33 -> 0.55 over the window and its loss still
    # falling fast, val at 0.2 on 10 samples, had read refinement 0.82 with "nothing is broken" as its advice.
    epochs, n = 30, 300
    labels = np.arange(n) % 2
    axis = np.arange(epochs)[:, None]
    wrong = np.arange(n) % 5 < 2
    right = np.minimum(0.45 + 0.12 * axis, 0.8)   # learned over the first epochs, then level
    val = binary_dynamics(np.where(wrong[None, :], 0.3 + axis / (epochs - 1) * 0.18, right), labels)
    offset = np.random.default_rng(0).uniform(-0.1, 0.1, 400)[None, :]

    def refinement(train_prob):
        train = binary_dynamics(train_prob, np.arange(400) % 2, split="train")
        return diagnose_dynamics({"train": train, "val": val}).verdict("confidence_refinement")

    # Unsure answers, a quarter of train wrong at the end, train accuracy 0.25 -> 0.75 over the window: learning.
    learning = refinement(0.45 + offset + 0.1 * axis / (epochs - 1))
    assert learning.confidence == 0.0 and learning.evidence["rejected_because"] == "learning_train"
    assert "it is still learning, not refining" in learning.summary
    # The same unsure model at its ceiling, train accuracy level: its val loss falling is refinement (by this rule; the
    # engine weighs it against the val loss still falling, which more epochs would lower).
    ceiling = refinement(0.55 + offset + 0 * axis)
    assert "rejected_because" not in ceiling.evidence and "did not change class" in ceiling.summary, ceiling.summary
