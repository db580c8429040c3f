"""no_signal's sentences: an accuracy not above the baseline, and how far the model fitted its training set."""

import numpy as np
from fixtures.diagnosis import diagnose_dynamics
from fixtures.dynamics import binary_dynamics
from fixtures.no_signal_runs import memorised_noise_run


def test_an_accuracy_below_the_baseline_is_not_above_it_and_a_loss_a_hair_below_the_prior_says_so():
    # A trial's sentence: "val accuracy 0.515 ... is not significantly above ... 0.545" and "val loss 0.693, though 0%
    # below the prior's 0.695".
    from dataclasses import replace

    from lossgap.diagnosis import diagnose_evidence, gather_evidence

    evidence = gather_evidence({}, memorised_noise_run(), train_config=None)
    below = replace(evidence.signal, accuracy=evidence.signal.baseline_accuracy - 0.03, loss=0.6925,
                    prior_entropy=0.6931)
    summary = diagnose_evidence(replace(evidence, signal=below)).verdict("no_signal").summary
    assert f"is not above the best constant answer {below.baseline_accuracy:.3f}" in summary, summary
    assert "though a hair below the prior's 0.693" in summary and "0% below" not in summary
    assert "at least not by this model" in summary
    above = replace(evidence.signal, accuracy=evidence.signal.baseline_accuracy + 0.02)
    assert "is not significantly above the best constant answer" in diagnose_evidence(
        replace(evidence, signal=above)).verdict("no_signal").summary


def test_a_model_no_better_than_the_majority_on_train_is_not_said_to_have_fitted_it():
    # "The model fitted its training set (train loss ... 23% below the prior's entropy)" had been said of a model
    # that predicted only the majority class (train accuracy 0.952 = the majority share); and of one 77% right at best.
    epochs = 15
    ramp = np.clip(np.arange(1, epochs + 1) / 4, 0, 1)[:, None]

    def split(counts, majority_prob, name):
        labels = np.repeat([0, 1], counts)
        target = np.where(labels == 0, majority_prob, 0.2 if name == "train" else 0.05)[None, :]
        return binary_dynamics(0.5 + ramp * (target - 0.5), labels, split=name)

    verdict = diagnose_dynamics({"train": split((950, 50), 0.97, "train"),
                                 "val": split((190, 10), 0.9, "val")}).verdict("no_signal")
    assert verdict.summary.startswith("the model learned something on its training set (train loss down to 0.109, "
                                      "45% below the prior's entropy 0.199, though it got 95.0% right at best against "
                                      "a majority share of 95.0%)"), verdict.summary
