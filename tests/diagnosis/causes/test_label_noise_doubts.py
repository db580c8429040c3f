"""label_noise's doubts: a pair of classes learned late, val unlike train (the latter tested in test_split_checks)."""

from fixtures.diagnosis import contradicted_in_both_run, diagnose_dynamics, lumped_pair_run

from lossgap.diagnosis.causes.label_noise_doubts import LEARNED_LATE_CAP, SHORT_RUN_CAP, undecided_words


def test_a_pair_of_classes_the_model_lumped_together_and_later_told_apart_is_not_label_noise():
    # Trial 15's own loops on clean labels (one pair of four classes told apart at epoch 25 of 30) read label noise 0.50
    # "check ... relabel" first, and trial 12's class drawn near another 0.65-0.67: "predicted as another class for most
    # of training" had counted the epochs before the model learned the pair at all.
    diagnosis = diagnose_dynamics(lumped_pair_run())
    verdict = diagnosis.verdict("label_noise")
    late = verdict.evidence["pair_learned_late"]
    assert verdict.confidence == LEARNED_LATE_CAP and late["train_left"] == 0.0 and late["val_left"] == 0.0
    assert "a pair of classes learned late, not labels the model contradicts" in verdict.summary
    assert "label_noise" not in diagnosis.causes and diagnosis.headline.startswith("No problem found"), diagnosis.to_text()
    # Moved labels stay confused on a split they are in: the same pair never told apart is a finding.
    moved = diagnose_dynamics(lumped_pair_run(resolved=False))
    assert moved.causes[:1] == ["label_noise"] and "pair_learned_late" not in moved.verdict("label_noise").evidence


def test_suspects_below_a_finding_are_called_undecided_with_the_reason_that_held_them_back():
    # The dynamics cannot tell these samples' labels from hard samples: the sentence says so and why, rather than
    # calling them hard samples (trial 23: suspects 11 of 11 and 16 of 17 flipped labels had read "hard samples").
    few = undecided_words(1, 0.01, 1.2, too_few=True, memorised_late=0.0)
    assert "too few to tell wrong labels from a few hard samples" in few and "memorised" not in few
    shallow = undecided_words(11, 0.05, 0.49, too_few=False, memorised_late=0.91)
    assert "margin against their labels was 0.49 of its margin" in shallow
    assert "cannot tell wrong labels from hard samples" in shallow
    assert "it memorised 91% of them after the val-loss minimum" in shallow
    not_against = undecided_words(28, 0.13, -0.23, too_few=False, memorised_late=0.2)
    assert "not against them on balance" in not_against and "memorised" not in not_against
    assert "hard samples rather than" not in shallow + few + not_against


def test_suspects_of_a_run_of_a_few_planned_epochs_are_judged_again_after_training_longer():
    # Trial 23's sum-sign task stopped at epoch 8, no label flipped, read label noise 0.60 once a single accuracy drop
    # no longer counted as jumping weights: "contradicted for most of training" is 5 of 8 epochs there.
    def label_noise(epochs, early_stopping=None):
        config = {"optimizer": {"name": "adam", "lr": 0.003}, "epochs": epochs,
                  **({"early_stopping": {"patience": early_stopping}} if early_stopping else {})}
        return diagnose_dynamics(contradicted_in_both_run(epochs), config=config).verdict("label_noise")

    short = label_noise(8)
    assert short.confidence == SHORT_RUN_CAP and short.evidence["short_run"]
    assert short.remedies[0].name == "more_epochs"
    assert "ended after 8 planned epochs" in short.summary
    longer = label_noise(12)
    assert longer.confidence > SHORT_RUN_CAP and "short_run" not in longer.evidence
