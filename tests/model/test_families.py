"""Every model family: padding and batch mates never change a prediction; built from its options; it learns."""

import pytest
import torch

from lossgap.errors import ConfigError
from lossgap.model import MODELS, ModelConfig, build_model, model_class, model_from_hyperparameters

FAMILIES = list(MODELS)


def small(kind: str, **options):
    extra = {"fcn_width": 4} if kind == "lstm-fcn" else {}
    return model_class(kind)(3, 6, 4, **{**extra, **options})


@pytest.mark.parametrize("kind", FAMILIES)
@pytest.mark.parametrize("readout, patch_length", [("last", 1), ("mean", 1), ("max", 1), ("last", 2), ("max", 4),
                                                   ("mean", 3)])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_padding_and_batch_mates_never_change_a_prediction(kind, readout, patch_length, bidirectional, num_layers):
    torch.manual_seed(0)
    model = small(kind, readout=readout, patch_length=patch_length, bidirectional=bidirectional,
                  num_layers=num_layers)
    # Train mode first: batch statistics (LSTM-FCN's batch norm) must come from valid steps only, so a
    # training step on padded batches leaves running statistics that padding did not bias.
    model.train()
    model(torch.full((4, 12, 3), 50.0), torch.tensor([12, 3, 5, 7]))
    model.eval()
    short = torch.randn(2, 5, 3)
    alone = model(short, torch.tensor([5, 3]))
    padded = torch.full((3, 12, 3), 7.0)
    padded[:2, :5] = short
    padded[2] = torch.randn(12, 3)
    together = model(padded, torch.tensor([5, 3, 12]))
    torch.testing.assert_close(together[:2], alone, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(model(short[1:2, :3], torch.tensor([3])), alone[1:2], rtol=1e-5, atol=1e-5)
    # Without lengths the padding is read and the logits change: the check above is not vacuous.
    assert not torch.allclose(model(padded)[:2], alone, atol=1e-4)


def test_batch_norm_statistics_of_lstm_fcn_ignore_padding():
    torch.manual_seed(0)
    model = small("lstm-fcn").train()
    sequences = torch.randn(2, 5, 3)
    padded = torch.cat([sequences, torch.full((2, 9, 3), 100.0)], dim=1)
    reference = small("lstm-fcn").train()
    reference.load_state_dict(model.state_dict())
    model(padded, torch.tensor([5, 5 - 1]))
    reference(torch.cat([sequences[:1], torch.cat([sequences[1:, :4], torch.zeros(1, 1, 3)], dim=1)]),
              torch.tensor([5, 4]))
    for ours, theirs in zip(model.norms, reference.norms, strict=True):
        torch.testing.assert_close(ours.running_mean, theirs.running_mean)
        torch.testing.assert_close(ours.running_var, theirs.running_var)


@pytest.mark.parametrize("kind", FAMILIES)
def test_hyperparameters_rebuild_the_same_family_and_weights_load(kind):
    model = small(kind, bidirectional=True, readout="max", patch_length=2)
    clone = model_from_hyperparameters(model.hyperparameters())
    assert type(clone) is type(model) and clone.hyperparameters() == model.hyperparameters()
    clone.load_state_dict(model.state_dict())
    inputs = torch.randn(2, 7, 3)
    torch.testing.assert_close(clone.eval()(inputs), model.eval()(inputs))


@pytest.mark.parametrize("kind", FAMILIES)
def test_build_model_resolves_auto_from_the_train_length_and_keeps_the_family(kind):
    config = ModelConfig(kind=kind, hidden_size=8, readout="auto", patch_length="auto", fcn_width=4)
    model = build_model(config, num_features=2, num_classes=3, train_max_length=300)
    assert model.KIND == kind and model.patch_length == 10 and model.readout == "max"
    assert model(torch.randn(2, 300, 2)).shape == (2, 3)


def test_lstm_fcn_has_the_published_blocks():
    model = model_class("lstm-fcn")(1, 8, 2)
    assert [(conv.out_channels, conv.kernel_size[0]) for conv in model.convolutions] == [(128, 8), (256, 5), (128, 3)]
    assert model.head.in_features == 8 + 128


@pytest.mark.parametrize("kind", FAMILIES)
def test_each_family_learns_a_task_it_can_learn(kind):
    """The sign of a sequence's sum: every family must reach high train accuracy within a few hundred steps."""
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(256, 12, 1, generator=generator)
    labels = (features.sum(dim=(1, 2)) > 0).long()
    torch.manual_seed(0)
    model = model_class(kind)(1, 16, 2, **({"fcn_width": 8} if kind == "lstm-fcn" else {}))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(150):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(features), labels).backward()
        optimizer.step()
    with torch.inference_mode():
        accuracy = (model.eval()(features).argmax(dim=1) == labels).float().mean().item()
    assert accuracy > 0.9


def test_an_unknown_family_is_refused_with_the_choices():
    from lossgap.training.config import build_config

    with pytest.raises(ConfigError, match="invalid --model: input should be 'lstm', 'gru' or 'lstm-fcn'"):
        build_config(ModelConfig, kind="transformer")
