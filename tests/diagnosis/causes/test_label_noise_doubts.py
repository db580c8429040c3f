"""label_noise's doubts: a pair of classes learned late, val unlike train (the latter tested in test_split_checks)."""

from fixtures.diagnosis import diagnose_dynamics, lumped_pair_run

from lossgap.diagnosis.causes.label_noise_doubts import LEARNED_LATE_CAP


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
