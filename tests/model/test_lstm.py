"""LSTMClassifier: reads the last valid step; padding and batch mates never change a sequence's logits."""

import pytest
import torch

from lossgap.errors import ConfigError
from lossgap.model import LSTMClassifier


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_padding_with_a_longer_batch_mate_does_not_change_shorter_logits(bidirectional, num_layers):
    torch.manual_seed(0)
    model = LSTMClassifier(3, 8, 4, num_layers=num_layers, bidirectional=bidirectional).eval()
    short = torch.randn(2, 5, 3)
    alone = model(short, torch.tensor([5, 3]))
    padded = torch.zeros(3, 12, 3)
    padded[:2, :5] = short
    padded[2] = torch.randn(12, 3)
    with_long_mate = model(padded, torch.tensor([5, 3, 12]))
    torch.testing.assert_close(with_long_mate[:2], alone, rtol=1e-5, atol=1e-6)


def test_head_reads_the_last_valid_step_not_padding():
    torch.manual_seed(0)
    model = LSTMClassifier(1, 4, 2).eval()
    sequence = torch.randn(1, 6, 1)
    padded = torch.cat([sequence, torch.full((1, 4, 1), 7.0)], dim=1)
    torch.testing.assert_close(model(padded, torch.tensor([6])), model(sequence), rtol=1e-5, atol=1e-6)
    # Without lengths the padding is read, and the logits differ: the test above is not vacuous.
    assert not torch.allclose(model(padded), model(sequence), atol=1e-4)


def test_unidirectional_logits_equal_head_of_last_output_step():
    torch.manual_seed(0)
    model = LSTMClassifier(2, 5, 3, num_layers=2).eval()
    inputs = torch.randn(4, 7, 2)
    outputs, _ = model.lstm(inputs)
    torch.testing.assert_close(model(inputs), model.head(outputs[:, -1]))


def test_output_shape_and_hyperparameters_round_trip():
    model = LSTMClassifier(5, 32, 3, num_layers=2, dropout=0.2, bidirectional=True)
    assert model(torch.randn(4, 9, 5)).shape == (4, 3)
    clone = LSTMClassifier(**model.hyperparameters())
    assert clone.hyperparameters() == model.hyperparameters()


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_size": 0}, "hidden_size must be a positive integer"),
    ({"num_layers": -1}, "num_layers must be a positive integer"),
    ({"dropout": 1.0}, "dropout must lie in [0, 1)"),
])
def test_bad_hyperparameters_name_the_problem(kwargs, message):
    arguments = {"input_size": 1, "hidden_size": 4, "num_classes": 2, **kwargs}
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(")", r"\)")):
        LSTMClassifier(**arguments)
