"""confidence_refinement is an explanation, never a fault, and never read off the first epochs."""

import numpy as np

from fixtures.diagnosis import diagnose_dynamics, healthy_run
from fixtures.dynamics import binary_dynamics


def test_accuracy_flat_while_right_samples_grow_confident_is_explained_not_faulted():
    epochs, n = 30, 300
    labels = np.arange(n) % 2
    rng = np.random.default_rng(0)
    right = rng.random(n) < 0.8   # 80% learned in 5 epochs and then growing more confident; 20% staying wrong
    learning = np.clip(np.arange(epochs) / 5, 0, 1)[:, None]
    growth = np.linspace(0.6, 0.95, epochs)[:, None]
    prob = np.where(right[None, :], 0.45 + learning * (growth - 0.45) + rng.normal(0, 0.01, (epochs, n)), 0.3)
    prob[5:] = np.clip(prob[5:], 0.51 * right + 0.01, 0.99)
    prob = np.clip(prob, 0.01, 0.99)
    diagnosis = diagnose_dynamics({"train": binary_dynamics(prob, labels, split="train"),
                                   "val": binary_dynamics(prob, labels)})
    assert diagnosis.healthy and diagnosis.headline.startswith("No problem found"), diagnosis.to_text()
    assert [verdict.cause for verdict in diagnosis.explanations] == ["confidence_refinement"]
    assert "confidence_refinement" in diagnosis.headline
    groups = {group["name"]: group["count"] for group in diagnosis.ledger["groups"]}
    assert groups["became_correct"] == 0
    assert "already right" in diagnosis.explanations[0].summary


def test_a_run_at_full_accuracy_has_nothing_to_refine():
    diagnosis = diagnose_dynamics(healthy_run())
    assert diagnosis.healthy and not diagnosis.explanations, diagnosis.to_text()
