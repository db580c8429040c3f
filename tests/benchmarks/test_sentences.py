"""The sentence checker traces every figure of a verdict back to metrics.csv: it must pass true sentences and
catch each kind of wrong one (swapped numbers, a wrong verb, a wrong epoch, a wrong mean)."""

import numpy as np
import pytest

from fault_suite.sentences import sentence_problems

METRICS = {
    "train_loss": np.array([1.2, 0.9, 0.6, 0.4, 0.3, 0.2]),
    "val_loss": np.array([1.3, 1.0, 0.8, 0.85, 0.9, 1.0]),
    "train_accuracy": np.array([0.4, 0.6, 0.7, 0.8, 0.9, 0.95]),
    "val_accuracy": np.array([0.40, 0.55, 0.61, 0.60, 0.62, 0.60]),
}
SUMMARY = {"best_epoch": 3}


def problems(*sentences, headline="", summary=SUMMARY):
    return sentence_problems(METRICS, summary, list(sentences), headline, "val_loss")


def test_true_sentences_pass():
    assert problems("val loss was lowest at epoch 3 (0.800); by epoch 6 val loss rose from 0.800 to 1.000 while "
                    "train loss fell from 0.600 to 0.200; the gap rose from 0.200 to 0.800",
                    "val accuracy 0.610 at epoch 3 beats the best constant answer",
                    "the model did not fit: train accuracy reached at best 0.950 (majority share 0.5; 0.700 at "
                    "epoch 3)",
                    "val loss was lowest at epoch 3 (0.800) and ended at 1.000, 25% higher, but that is not a clear "
                    "turn",
                    headline="No problem found: val accuracy 0.610 at epoch 3") == []


def test_a_plateau_sentence_is_checked_against_the_window_mean_and_the_loss_fall():
    metrics = {"val_loss": np.array([1.0, 0.8, 0.7, 0.65, 0.6]), "val_accuracy": np.array([0.5, 0.8, 0.81, 0.8, 0.82])}
    sentence = "val accuracy stayed at {} (within its noise of +-0.040) from epoch 2 to 5 while val loss fell {} (25%)"
    assert sentence_problems(metrics, {}, [sentence.format("0.808", "0.200")]) == []
    assert sentence_problems(metrics, {}, [sentence.format("0.820", "0.200")])   # not the window's mean
    assert sentence_problems(metrics, {}, [sentence.format("0.808", "0.400")])   # not the loss's fall
    # The diagnosis says "on average" (the mean need not be any epoch's value); checked the same way.
    averaged = sentence.replace("stayed at {}", "stayed at {} on average")
    assert sentence_problems(metrics, {}, [averaged.format("0.808", "0.200")]) == []
    assert sentence_problems(metrics, {}, [averaged.format("0.820", "0.200")])


@pytest.mark.parametrize("sentence", [
    "by epoch 6 train loss rose from 0.200 to 0.600",        # the example: numbers swapped
    "by epoch 6 train loss fell from 0.600 to 0.250",        # a value the run never had
    "by epoch 6 val loss fell from 0.800 to 1.000",          # verb against the numbers
    "val loss was lowest at epoch 4 (0.850)",                # not the minimum
    "val loss was lowest at epoch 3 (0.810)",                # wrong value
    "val accuracy 0.620 at epoch 3 beats the best constant answer",
    "train accuracy reached at best 0.900 (majority share 0.5)",
    "val accuracy stayed at 0.700 (within its noise of +-0.050) from epoch 3 to 6 while val loss fell 0.100",
    "train accuracy stayed at 0.650",
    "val loss was lowest at epoch 3 (0.800) and ended at 0.900, 13% higher",   # not the last val loss
    "val loss was lowest at epoch 3 (0.800) and ended at 1.000, 20% higher",   # not its rise
])
def test_each_kind_of_wrong_figure_is_caught(sentence):
    assert problems(sentence), sentence


def test_the_headline_epoch_and_the_best_epoch_are_checked():
    assert problems(headline="No problem found: val accuracy 0.600 at epoch 4")
    assert problems(summary={"best_epoch": 5})  # the run monitored val loss, whose minimum is epoch 3


def test_a_balanced_accuracy_is_checked_against_its_own_column():
    # A class-weighted run's "balanced train accuracy fell from 0.947 to 0.915" had been read as plain train accuracy
    # and flagged, though metrics.csv's train_balanced_accuracy held both figures.
    metrics = {**METRICS, "train_balanced_accuracy": np.array([0.5, 0.7, 0.947, 0.93, 0.915, 0.92])}
    sentence = "its balanced train accuracy fell from 0.947 to {}"
    assert sentence_problems(metrics, {}, [sentence.format("0.915")]) == []
    assert sentence_problems(metrics, {}, [sentence.format("0.916")])
