"""Remedies: from the run's own settings, never one the run already applies, each a ready command."""

import shlex

from lossgap.diagnosis.remedies import RemedyBook
from lossgap.training.config import TrainConfig


def book_for(**changes):
    config = TrainConfig(**changes).to_dict()
    return RemedyBook(config, "runs/mine")


def test_a_remedy_carries_the_command_that_tries_it():
    remedy = book_for().dropout()
    assert remedy.changes == {"model.dropout": 0.2}
    args = shlex.split(remedy.command)
    assert args[:2] == ["lossgap", "train"] and args[args.index("--dropout") + 1] == "0.2"
    assert args[args.index("--out") + 1] == "runs/mine-dropout"


def test_remedies_the_run_already_applies_are_not_offered():
    book = book_for(early_stopping={"patience": 10}, class_weights="balanced", optimizer={"clip_grad": 1.0})
    assert book.early_stopping(12, 40) is None
    assert book.class_weights() is None
    assert book.clip_grad() is None
    assert book_for(early_stopping={"patience": 5, "monitor": "val_accuracy"}).monitor_accuracy() is None


def test_a_remedy_that_changes_nothing_is_not_offered():
    assert book_for(model={"dropout": 0.5}).dropout() is None
    assert book_for(model={"num_layers": 1}).fewer_layers() is None
    assert book_for().less_regularisation() is None


def test_own_loop_runs_get_advice_in_general_words_and_no_command():
    remedy = RemedyBook(None).larger_hidden()
    assert remedy.command is None and "16" not in remedy.action


def test_switch_model_changes_the_family_and_is_not_offered_to_the_family_itself():
    remedy = book_for().switch_model()
    assert remedy.changes == {"model.kind": "lstm-fcn"} and "--model lstm-fcn" in remedy.command
    assert book_for(model={"kind": "lstm-fcn"}).switch_model() is None
    assert book_for(model={"kind": "lstm-fcn"}).switch_model("gru").changes == {"model.kind": "gru"}


def test_a_config_from_before_an_option_existed_gets_its_default():
    old = TrainConfig().to_dict()
    del old["model"]["kind"], old["model"]["fcn_width"]
    book = RemedyBook(old, "runs/old")
    assert book.switch_model().action.startswith("switch the model from lstm to lstm-fcn")
    assert book.setting("model.kind") is None   # the run's own value: it never said
