"""Remedy candidates come from the run's verdicts and the article's list, each a real change."""

import re

import pytest

from lossgap.diagnosis.remedy import Remedy
from lossgap.diagnosis.verdict import Diagnosis, Verdict
from lossgap.errors import ConfigError
from lossgap.remedies.candidates import remedy_candidates
from lossgap.training.config import apply_changes
from lossgap.training.config import ModelConfig, TrainConfig


def valley(lowest, epochs=40):
    """A val-loss curve falling to its minimum at 1-based epoch ``lowest`` and rising after it."""
    return [abs(epoch - lowest) * 0.01 + 0.5 for epoch in range(1, epochs + 1)]


def diagnosis_with(*verdicts):
    return Diagnosis(run="r", split="val", headline="", verdicts=verdicts, considered=(), plateaus=(), ledger=None,
                     ledger_sentence=None, overfitting={}, suspected_mislabeled=(), calibration=None, per_class=None,
                     signal=None)


def test_verdict_remedies_come_first_and_nothing_is_offered_that_changes_nothing():
    config = TrainConfig(model=ModelConfig(dropout=0.5, num_layers=1))
    overfit = Verdict("overfitting", 0.9, "", remedies=(Remedy("early_stopping", "stop at 7",
                                                               {"early_stopping.patience": 4}),))
    names = [c.name for c in remedy_candidates(config, diagnosis_with(overfit), epochs_run=40, val_loss=valley(7),
                                               imbalanced=False)]
    assert names[0] == "early_stopping"
    assert "dropout" not in names and "fewer_layers" not in names and "class_weights" not in names
    assert {"weight_decay", "smaller_hidden", "larger_hidden", "lower_lr"} <= set(names)


def test_class_weights_and_the_control_appear_when_the_diagnosis_calls_for_them():
    no_signal = Verdict("no_signal", 0.9, "")
    names = [c.name for c in remedy_candidates(TrainConfig(), diagnosis_with(no_signal), epochs_run=10,
                                               val_loss=valley(2), imbalanced=True)]
    assert "class_weights" in names and "permuted_control" in names


def test_apply_changes_validates_like_user_input():
    assert apply_changes(TrainConfig(), {"model.dropout": 0.3}).model.dropout == 0.3
    with pytest.raises(ConfigError, match="--dropout"):
        apply_changes(TrainConfig(), {"model.dropout": 1.5})


def test_the_other_optimizer_is_tried_by_default_and_more_data_only_when_offered_or_named():
    names = [c.name for c in remedy_candidates(TrainConfig(), diagnosis_with(), epochs_run=10, val_loss=valley(5),
                                               imbalanced=False)]
    assert "switch_optimizer" in names and "more_data" not in names
    offered = Verdict("overfitting", 0.9, "", remedies=(Remedy("more_data", "check", command="lossgap remedy r"),))
    names = [c.name for c in remedy_candidates(TrainConfig(), diagnosis_with(offered), epochs_run=10,
                                               val_loss=valley(5),
                                               imbalanced=False)]
    assert names[0] == "more_data"
    named = remedy_candidates(TrainConfig(), diagnosis_with(), epochs_run=10, val_loss=valley(5), imbalanced=False,
                              only=["more_data", "switch_optimizer"])
    assert [c.name for c in named] == ["more_data", "switch_optimizer"] and named[0].changes == {}


def test_every_candidate_command_trains_with_one_thread_named_once():
    # Remedy runs train with one torch thread each, and a run's numbers depend on its thread count (pasted
    # without it, a winner's command gave val loss 0.0755 where its remedy runs had 0.0551).
    import shlex

    overfit = Verdict("overfitting", 0.9, "", remedies=(Remedy("early_stopping", "stop at 7",
                                                               {"early_stopping.patience": 4}),))
    candidates = remedy_candidates(TrainConfig(), diagnosis_with(overfit), epochs_run=40, val_loss=valley(7),
                                   imbalanced=True, run_dir="runs/mine")
    commands = [shlex.split(candidate.command) for candidate in candidates if candidate.command]
    assert len(commands) >= 5
    for words in commands:
        assert words.count("--threads") == 1 and words[-4:-2] == ["--threads", "1"], words


