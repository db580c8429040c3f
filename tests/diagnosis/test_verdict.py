"""What a diagnosis says: how a considered verdict's confidence is printed."""

from lossgap.diagnosis.verdict import REPORT_THRESHOLD, considered_confidence


def test_a_considered_confidence_never_prints_as_the_reporting_threshold():
    # 0.497 printed as "0.50" had sat beside "No problem found (0.50)" and read as a finding.
    assert considered_confidence(0.497) == "0.49" and considered_confidence(REPORT_THRESHOLD - 1e-9) == "0.49"
    assert considered_confidence(0.25) == "0.25" and considered_confidence(0.0) == "0.00"
    assert considered_confidence(0.29) == "0.29"  # 0.29 * 100 is 28.999... in floating point


def _no_cause_found(considered, **extras):
    from lossgap.diagnosis.verdict import Diagnosis

    return Diagnosis(run="r", split="val", headline="No cause found (0.50): ...", verdicts=(), considered=considered,
                     plateaus=(), ledger=None, ledger_sentence=None, overfitting={}, suspected_mislabeled=(),
                     calibration=None, per_class=None, signal=None, healthy_confidence=0.5,
                     extras={"learned_little": True, "signal_unshown": False, **extras})


def test_no_cause_found_offers_the_remedies_of_its_likeliest_candidate_and_nothing_else_does():
    # An LSTM that never read its 361-step sequences had been left with "the causes considered below are the
    # candidates" and not one thing to try.
    import dataclasses

    from lossgap.diagnosis.remedy import Remedy
    from lossgap.diagnosis.verdict import Verdict

    reach = (Remedy("bidirectional", "read the sequences in both directions", {"model.bidirectional": True}),
             Remedy("switch_model", "switch the model to lstm-fcn", {"model.kind": "lstm-fcn"}))
    candidates = (Verdict("overfitting", 0.29, "a rise", remedies=(Remedy("dropout", "add dropout"),)),
                  Verdict("no_signal", 0.45, "nothing carries over", remedies=reach),
                  Verdict("label_noise", 0.47, "suspects", remedies=()),
                  Verdict("underfitting", 0.13, "far from fit", remedies=(Remedy("larger_hidden", "grow"),)))
    diagnosis = _no_cause_found(candidates)
    assert diagnosis.next_steps.cause == "no_signal"  # the strongest with something to try
    text = diagnosis.to_text()
    assert "next, to test the likeliest candidate (no_signal):\n    try: read the sequences in both directions" in text
    assert diagnosis.to_dict()["next_steps"]["remedies"][1]["name"] == "switch_model"
    # "No problem found", a finding, or candidates all under CONSIDERED_SHOWN: nothing extra.
    assert _no_cause_found(candidates, learned_little=False).next_steps is None
    assert _no_cause_found(candidates[3:]).next_steps is None
    found = dataclasses.replace(diagnosis, verdicts=(Verdict("overfitting", 0.8, "a rise"),))
    assert found.next_steps is None and "next, to test" not in found.to_text()
    assert found.to_dict()["next_steps"] is None
    # A val split too small to show anything: its headline asks for a larger one, which no candidate's remedy replaces.
    assert _no_cause_found(candidates, learned_little=False, signal_unshown=True).next_steps is None
    assert _no_cause_found(candidates, learned_little=False, signal_unshown=True, no_cause_found=True).next_steps is None
    # "No cause found" for a model far from fitting train, or for a delivered model that lost what it had learned.
    assert _no_cause_found(candidates, learned_little=False, no_cause_found=True).next_steps.cause == "no_signal"


def test_a_candidate_nearly_as_likely_gets_its_first_remedy_shown_beside_the_likeliest_ones():
    # Trial 24: a plain LSTM on 146 steps, unstable optimisation 0.43 against no signal 0.37, was shown only "lower the
    # learning rate"; reading both directions, the no-signal reading's first experiment, stayed in its sentence.
    from lossgap.diagnosis.remedy import Remedy
    from lossgap.diagnosis.verdict import ALTERNATIVE_MARGIN, Verdict

    lower = (Remedy("lower_lr", "lower the learning rate", {"optimizer.lr": 0.003}), Remedy("clip_grad", "clip"))
    reach = (Remedy("bidirectional", "read the sequences in both directions", {"model.bidirectional": True}),
             Remedy("switch_model", "switch the model to lstm-fcn", {"model.kind": "lstm-fcn"}))
    close = _no_cause_found((Verdict("unstable_optimization", 0.43, "bounces", remedies=lower),
                             Verdict("no_signal", 0.37, "nothing carries over", remedies=reach)))
    assert close.next_steps.cause == "unstable_optimization" and close.next_alternative.cause == "no_signal"
    assert ("or, to test the next candidate (no_signal):\n    try: read the sequences in both directions"
            in close.to_text())
    assert close.to_dict()["next_alternative"] == {"cause": "no_signal", "remedies": [reach[0].to_dict()]}
    # Further than ALTERNATIVE_MARGIN below, or nothing to try: only the likeliest.
    far = _no_cause_found((Verdict("unstable_optimization", 0.43, "bounces", remedies=lower),
                           Verdict("no_signal", 0.43 - ALTERNATIVE_MARGIN - 0.01, "nothing", remedies=reach)))
    assert far.next_alternative is None and "next candidate" not in far.to_text()
    assert far.to_dict()["next_alternative"] is None
