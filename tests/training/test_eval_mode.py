"""A val pass recorded with the model in training mode is caught, counted per epoch and warned about once."""

import warnings

import pytest
import torch
from torch import nn

from lossgap.training.recorder import Recorder


def _epoch(recorder, model, *, val_in_train_mode):
    model.train()
    recorder.update("train", torch.arange(4), model(torch.randn(4, 3)), torch.tensor([0, 1, 0, 1]))
    model.train(val_in_train_mode)
    recorder.update("val", torch.arange(4, 6), model(torch.randn(2, 3)), torch.tensor([0, 1]))
    recorder.end_epoch()


@pytest.mark.parametrize("layer", [nn.Dropout(0.5), nn.BatchNorm1d(4)])
def test_val_in_training_mode_is_counted_and_warned_about_once(layer):
    model = nn.Sequential(nn.Linear(3, 4), layer, nn.Linear(4, 2))
    recorder = Recorder()
    recorder.describe(model)
    with pytest.warns(RuntimeWarning, match=r"^Recorder: 'val' was recorded with the model in training mode .*"
                                            r"call model.eval\(\) before the val pass") as caught:
        _epoch(recorder, model, val_in_train_mode=True)
        _epoch(recorder, model, val_in_train_mode=True)
        _epoch(recorder, model, val_in_train_mode=False)
    assert len(caught) == 1
    assert recorder.settings["evaluation"] == {"train_mode_epochs": {"val": 2}}


def test_eval_mode_or_a_model_with_nothing_mode_dependent_is_silent():
    for model, val_in_train_mode in ((nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2)), False),
                                     (nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.0), nn.Linear(4, 2)), True)):
        recorder = Recorder()
        recorder.describe(model)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _epoch(recorder, model, val_in_train_mode=val_in_train_mode)
        assert "evaluation" not in recorder.settings


def _train_step(model, optimizer):
    model.train()
    logits = model(torch.randn(4, 3))
    loss = nn.functional.cross_entropy(logits, torch.tensor([0, 1, 0, 1]))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return logits


@pytest.mark.parametrize("train_recorded", ["per_batch", "after_val"])
def test_a_weight_average_evaluated_in_eval_mode_is_not_taken_for_the_live_model_in_training_mode(train_recorded):
    # EMA / SWA: the loop evaluates an AveragedModel's copy; the described model stays in training mode.
    from torch.optim.swa_utils import AveragedModel

    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    average = AveragedModel(model)
    recorder = Recorder()
    recorder.describe(model, optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            logits = _train_step(model, optimizer)
            average.update_parameters(model)
            if train_recorded == "per_batch":
                recorder.update("train", torch.arange(4), logits, torch.tensor([0, 1, 0, 1]))
            average.eval()
            with torch.no_grad():
                recorder.update("val", torch.arange(4, 6), average(torch.randn(2, 3)), torch.tensor([0, 1]))
                if train_recorded == "after_val":
                    recorder.update("train", torch.arange(4), average(torch.randn(4, 3)), torch.tensor([0, 1, 0, 1]))
            recorder.end_epoch()
    assert model.training and "evaluation" not in recorder.settings


def test_a_forgotten_eval_under_no_grad_is_still_caught_once_the_watch_follows_forward_passes():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    recorder = Recorder()
    recorder.describe(model, optimizer)
    with pytest.warns(RuntimeWarning, match="recorded with the model in training mode"):
        for _ in range(2):
            recorder.update("train", torch.arange(4), _train_step(model, optimizer), torch.tensor([0, 1, 0, 1]))
            with torch.no_grad():   # model.eval() forgotten
                recorder.update("val", torch.arange(4, 6), model(torch.randn(2, 3)), torch.tensor([0, 1]))
            recorder.end_epoch()
    assert recorder.settings["evaluation"] == {"train_mode_epochs": {"val": 2}}


def test_a_refused_batch_is_not_counted_and_leaves_its_pass_to_be_judged_when_recorded():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5), nn.Linear(4, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    recorder = Recorder()
    recorder.describe(model, optimizer)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recorder.update("train", torch.arange(4), _train_step(model, optimizer), torch.tensor([0, 1, 0, 1]))
        with torch.no_grad():   # model.eval() forgotten
            logits = model(torch.randn(2, 3))
        with pytest.raises(ValueError):
            recorder.update("val", torch.arange(4, 6), logits, torch.eye(2))   # one-hot targets: refused
        recorder.end_epoch()   # no val batch was recorded in this epoch: nothing to count
    recorder.update("train", torch.arange(4), _train_step(model, optimizer), torch.tensor([0, 1, 0, 1]))
    with torch.no_grad():
        logits = model(torch.randn(2, 3))
    with pytest.raises(ValueError):
        recorder.update("val", torch.arange(4, 6), logits, torch.eye(2))
    with pytest.warns(RuntimeWarning, match="recorded with the model in training mode"):
        recorder.update("val", torch.arange(4, 6), logits, torch.tensor([0, 1]))   # the same pass, recorded
        recorder.end_epoch()
    assert recorder.settings["evaluation"] == {"train_mode_epochs": {"val": 1}}
