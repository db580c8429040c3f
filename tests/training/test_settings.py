"""What describe_training reads from a user's model and optimizer: the settings the diagnosis's checks of a
held-back model read, in the shape of lossgap's own configuration."""

import pytest
import torch
from torch import nn

from lossgap.training.recorder import Recorder
from lossgap.training.settings import describe_training


class TwoLayers(nn.Module):
    """A stacked LSTM (with its own dropout), a GRU cell of 3 units and dropout 0.3 before the head."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 16, num_layers=2, dropout=0.6, batch_first=True)
        self.cell = nn.GRUCell(16, 3)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(3, 2)


def test_the_smallest_recurrent_layer_the_largest_dropout_and_the_trainable_parameters_are_read():
    model = TwoLayers()
    model.head.weight.requires_grad_(False)
    described = describe_training(model)["model"]
    # The widest recurrent layer: a narrow one may be a side branch (an LSTM(64) beside a GRU(2) read as "held
    # back by a recurrent layer of 2 units" had its real label noise discounted to overfitting 0.87).
    assert described == {"kind": "lstm", "class": "TwoLayers", "convolutions": False, "batch_norm": False,
                         "hidden_size": 16,
                         "num_layers": 2, "dropout": 0.6,
                         "parameters": sum(p.numel() for p in model.parameters()) - model.head.weight.numel(),
                         "narrowest_linear": {"name": "head", "width": 2, "side": "output"},
                         "frozen": {"parameters": 6, "share": 6 / sum(p.numel() for p in model.parameters()),
                                    "modules": ["head"]}}
    # A single-layer recurrent layer's own dropout does nothing (torch warns and ignores it): it is not read.
    single = nn.Sequential(nn.GRU(4, 8, dropout=0.0), nn.Dropout1d(0.0), nn.Linear(8, 2))
    assert describe_training(single)["model"] | {"parameters": 0} == {
        "kind": "gru", "class": "Sequential", "convolutions": False, "batch_norm": False, "hidden_size": 8,
        "num_layers": 1,
        "dropout": 0.0, "parameters": 0, "narrowest_linear": {"name": "2", "width": 2, "side": "output"},
        "frozen": None}


def test_frozen_parameters_are_counted_with_their_share_and_the_modules_that_hold_them():
    # An own GRU whose recurrent layer was frozen, only its head training, had been told to grow 32 -> 128.
    model = nn.Sequential()
    model.add_module("gru", nn.GRU(1, 32))
    model.add_module("head", nn.Linear(32, 4))
    model.gru.requires_grad_(False)
    frozen = describe_training(model)["model"]["frozen"]
    gru = sum(p.numel() for p in model.gru.parameters())
    assert frozen == {"parameters": gru, "share": gru / (gru + 132), "modules": ["gru"]}


def test_the_linear_layer_with_the_fewest_outputs_is_named():
    # An LSTM(64) -> Linear(64, 1) -> Linear(1, 9) bottleneck was invisible: growing the LSTM was the only advice.
    necked = nn.ModuleDict({"lstm": nn.LSTM(12, 64), "neck": nn.Linear(64, 1), "head": nn.Linear(1, 9)})
    assert describe_training(necked)["model"]["narrowest_linear"] == {"name": "neck", "width": 1, "side": "output"}
    assert describe_training(nn.Linear(4, 3))["model"]["narrowest_linear"] == {"name": "Linear", "width": 3,
                                                                               "side": "output"}
    # A convolution of one channel before a Linear(1, 3) head: the head's single input is the bottleneck.
    cnn = nn.Sequential(nn.Conv1d(2, 1, 7), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(1, 3))
    assert describe_training(cnn)["model"]["narrowest_linear"] == {"name": "4", "width": 1, "side": "input"}
    assert describe_training(nn.LSTM(2, 4))["model"]["narrowest_linear"] is None
    # A first layer projecting one feature per step reads the data, not a bottleneck (own Transformers on a
    # univariate series had been told to "widen the layer that feeds 'inp'" first).
    projected = nn.ModuleDict({"inp": nn.Linear(1, 32), "encoder": nn.GRU(32, 32), "head": nn.Linear(32, 4)})
    assert describe_training(projected)["model"]["narrowest_linear"] == {"name": "head", "width": 4, "side": "output"}
    # Also where the model holds a positional embedding as a bare parameter of its own, or normalises its inputs
    # first (trial 19's own Transformer had been told to widen 'inp' again).

    class Positional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.position = nn.Parameter(torch.zeros(1, 30, 32))
            self.norm = nn.LayerNorm(1)
            self.inp = nn.Linear(1, 32)
            self.head = nn.Linear(32, 4)

    assert describe_training(Positional())["model"]["narrowest_linear"] == {"name": "head", "width": 4,
                                                                            "side": "output"}


def test_every_kind_of_dropout_module_is_read():
    for dropout in (nn.Dropout1d(0.7), nn.Dropout2d(0.7), nn.AlphaDropout(0.7), nn.FeatureAlphaDropout(0.7)):
        assert describe_training(nn.Sequential(nn.LSTM(2, 4), dropout))["model"]["dropout"] == 0.7


def test_a_model_without_a_recurrent_layer_has_no_hidden_size_and_convolutions_are_noted():
    mlp = describe_training(nn.Sequential(nn.Flatten(), nn.Linear(10, 2)))["model"]
    assert mlp["kind"] == "other" and mlp["hidden_size"] is None and mlp["num_layers"] is None
    assert describe_training(nn.ModuleList([nn.Conv1d(2, 4, 3), nn.LSTM(2, 4)]))["model"]["convolutions"] is True


def test_the_optimizer_is_named_with_the_most_decaying_groups_rate_and_decay():
    model = TwoLayers()
    weights = [p for name, p in model.named_parameters() if "weight" in name]
    biases = [p for name, p in model.named_parameters() if "bias" in name]
    # The usual split: no decay on biases, decay on weights (whose rate is what a heavy decay multiplies).
    optimizer = torch.optim.AdamW([{"params": biases, "weight_decay": 0.0, "lr": 0.1},
                                   {"params": weights, "weight_decay": 5.0, "lr": 0.002}])
    assert describe_training(model, optimizer)["optimizer"] == {
        "name": "adamw", "decoupled_weight_decay": True, "lr": 0.002, "weight_decay": 5.0}
    sgd = torch.optim.SGD(model.parameters(), lr=torch.tensor(0.003))  # torch allows a tensor learning rate
    assert describe_training(model, sgd)["optimizer"] == {
        "name": "sgd", "decoupled_weight_decay": True, "lr": 0.003, "weight_decay": 0.0}  # not 0.003000000026
    # Adam built with decoupled decay is AdamW in all but name; RMSprop's decay is an L2 term.
    adam = torch.optim.Adam(model.parameters(), weight_decay=1.0, decoupled_weight_decay=True)
    assert describe_training(model, adam)["optimizer"]["decoupled_weight_decay"] is True
    rmsprop = torch.optim.RMSprop(model.parameters(), weight_decay=1.0)
    assert describe_training(model, rmsprop)["optimizer"]["decoupled_weight_decay"] is False
    assert describe_training(model)["optimizer"] is None


def test_an_optimizer_that_is_not_a_torch_optimizer_is_named_in_one_line():
    with pytest.raises(TypeError, match=r"^optimizer is of type str, not a torch.optim.Optimizer; pass the "):
        describe_training(nn.LSTM(2, 4), "adam")

    class Fake:
        param_groups = [{"params": [1], "lr": 0.1, "weight_decay": "lots"}]

    with pytest.raises(TypeError, match=r"^the optimizer's weight_decay is 'lots', not a number"):
        describe_training(nn.LSTM(2, 4), Fake())


class WithLoss(nn.Module):
    """A LightningModule-like model that keeps its class-weighted loss as an attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(2, 8, batch_first=True)
        self.head = nn.Linear(8, 3)
        self.criterion = nn.CrossEntropyLoss(weight=torch.tensor([0.5, 2.0, 4.0]))


