"""LSTMClassifier: reads the last valid step, pools valid steps, patches steps (padding: test_families.py)."""

import pytest
import torch

from lossgap.errors import ConfigError
from lossgap.model import LSTMClassifier, model_from_hyperparameters
from lossgap.model.recurrent import patch_steps


def test_mean_and_max_readouts_pool_the_top_layer_outputs_over_valid_steps():
    torch.manual_seed(0)
    inputs = torch.randn(2, 6, 2)
    for readout, pool in (("mean", lambda steps: steps.mean(dim=0)), ("max", lambda steps: steps.amax(dim=0))):
        model = LSTMClassifier(2, 5, 3, num_layers=2, bidirectional=True, readout=readout).eval()
        outputs, _ = model.lstm(inputs[1:2, :4])   # the second sequence has 4 valid steps
        expected = model.head(pool(outputs[0]))
        torch.testing.assert_close(model(inputs, torch.tensor([6, 4]))[1], expected, rtol=1e-5, atol=1e-6)


def test_patch_steps_merges_consecutive_steps_and_zeroes_beyond_each_length():
    features = torch.arange(2 * 5 * 2, dtype=torch.float32).reshape(2, 5, 2)
    patched, lengths = patch_steps(features, torch.tensor([5, 3]), 2)
    assert patched.shape == (2, 3, 4) and lengths.tolist() == [3, 2]
    torch.testing.assert_close(patched[0, 0], torch.cat([features[0, 0], features[0, 1]]))
    torch.testing.assert_close(patched[0, 2], torch.cat([features[0, 4], torch.zeros(2)]))   # padded to a patch
    torch.testing.assert_close(patched[1, 1], torch.cat([features[1, 2], torch.zeros(2)]))   # step 3 is padding
    assert patch_steps(features, None, 5)[0].shape == (2, 1, 10)


def test_a_patched_model_reads_p_times_the_features_per_lstm_step():
    model = LSTMClassifier(3, 4, 2, patch_length=8)
    assert model.lstm.input_size == 24 and model(torch.randn(2, 20, 3)).shape == (2, 2)


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
    model = LSTMClassifier(5, 32, 3, num_layers=2, dropout=0.2, bidirectional=True, readout="max", patch_length=3)
    assert model(torch.randn(4, 9, 5)).shape == (4, 3)
    clone = model_from_hyperparameters(model.hyperparameters())
    assert type(clone) is LSTMClassifier and clone.hyperparameters() == model.hyperparameters()


def test_hyperparameters_of_checkpoints_from_before_readout_and_patching_still_build_the_same_model():
    older = {"input_size": 2, "hidden_size": 4, "num_classes": 3, "num_layers": 1, "dropout": 0.0,
             "bidirectional": False}
    model = model_from_hyperparameters(older)
    assert type(model) is LSTMClassifier and (model.readout, model.patch_length) == ("last", 1)
    assert "lstm.weight_ih_l0" in model.state_dict()   # the keys older checkpoints hold


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden_size": 0}, "hidden_size must be a positive integer"),
    ({"num_layers": -1}, "num_layers must be a positive integer"),
    ({"dropout": 1.0}, "dropout must lie in [0, 1)"),
    ({"patch_length": 0}, "patch_length must be a positive integer"),
    ({"readout": "attention"}, "unknown readout 'attention'; use one of last, mean, max"),
])
def test_bad_hyperparameters_name_the_problem(kwargs, message):
    arguments = {"input_size": 1, "hidden_size": 4, "num_classes": 2, **kwargs}
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace(")", r"\)")):
        LSTMClassifier(**arguments)
