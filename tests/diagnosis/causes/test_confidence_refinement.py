"""confidence_refinement is an explanation, never a fault, and never read off the first epochs."""

from fixtures.diagnosis import diagnose_dynamics, healthy_run, refinement_run


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