@pytest.mark.parametrize(("config", "name", "val_loss", "reason"), [
    (TrainConfig(), "early_stopping", valley(40), "its val loss was lowest at its last epoch (40)"),
    (TrainConfig(early_stopping={"patience": 5}), "early_stopping", valley(7), "it already stops early on val loss"),
    (TrainConfig(), "early_stopping", [float("nan")] * 5, "it has no finite val loss"),
    (TrainConfig(model=ModelConfig(num_layers=1)), "fewer_layers", valley(7), "it has a single layer"),
    (TrainConfig(), "drop_suspects", valley(7), "its diagnosis lists no suspected mislabelled training sample"),
])
def test_a_named_remedy_that_changes_nothing_says_why(config, name, val_loss, reason):
    with pytest.raises(ConfigError, match=rf"remedy '{name}' changes nothing for this run: {re.escape(reason)}.*; "
                                          "drop it from --only$"):
        remedy_candidates(config, diagnosis_with(), epochs_run=len(val_loss), val_loss=val_loss, imbalanced=False,
                          only=[name])


def test_a_run_with_no_cause_found_tries_its_likeliest_candidates_remedies_first():
    import dataclasses

    switch = Remedy("switch_model", "switch to lstm-fcn", {"model.kind": "lstm-fcn"})
    weak = dataclasses.replace(diagnosis_with(), considered=(Verdict("no_signal", 0.45, "", remedies=(switch,)),),
                               extras={"learned_little": True})
    names = [c.name for c in remedy_candidates(TrainConfig(), weak, epochs_run=10, val_loss=valley(5),
                                               imbalanced=False)]
    assert names[0] == "switch_model" and "dropout" in names
    # A candidate nearly as likely adds its first experiment after the likeliest one's (Diagnosis.next_alternative).
    bidirectional = Remedy("bidirectional", "read both ways", {"model.bidirectional": True})
    lower = Remedy("lower_lr", "lower the rate", {"optimizer.lr": 0.003})
    close = dataclasses.replace(weak, considered=(Verdict("unstable_optimization", 0.43, "", remedies=(lower,)),
                                                  Verdict("no_signal", 0.37, "", remedies=(bidirectional, switch))))
    names = [c.name for c in remedy_candidates(TrainConfig(), close, epochs_run=10, val_loss=valley(5),
                                               imbalanced=False)]
    assert names[:2] == ["lower_lr", "bidirectional"] and "switch_model" not in names
    # Not for a run whose model learned what shows on val ("No problem found"): the article's list only.
    fine = dataclasses.replace(weak, extras={})
    assert "switch_model" not in [c.name for c in remedy_candidates(TrainConfig(), fine, epochs_run=10,
                                                                    val_loss=valley(5), imbalanced=False)]


def test_dropping_the_suspects_can_be_named_and_adds_them_to_the_ids_the_run_already_leaves_out():
    import dataclasses
    import shlex

    suspected = dataclasses.replace(diagnosis_with(), suspected_mislabeled=(40, 7, 12))
    config = TrainConfig(data={"source": "synthetic:frequency", "drop_train_ids": "3,7"})
    (remedy,) = remedy_candidates(config, suspected, epochs_run=10, val_loss=valley(5), imbalanced=False,
                                  only=["drop_suspects"], run_dir="runs/noisy")
    assert remedy.changes == {"data.drop_train_ids": "3,7,40,12"}
    words = shlex.split(remedy.command)
    assert words[words.index("--drop-train-ids") + 1] == "3,7,40,12" and words[-1] == "runs/noisy-drop_suspects"
    everything = TrainConfig(data={"source": "synthetic:frequency", "drop_train_ids": "7,12,40"})
    with pytest.raises(ConfigError, match="it already leaves out every suspect"):
        remedy_candidates(everything, suspected, epochs_run=10, val_loss=valley(5), imbalanced=False,
                          only=["drop_suspects"])


def test_a_run_too_short_to_judge_is_trained_longer_first():
    # Trial 36: a 2-epoch run ("Too short to judge: ... train longer") had been given capacity and regularisation
    # changes at 2 epochs, none of which could help, and never more epochs.
    config = TrainConfig(epochs=2)
    short = remedy_candidates(config, diagnosis_with(), epochs_run=2, val_loss=[1.1, 1.09], imbalanced=False)
    assert short[0].name == "more_epochs", [c.name for c in short]
    # Every epoch of the longer run trains and the best is delivered: early stopping cannot cut a slow start.
    assert short[0].changes == {"epochs": 20, "early_stopping.patience": 20}
    assert "--early-stopping 20" in short[0].command and "--epochs 20" in short[0].command
    # A run long enough to judge gets more epochs only where a verdict offers them.
    judged = remedy_candidates(TrainConfig(), diagnosis_with(), epochs_run=10, val_loss=valley(5), imbalanced=False)
    assert "more_epochs" not in [c.name for c in judged]