def test_class_weights_are_recorded_as_said_or_found_in_the_model():
    import lossgap

    recorder = lossgap.Recorder()
    said = recorder.describe(nn.Linear(2, 3), class_weights=torch.tensor([1.0, 3.0, 3.0]))
    assert said["loss"] == {"class_weights": [1.0, 3.0, 3.0]}
    assert lossgap.Recorder().describe(WithLoss())["loss"] == {"class_weights": [0.5, 2.0, 4.0]}
    assert "loss" not in lossgap.Recorder().describe(nn.Linear(2, 3))


@pytest.mark.parametrize("weights", [[1.0], [1.0, -2.0], [0.0, 0.0], ["a", "b"], float("nan"), [1.0, float("inf")]])
def test_class_weights_that_are_not_one_weight_per_class_are_refused_in_one_line(weights):
    import lossgap
    from lossgap.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^Recorder.describe: class_weights=.* is not one non-negative weight per "
                                          r"class; pass the weights your loss is weighted by") as caught:
        lossgap.Recorder().describe(nn.Linear(2, 3), class_weights=weights)
    assert "\n" not in str(caught.value)


def test_a_loop_that_balances_its_batches_with_a_sampler_says_so_and_a_wrong_value_is_refused():
    import lossgap
    from lossgap.errors import ConfigError

    recorder = lossgap.Recorder()
    assert recorder.describe(nn.Linear(2, 3), resampled_classes=True)["sampling"] == {"resampled_classes": True}
    # Said once, it stays said when the model is described again (as observe() does each epoch).
    assert recorder.describe(nn.Linear(2, 3))["sampling"] == {"resampled_classes": True}
    assert "sampling" not in lossgap.Recorder().describe(nn.Linear(2, 3))
    with pytest.raises(ConfigError, match=r"^Recorder.describe: resampled_classes='yes' is not True or False; pass "
                                          r"True when your loop draws its batches with a sampler") as caught:
        lossgap.Recorder().describe(nn.Linear(2, 3), resampled_classes="yes")
    assert "\n" not in str(caught.value)


