"""underfitting's words: what recorded gradients say, and why a rejected capacity form is not the finding."""

import numpy as np

from fixtures.diagnosis import diagnose_dynamics
from fixtures.no_signal_runs import unmoved_run


def test_recorded_gradients_say_why_a_model_could_not_learn():
    from dataclasses import replace
    from types import SimpleNamespace

    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    evidence = gather_evidence({}, unmoved_run(), train_config=None)
    gradients = SimpleNamespace(silenced={}, silenced_share=0.0, ungraded=(), growing=False, stalled=False,
                                weight_names=(), vanishing=True, dead_end=0.75, saturation_end=0.1, exploding_epochs=(),
                                large_update_epochs=(), observed=np.ones(30, dtype=bool))
    diagnosis = diagnose_evidence(replace(evidence, gradients=gradients))
    summary = diagnosis.verdict("underfitting").summary
    assert "gradients reaching the first layer vanished" in summary and "75% of the recurrent units are dead" in summary


def test_a_rejected_capacity_form_names_the_factor_that_kept_it_low():
    # It had said "the model fits its training set (38% of training samples wrong) or train and val accuracy
    # part ways" whatever the reason.
    from fixtures.diagnosis import healthy_run, refinement_run
    from fixtures.noise_runs import noisy_labels_run
    from lossgap.diagnosis.causes.underfitting import _facts
    from lossgap.diagnosis.causes.underfitting_capacity import capacity_form
    from lossgap.diagnosis.remedies import RemedyBook

    def rejection(dynamics):
        evidence = diagnose_dynamics(dynamics).evidence
        verdict, _ = capacity_form(evidence, RemedyBook(None), _facts(evidence), evidence.accuracy_trend)
        assert verdict.confidence < 0.5 and " or train and val" not in verdict.summary
        return verdict.evidence["rejected_because"], verdict.summary

    reason, summary = rejection(healthy_run())
    assert reason == "fits" and summary.startswith("the model fits its training set (0% of its training samples")
    reason, summary = rejection(noisy_labels_run()[0])
    assert reason == "apart" and summary.startswith("train and val accuracy part ways (0.802 and 1.000")
    reason, summary = rejection(refinement_run())
    assert reason == "pace" and "still falling steeply at the end: it is still learning" in summary
