"""Where a model that does not fit its training set gets it wrong: two classes it does not tell apart."""

import numpy as np
from fixtures.diagnosis import diagnose_dynamics, twin_classes_run
from fixtures.dynamics import binary_dynamics

CONFIG = {"model": {"hidden_size": 32, "dropout": 0.0}, "optimizer": {"name": "adam", "lr": 0.003,
          "weight_decay": 0.0}, "epochs": 40}


def test_two_classes_the_model_does_not_tell_apart_are_named_with_a_check_of_the_inputs_first():
    # A trial's five frequency classes, two of them generated alike, read "too small or too regularised" 0.65 with
    # "grow the hidden size" first; a 128-unit GRU mixed the two exactly as the 32-unit one did.
    diagnosis = diagnose_dynamics(twin_classes_run(), config=CONFIG)
    verdict = diagnosis.verdict("underfitting")
    assert diagnosis.causes[0] == "underfitting", diagnosis.to_text()
    pair = verdict.evidence["confused_pair"]
    assert pair["classes"] == [2, 3] and pair["others_error"] == 0.0 and pair["error_share"] == 1.0
    assert 0.5 < pair["pair_accuracy"] < 0.65 and abs(pair["chance"] - 0.5) < 0.01
    assert verdict.evidence["title"] == "the model does not tell class 2 from class 3, even on its training set"
    assert "too small or too regularised" not in verdict.summary
    assert ": its errors sit between two classes: of the " in verdict.summary
    assert "these inputs may not tell the two classes apart (or their labels are mixed)" in verdict.summary
    first, second = verdict.remedies[:2]
    assert first.name == "inspect_pair" and first.action.startswith("check whether the inputs tell class 2 from class 3")
    assert second.name == "larger_hidden"


def test_errors_spread_over_the_classes_or_a_pair_partly_told_apart_name_no_pair():
    # A pair the model gets mostly right (memorised 60% beyond its guesses) is told apart; errors on two classes
    # (binary data: the pair is the whole task) are another story.
    told_apart = diagnose_dynamics(twin_classes_run(memorised=0.6), config=CONFIG)
    assert all("confused_pair" not in verdict.evidence for verdict in (*told_apart.verdicts, *told_apart.considered))
    binary = {"train": binary_dynamics(np.full((20, 400), 0.45), np.arange(400) % 2, split="train"),
              "val": binary_dynamics(np.full((20, 200), 0.45), np.arange(200) % 2)}
    two = diagnose_dynamics(binary, config=CONFIG)
    assert all("confused_pair" not in verdict.evidence for verdict in (*two.verdicts, *two.considered))
