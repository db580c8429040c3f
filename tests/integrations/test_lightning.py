"""LossgapCallback records a Lightning fit through the Recorder and writes a run directory lossgap can diagnose."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from lossgap.diagnosis.remedies import RemedyBook
import torch
from torch.utils.data import DataLoader, Dataset

import lossgap
from fixtures.lightning import fit
from lossgap import ConfigError, read_run


def direct_val(model, val_loader):
    """(ids, labels, true-class log-probabilities, predicted classes) of the val set in id order, evaluated
    by the model as it is now."""
    ids, x, y = val_loader.dataset.tensors
    model.eval()
    with torch.inference_mode():
        log_probs = torch.log_softmax(model(x), dim=1)
    order = np.argsort(ids.numpy())
    true_log_prob = log_probs[torch.arange(len(y)), y].numpy()
    return ids.numpy()[order], y.numpy()[order], true_log_prob[order], log_probs.argmax(dim=1).numpy()[order]


def validation_spy(pl):
    """A callback counting sanity-check val batches and (non-sanity) validation runs."""

    class ValidationSpy(pl.Callback):
        sanity_batches = 0
        runs = 0

        def on_validation_epoch_start(self, trainer, pl_module):
            self.runs += not trainer.sanity_checking

        def on_validation_batch_end(self, trainer, *args, **kwargs):
            self.sanity_batches += trainer.sanity_checking

    return ValidationSpy()


def test_the_example_records_every_sample_in_every_epoch_and_prints_the_diagnosis(tmp_path, example, capsys):
    run_dir = example.main(["--out", str(tmp_path / "run"), "--epochs", "3"])
    record = read_run(run_dir)
    assert record.num_epochs == 3 and record.metrics["epoch"].tolist() == [1, 2, 3]
    assert record.dynamics["train"].num_samples == 320 and record.dynamics["val"].num_samples == 80
    for split in ("train", "val"):
        assert record.dynamics[split].seen.all()
        assert np.isfinite(record.metrics[f"{split}_loss"]).all()
    assert record.metrics["lr"].tolist() == [0.005] * 3
    assert np.all(record.metrics["grad_norm"] > 0) and np.isfinite(record.metrics["grad_norm"]).all()
    if not hasattr(lossgap, "diagnose"):
        pytest.skip("diagnosis not built yet")
    assert lossgap.diagnose(run_dir).to_text() in capsys.readouterr().out


def test_the_last_val_epoch_equals_a_direct_evaluation_after_fit(tmp_path, pl, example, LossgapCallback):
    train_loader, val_loader = example.make_loaders(samples=200, seed=1, val_batch_size=16)
    model = example.SequenceModel()
    spy = validation_spy(pl)
    fit(pl, model, train_loader, val_loader, [LossgapCallback(tmp_path / "run"), spy], max_epochs=3,
        num_sanity_val_steps=2)
    assert spy.sanity_batches == 2  # the sanity check ran (on the initial weights) before the recorded epochs
    record = read_run(tmp_path / "run")
    assert record.num_epochs == 3
    assert record.dynamics["val"].seen.all() and record.dynamics["train"].seen.all()
    ids, labels, log_prob, predicted = direct_val(model, val_loader)
    val = record.dynamics["val"]
    assert np.array_equal(val.sample_ids, ids) and np.array_equal(val.labels, labels)
    assert np.allclose(val.true_log_prob[-1], log_prob, rtol=0, atol=1e-5)
    correct = predicted == labels
    assert record.metrics["val_loss"][-1] == pytest.approx(-log_prob.astype(np.float64).mean(), abs=1e-5)
    assert record.metrics["val_accuracy"][-1] == pytest.approx(correct.mean(), abs=1e-12)
    recalls = [correct[labels == cls].mean() for cls in np.unique(labels)]
    assert record.metrics["val_balanced_accuracy"][-1] == pytest.approx(np.mean(recalls), abs=1e-12)


def test_an_epoch_without_validation_has_no_val_records_even_after_a_sanity_check(tmp_path, pl, example,
                                                                                LossgapCallback):
    train_loader, val_loader = example.make_loaders(samples=100, val_batch_size=8)
    spy = validation_spy(pl)
    fit(pl, example.SequenceModel(), train_loader, val_loader, [LossgapCallback(tmp_path / "run"), spy],
        max_epochs=2, check_val_every_n_epoch=3, num_sanity_val_steps=2)
    assert spy.sanity_batches == 2
    record = read_run(tmp_path / "run")
    assert record.num_epochs == 2 and "val" not in record.dynamics and "val_loss" not in record.metrics


def test_validation_twice_per_epoch_records_the_epochs_last_run(tmp_path, pl, example, LossgapCallback):
    # 128 train samples in batches of 32: validation after batches 2 and 4, the second on the final weights.
    train_loader, val_loader = example.make_loaders(samples=160, val_batch_size=16)
    model = example.SequenceModel()
    spy = validation_spy(pl)
    fit(pl, model, train_loader, val_loader, [LossgapCallback(tmp_path / "run"), spy], max_epochs=2,
        val_check_interval=0.5, num_sanity_val_steps=0)
    assert spy.runs == 4
    val = read_run(tmp_path / "run").dynamics["val"]
    assert val.num_epochs == 2 and val.seen.all()
    _, _, log_prob, _ = direct_val(model, val_loader)
    assert np.allclose(val.true_log_prob[-1], log_prob, rtol=0, atol=1e-5)


def test_a_last_validation_before_the_epochs_last_batches_is_warned_of_once(tmp_path, pl, example, LossgapCallback):
    # 160 train samples in batches of 32 are 5 batches: val_check_interval=0.5 validates after batches 2 and 4, so
    # the kept run is of the model before batch 5 (a trial's Lightning run recorded val 0.2156 where the
    # end-of-epoch model had 0.2286, without a word).
    train_loader, val_loader = example.make_loaders(samples=200, val_batch_size=16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(pl, example.SequenceModel(), train_loader, val_loader, [LossgapCallback(tmp_path / "run")], max_epochs=2,
            val_check_interval=0.5, num_sanity_val_steps=0)
    ours = [str(warning.message) for warning in caught if "LossgapCallback" in str(warning.message)]
    assert ours == ["LossgapCallback: epoch 1's last validation ran after training batch 4 of 5, so its val records "
                    "are of the model before the epoch's last 1 batch(es), not the one the epoch ends with; set "
                    "val_check_interval to 1.0 (or to a number of batches that divides the epoch's) for val records "
                    "of the end-of-epoch model"]
    # Validation at the epoch's end (4 batches, after 2 and 4): nothing to say.
    train_loader, val_loader = example.make_loaders(samples=160, val_batch_size=16)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit(pl, example.SequenceModel(), train_loader, val_loader, [LossgapCallback(tmp_path / "even")],
            max_epochs=2, val_check_interval=0.5, num_sanity_val_steps=0)
    assert not [warning for warning in caught if "LossgapCallback" in str(warning.message)]


def test_lr_is_the_rate_each_epoch_started_with(tmp_path, pl, example, LossgapCallback):
    class Decaying(example.SequenceModel):
        def configure_optimizers(self):
            optimizer = torch.optim.SGD(self.parameters(), lr=0.1)
            return {"optimizer": optimizer, "lr_scheduler": torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.5)}

    train_loader, val_loader = example.make_loaders(samples=100)
    fit(pl, Decaying(), train_loader, val_loader, [LossgapCallback(tmp_path / "run")], max_epochs=3)
    assert read_run(tmp_path / "run").metrics["lr"].tolist() == pytest.approx([0.1, 0.05, 0.025], rel=1e-12)


class DictSamples(Dataset):
    """Samples as dicts {"ids", "x", "y"}: the other batch layout the callback reads by default."""

    def __init__(self, tensors):
        self.ids, self.x, self.y = tensors

    def __len__(self):
        return len(self.y)

    def __getitem__(self, index):
        return {"ids": self.ids[index], "x": self.x[index], "y": self.y[index]}


def test_dict_batches_and_custom_batch_layouts_are_read(tmp_path, pl, example, LossgapCallback):
    class DictModel(example.SequenceModel):
        def training_step(self, batch, batch_idx):
            return super().training_step((batch["ids"], batch["x"], batch["y"]), batch_idx)

        def validation_step(self, batch, batch_idx):
            return super().validation_step((batch["ids"], batch["x"], batch["y"]), batch_idx)

    class ScoresModel(example.SequenceModel):  # batches (x, y, ids) and the logits under "scores"
        def training_step(self, batch, batch_idx):
            out = super().training_step((batch[2], batch[0], batch[1]), batch_idx)
            return {"loss": out["loss"], "scores": out["logits"]}

        validation_step = training_step

    train_loader, val_loader = example.make_loaders(samples=100)
    as_dicts = [DataLoader(DictSamples(loader.dataset.tensors), batch_size=16) for loader in (train_loader, val_loader)]
    fit(pl, DictModel(), *as_dicts, [LossgapCallback(tmp_path / "dicts")], max_epochs=1)
    reordered = [DataLoader(torch.utils.data.TensorDataset(x, y, ids), batch_size=16)
                 for ids, x, y in (loader.dataset.tensors for loader in (train_loader, val_loader))]
    callback = LossgapCallback(tmp_path / "layout", logits_key="scores", ids_from_batch=lambda batch: batch[2],
                               targets_from_batch=lambda batch: batch[1], class_names=["low", "high"])
    fit(pl, ScoresModel(), *reordered, [callback], max_epochs=1)
    for name in ("dicts", "layout"):
        record = read_run(tmp_path / name)
        assert record.dynamics["train"].num_samples == 80 and record.dynamics["val"].num_samples == 20
        assert record.dynamics["train"].seen.all() and record.dynamics["val"].seen.all()
    assert read_run(tmp_path / "layout").class_names == ["low", "high"]
    assert callback.run_dir == tmp_path / "layout"


def test_a_step_that_returns_only_the_loss_is_a_config_error_naming_the_fix(tmp_path, pl, example,
                                                                            LossgapCallback):
    class LossOnly(example.SequenceModel):
        def training_step(self, batch, batch_idx):
            return super().training_step(batch, batch_idx)["loss"]

    train_loader, val_loader = example.make_loaders(samples=100)
    with pytest.raises(ConfigError, match="training_step must return a dict with 'logits'"):
        fit(pl, LossOnly(), train_loader, val_loader, [LossgapCallback(tmp_path / "run")], max_epochs=1)
    assert not (tmp_path / "run").exists()


def test_batches_without_sample_ids_are_a_config_error(LossgapCallback):
    from lossgap.integrations.lightning import default_ids, default_targets

    x, y = torch.zeros(4, 5, 2), torch.zeros(4, dtype=torch.long)
    with pytest.raises(ConfigError, match="ids_from_batch"):
        default_ids((x, y))
    with pytest.raises(ConfigError, match="not sample ids"):
        default_ids((x, y, y))
    with pytest.raises(ConfigError, match="no 'ids'"):
        default_ids({"x": x, "y": y})
    assert default_ids((torch.arange(4), x, y)).tolist() == [0, 1, 2, 3]
    assert default_targets({"ids": y, "y": y + 1}).tolist() == [1, 1, 1, 1]


def test_batches_of_another_layout_than_ids_x_y_name_their_targets(LossgapCallback):
    # A trial's (ids, x, y, lengths) batches had their lengths read as the labels: with lengths under the number of
    # classes that would record wrong labels without a word.
    from lossgap.integrations.lightning import default_targets

    ids, x, y, lengths = torch.arange(4), torch.zeros(4, 5, 2), torch.ones(4, dtype=torch.long), torch.full((4,), 2)
    assert default_targets((ids, x, y)).tolist() == [1, 1, 1, 1]
    with pytest.raises(ConfigError, match=r"a batch of 4 fields is not \(ids, x, y\).*targets_from_batch="):
        default_targets((ids, x, y, lengths))


def test_importing_lossgap_does_not_import_lightning():
    code = ("import sys, lossgap, lossgap.api; "
            "print(sorted(m for m in sys.modules if m == 'lightning' or m.startswith('lightning.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_without_lightning_the_import_error_says_how_to_install_it(monkeypatch):
    for name in [name for name in sys.modules if name == "lightning" or name.startswith("lightning.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "lightning", None)  # None in sys.modules makes the import fail
    monkeypatch.delitem(sys.modules, "lossgap.integrations.lightning", raising=False)
    with pytest.raises(ImportError, match=r"pip install 'lossgap\[lightning\]'"):
        importlib.import_module("lossgap.integrations.lightning")


def test_the_module_is_observed_and_its_hooks_leave_when_fit_ends(tmp_path, pl, example, LossgapCallback):
    train_loader, val_loader = example.make_loaders(samples=200, val_batch_size=16)
    callback = LossgapCallback(tmp_path / "run")
    fit(pl, example.SequenceModel(), train_loader, val_loader, [callback], max_epochs=2)
    record = read_run(tmp_path / "run")
    observed = record.observations
    assert observed.layer_names == ("lstm.l0",) and "head.weight" in observed.tensor_names
    # The first epoch is measured at every step: its mean total norm is the callback's own per-step figure.
    assert observed.measured_steps[0] == observed.steps[0] == len(train_loader)
    assert observed.grad_norm_total[0] == pytest.approx(record.metrics["grad_norm"][0], rel=1e-5)
    assert np.isfinite(observed.update_ratio).all() and np.isfinite(observed.gate_saturation[0]).all()
    assert callback.recorder._observer is None  # hooks removed at the end of fit
    # The module's and its optimizer's settings, which the checks of a held-back model read.
    settings = record.config["settings"]
    assert settings["model"]["hidden_size"] == 16 and settings["model"]["kind"] == "lstm"
    assert settings["optimizer"] == {"name": "adam", "decoupled_weight_decay": False, "lr": 0.005, "weight_decay": 0.0}
    # Automatic optimisation zeroes the gradients: their growth is then not put down to a missing zero_grad().
    assert settings["loop"] == {"framework_zeroes_gradients": True}
    unobserved = LossgapCallback(tmp_path / "plain", observe=False)
    fit(pl, example.SequenceModel(hidden=2), train_loader, val_loader, [unobserved], max_epochs=1)
    assert read_run(tmp_path / "plain").observations is None
    assert read_run(tmp_path / "plain").config["settings"]["model"]["hidden_size"] == 2  # described all the same
    assert "clip_grad" not in settings["optimizer"] and "early_stopping" not in settings  # neither was used


def test_the_trainers_clipping_and_early_stopping_are_described_and_not_advised_again(tmp_path, pl, example,
                                                                                       LossgapCallback):
    from lightning.pytorch.callbacks import EarlyStopping

    train_loader, val_loader = example.make_loaders(samples=200, val_batch_size=16)
    stopping = EarlyStopping(monitor="val_acc", patience=7, mode="max", strict=False)
    fit(pl, example.SequenceModel(), train_loader, val_loader, [LossgapCallback(tmp_path / "run"), stopping],
        max_epochs=2, gradient_clip_val=0.5)
    settings = read_run(tmp_path / "run").config["settings"]
    assert settings["optimizer"]["clip_grad"] == 0.5
    assert settings["early_stopping"] == {"patience": 7, "monitor": "val_accuracy"}
    book = RemedyBook(None, settings=settings)
    assert book.clip_grad() is None and book.monitor_accuracy() is None
    # Patience counts validation checks; a monitor that is neither a val loss nor a val accuracy says nothing.
    every_two = LossgapCallback(tmp_path / "every_two")
    fit(pl, example.SequenceModel(), train_loader, val_loader,
        [every_two, EarlyStopping(monitor="val_loss", patience=3, strict=False)], max_epochs=2,
        check_val_every_n_epoch=2)
    assert read_run(tmp_path / "every_two").config["settings"]["early_stopping"] == {"patience": 6,
                                                                                    "monitor": "val_loss"}
    f1 = LossgapCallback(tmp_path / "f1")
    fit(pl, example.SequenceModel(), train_loader, val_loader,
        [f1, EarlyStopping(monitor="val_f1", patience=3, mode="max", strict=False)], max_epochs=1)
    assert "early_stopping" not in read_run(tmp_path / "f1").config["settings"]


def test_a_val_pass_lightning_runs_in_eval_mode_is_not_called_training_mode_but_one_in_training_mode_is(
        tmp_path, pl, example, LossgapCallback):
    # The callback records val batches at the epoch's end, when Lightning has put the model back in training
    # mode: every model with dropout had been told its val pass ran in training mode.
    class WithDropout(example.SequenceModel):
        def __init__(self, train_mode_val: bool = False):
            super().__init__()
            self.drop, self.train_mode_val = torch.nn.Dropout(0.5), train_mode_val

        def forward(self, x):
            _, (last, _) = self.lstm(x)
            return self.head(self.drop(last[-1]))

        def validation_step(self, batch, batch_idx):
            if self.train_mode_val:
                self.train()  # a mistake the check is there for
            return super().validation_step(batch, batch_idx)

    train_loader, val_loader = example.make_loaders(samples=120, val_batch_size=16)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        fit(pl, WithDropout(), train_loader, val_loader, [LossgapCallback(tmp_path / "eval")], max_epochs=2)
    assert "train_mode_epochs" not in json.dumps(read_run(tmp_path / "eval").config)
    with pytest.warns(RuntimeWarning, match="'val' was recorded with the model in training mode"):
        fit(pl, WithDropout(train_mode_val=True), train_loader, val_loader, [LossgapCallback(tmp_path / "train")],
            max_epochs=2)
    assert '"train_mode_epochs": {"val": 2}' in json.dumps(read_run(tmp_path / "train").config)


def test_the_inputs_the_model_sees_get_their_statistics_and_malformed_ones_stop_before_fit(tmp_path, pl, example,
                                                                                           LossgapCallback):
    import json

    train_loader, val_loader = example.make_loaders(samples=200, seed=1, val_batch_size=16)
    train_x, val_x = train_loader.dataset.tensors[1], val_loader.dataset.tensors[1]
    callback = LossgapCallback(tmp_path / "run", inputs={"train": train_x, "val": val_x * 3 + 5})
    fit(pl, example.SequenceModel(), train_loader, val_loader, [callback], max_epochs=2)
    shift = json.loads((tmp_path / "run" / "config.json").read_text())["data"]["input_shift"]["val"]
    assert shift["shifted"]
    with pytest.raises(lossgap.DataError, match="'train' and 'val'"):
        LossgapCallback(tmp_path / "other", inputs={"train": train_x})
