"""The remedies a diagnosis gives: consistent across its verdicts, and the learning curve offered once."""

from dataclasses import replace

import numpy as np

from fixtures.diagnosis import diagnose_dynamics, healthy_run
from lossgap.diagnosis import Remedy, Verdict
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy_choice import consistent_remedies, offer_more_data


def test_contradicting_or_repeated_remedies_are_dropped_from_lower_verdicts():
    book = RemedyBook({"model": {"hidden_size": 16}, "optimizer": {"lr": 0.01}})
    grow = Remedy("larger_hidden", "grow", {"model.hidden_size": 32})
    shrink = Remedy("smaller_hidden", "shrink", {"model.hidden_size": 8})
    first = Verdict("underfitting", 0.9, "s", {}, (grow, Remedy("lower_lr", "l", {"optimizer.lr": 0.003})))
    second = Verdict("overfitting", 0.8, "s", {}, (shrink, Remedy("lower_lr", "l", {"optimizer.lr": 0.003})))
    (kept_first, kept_second), _, _ = consistent_remedies([first, second], [], [], book)
    assert [remedy.name for remedy in kept_first.remedies] == ["larger_hidden", "lower_lr"]
    assert kept_second.remedies == ()


def test_regularising_more_and_less_are_never_offered_together():
    book = RemedyBook({"model": {"dropout": 0.0}, "optimizer": {"weight_decay": 0.01}})
    less = Remedy("less_regularisation", "less", {"optimizer.weight_decay": 0.0001})
    more = Remedy("dropout", "more", {"model.dropout": 0.2})   # another field, the opposite direction
    first = Verdict("underfitting", 0.9, "s", {}, (less,))
    second = Verdict("overfitting", 0.6, "s", {}, (more, Remedy("early_stopping", "e", {"early_stopping.patience": 10})))
    (kept_first, kept_second), _, _ = consistent_remedies([first, second], [], [], book)
    assert [remedy.name for remedy in kept_first.remedies] == ["less_regularisation"]
    assert [remedy.name for remedy in kept_second.remedies] == ["early_stopping"]


def test_an_own_loops_remedies_in_words_are_kept_consistent_by_name():
    # A Lightning run had been told to grow the hidden size 32 -> 128 and to shrink it 32 -> 16, and to train
    # longer and to stop at epoch 1: an own loop's remedies carry no config changes to compare.
    book = RemedyBook(None)
    first = Verdict("underfitting", 0.7, "s", {}, (Remedy("larger_hidden", "grow"), Remedy("higher_lr", "faster"),
                                                   Remedy("more_epochs", "longer")))
    second = Verdict("overfitting", 0.6, "s", {}, (Remedy("early_stopping", "stop"), Remedy("dropout", "drop"),
                                                   Remedy("smaller_hidden", "shrink"), Remedy("lower_lr", "slower")))
    (kept_first, kept_second), _, _ = consistent_remedies([first, second], [], [], book)
    assert [remedy.name for remedy in kept_first.remedies] == ["larger_hidden", "higher_lr", "more_epochs"]
    assert [remedy.name for remedy in kept_second.remedies] == ["dropout"]


def test_a_val_plateau_on_little_data_with_no_fault_offers_the_learning_curve_once():
    from lossgap.analysis.plateaus import Plateau

    plateau = Plateau("val", 5, 20, -0.3, 0.0, 0.02)
    book = RemedyBook({}, "runs/r")
    explanation = Verdict("confidence_refinement", 0.8, "", remedies=(book.monitor_accuracy(),))
    evidence = diagnose_dynamics(healthy_run()).evidence
    little = replace(evidence, plateaus={"val": (plateau,)}, train_class_counts=np.array([300, 300]))
    offered = offer_more_data([], [explanation], little, book)
    assert [remedy.name for remedy in offered[0].remedies] == ["monitor_accuracy", "more_data"]
    assert offer_more_data([], offered, little, book) == offered               # never twice
    plenty = replace(little, train_class_counts=np.array([3000, 3000]))
    no_plateau = replace(little, plateaus={"val": ()})
    assert offer_more_data([], [explanation], plenty, book) == [explanation]
    assert offer_more_data([], [explanation], no_plateau, book) == [explanation]
    # A fault found comes first with its own remedies: the plateau is its symptom.
    fault = Verdict("label_noise", 0.9, "")
    assert offer_more_data([fault], [explanation], little, book) == [explanation]