def test_a_framework_that_zeroes_the_gradients_itself_says_so_and_a_wrong_value_is_refused():
    import lossgap
    from lossgap.errors import ConfigError

    recorder = lossgap.Recorder()
    said = recorder.describe(nn.Linear(2, 3), framework_zeroes_gradients=True)
    assert said["loop"] == {"framework_zeroes_gradients": True}
    assert recorder.describe(nn.Linear(2, 3))["loop"] == {"framework_zeroes_gradients": True}  # stays said
    assert "loop" not in lossgap.Recorder().describe(nn.Linear(2, 3))
    with pytest.raises(ConfigError, match=r"^Recorder.describe: framework_zeroes_gradients=1 is not True or False")\
            as caught:
        lossgap.Recorder().describe(nn.Linear(2, 3), framework_zeroes_gradients=1)
    assert "\n" not in str(caught.value)


def test_the_rate_a_scheduler_made_after_describe_started_from_is_read_at_the_epochs_end():
    from lossgap.training.settings import DescribedSettings

    model = nn.GRU(2, 4)
    optimizer = torch.optim.Adam(model.parameters(), 3e-3)
    described = DescribedSettings()
    assert "initial_lr" not in described.describe(model, optimizer)["optimizer"]
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.05)
    optimizer.step()
    scheduler.step()
    described.end_epoch()
    assert described.settings["optimizer"]["initial_lr"] == 0.003
    assert described.settings["optimizer"]["lr"] == pytest.approx(1.5e-4)


def test_a_transformer_too_narrow_is_named_by_its_attention_layer_not_an_inner_projection():
    # Trial 22: "widen the Linear layer 'enc.layers.0.self_attn.out_proj'" had been said of a Transformer with d_model 2.
    class Tiny(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.inp = nn.Linear(3, width)
            self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(width, 1, 8, batch_first=True), 2)
            self.head = nn.Linear(width, 4)

    narrow = describe_training(Tiny(2))["model"]["narrowest_linear"]
    assert narrow == {"name": "enc.layers.0.self_attn", "width": 2, "side": "output", "attention": True}
    # Wide enough, the narrowest end is an ordinary Linear again (the head's 4 outputs).
    assert describe_training(Tiny(16))["model"]["narrowest_linear"] == {"name": "head", "width": 4, "side": "output"}


def test_class_weights_of_another_length_than_the_logits_are_named_when_the_epoch_closes():
    recorder = Recorder()
    recorder.describe(torch.nn.Linear(2, 3), class_weights=[1.0, 2.0])
    recorder.update("train", torch.arange(4), torch.zeros(4, 3), torch.tensor([0, 1, 2, 1]))
    with pytest.raises(ValueError, match=r"^Recorder: 2 class weights were described but the logits have 3 "
                                         r"classes; pass describe\(\.\.\., class_weights=\.\.\.\) one weight per class$"):
        recorder.end_epoch()
    assert recorder.num_epochs == 0
