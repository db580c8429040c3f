"""no_signal is only claimed when the model fitted its training set and val stayed at chance."""

from fixtures.diagnosis import diagnose_dynamics, memorised_noise_run, noisy_labels_run, unmoved_run


def test_train_memorised_while_val_stays_at_chance_is_no_signal():
    diagnosis = diagnose_dynamics(memorised_noise_run())
    assert diagnosis.causes[0] == "no_signal", diagnosis.to_text()
    verdict = diagnosis.verdict("no_signal")
    assert verdict.evidence["train_fitted"] is True
    assert "fitted its training set" in verdict.summary


def test_a_model_that_never_moved_cannot_claim_no_signal():
    diagnosis = diagnose_dynamics(unmoved_run())
    verdict = diagnosis.verdict("no_signal")
    assert verdict.confidence <= 0.2 and "cannot tell" in verdict.summary
    assert diagnosis.causes[0] == "underfitting", diagnosis.to_text()
    underfitting = diagnosis.verdict("underfitting")
    assert underfitting.evidence["no_fit"] and "did not fit even its training set" in underfitting.summary
    assert {"larger_hidden", "permuted_control"} <= {remedy.name for remedy in underfitting.remedies}


def test_a_learnable_task_is_not_no_signal():
    dynamics, _ = noisy_labels_run()
    assert "no_signal" not in diagnose_dynamics(dynamics).causes


def test_a_held_back_model_that_fitted_little_cannot_show_the_labels_carry_no_signal():
    from fixtures.diagnosis import barely_moved_run
    dynamics = barely_moved_run()
    free = diagnose_dynamics(dynamics)
    assert free.verdict("no_signal").confidence >= 0.5, free.to_text()
    held = diagnose_dynamics(dynamics, config={"optimizer": {"name": "adamw", "lr": 0.005, "weight_decay": 10.0}})
    verdict = held.verdict("no_signal")
    assert verdict.confidence < 0.5 and "held back" in verdict.summary, held.to_text()
    assert verdict.evidence["held_back_by"].startswith("weight decay 10")
