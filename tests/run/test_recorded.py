"""Runs recorded by an own loop (lossgap.save_recorded_run, lossgap.recover_recorded_run): the figures equal what the
Recorder returned, the recorder's own epoch store survives the save and a kill, and bad arguments are refused in
one line before anything is written."""

import csv
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch

import lossgap
from lossgap.dynamics import SplitDynamics
from lossgap.epoch_store import stored_epochs
from lossgap.errors import ConfigError, LossgapWarning, RunDirError


def metrics_rows(run):
    with open(run / "metrics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_metrics_csv_holds_the_figures_end_epoch_returned_when_samples_go_unseen(make_recorded, tmp_path):
    recorder, summaries = make_recorded(4, drop=17, classes=3)  # as drop_last leaves 17 train samples out per epoch
    rows = metrics_rows(lossgap.save_recorded_run(recorder, tmp_path / "run"))
    for row, summary in zip(rows, summaries):
        for split in ("train", "val"):
            balanced = summary[split].balanced_accuracy
            assert float(row[f"{split}_balanced_accuracy"]) == pytest.approx(balanced, abs=1e-12)
            assert float(row[f"{split}_accuracy"]) == pytest.approx(summary[split].accuracy, abs=1e-12)
            assert float(row[f"{split}_loss"]) == pytest.approx(summary[split].loss, rel=1e-9)


def test_the_per_split_figures_are_computed_once_not_once_per_epoch(make_recorded, tmp_path, monkeypatch):
    calls = []
    original = SplitDynamics.epoch_balanced_accuracy
    monkeypatch.setattr(SplitDynamics, "epoch_balanced_accuracy",
                        lambda self: calls.append(self.split) or original(self))
    recorder, _ = make_recorded(8)
    lossgap.save_recorded_run(recorder, tmp_path / "run")
    assert sorted(calls) == ["train", "val"]  # once per split, whatever the number of epochs


def test_a_recorder_saves_beside_its_own_store_and_keeps_it(make_recorded, feed_recorder, tmp_path):
    out = tmp_path / "run"
    recorder, _ = make_recorded(3, store=out / "epochs")
    lossgap.save_recorded_run(recorder, out)  # the store alone is not a run: no overwrite needed
    assert stored_epochs(out / "epochs") == [1, 2, 3] and lossgap.read_run(out).num_epochs == 3
    feed_recorder(recorder, 2, seed=1)  # the loop goes on after saving, into the same store
    with pytest.raises(RunDirError, match="already holds a run; choose another out directory or pass overwrite=True"):
        lossgap.save_recorded_run(recorder, out)
    lossgap.save_recorded_run(recorder, out, overwrite=True)
    assert stored_epochs(out / "epochs") == [1, 2, 3, 4, 5] and lossgap.read_run(out).num_epochs == 5
    assert lossgap.diagnose(out, write=False).causes is not None


def test_an_epoch_store_that_is_not_the_recorders_is_never_deleted(make_recorded, tmp_path):
    out = tmp_path / "run"
    make_recorded(2, store=out / "epochs")
    other, _ = make_recorded(2)
    for overwrite in (False, True):
        with pytest.raises(RunDirError, match=r"holds the epoch store of another recording .*, which saving here would "
                                              r"delete; .*lossgap.recover_recorded_run"):
            lossgap.save_recorded_run(other, out, overwrite=overwrite)
    assert sorted(path.name for path in out.iterdir()) == ["epochs"] and stored_epochs(out / "epochs") == [1, 2]


def files_under(directory):
    """Every file under ``directory`` with its bytes: what a refused save must leave as it was."""
    return {str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()}


@pytest.mark.parametrize("call", ["save_recorded_run", "recover_recorded_run"])
@pytest.mark.parametrize("store, out, problem, fix", [
    ("a/s", "a/s", r"is the recorder's epoch store '.*a/s' itself; the run's files would mix with its epoch files",
     "a/s-run"),
    ("b/run/epochs", "b/run/epochs", r"is the recorder's epoch store '.*epochs' itself", "b/run"),
    ("c/s", "c/s/run", r"lies inside the recorder's epoch store '.*c/s', so deleting the store would delete the run",
     "c/s-run"),
], ids=["out is the store", "out is a store named epochs", "out inside the store"])
def test_an_out_that_is_the_store_or_lies_inside_it_is_refused_and_nothing_mixes(make_recorded, tmp_path, call, store,
                                                                                 out, problem, fix):
    store, out, fix = tmp_path / store, tmp_path / out, tmp_path / fix
    recorder, _ = make_recorded(2, store=store)
    before = files_under(tmp_path)
    save = (lambda target, **options: lossgap.save_recorded_run(recorder, target, **options)) \
        if call == "save_recorded_run" else (lambda target, **options: lossgap.recover_recorded_run(store, target,
                                                                                                   **options))
    for overwrite in (False, True):
        with pytest.raises(RunDirError, match=rf"^out='.*' {problem}.*; save the run .*, e.g. out='{fix}'$"):
            save(out, overwrite=overwrite)
    assert files_under(tmp_path) == before  # no epoch file deleted, no run file among them
    assert lossgap.read_run(save(fix)).num_epochs == 2 and stored_epochs(store) == [1, 2]  # the fix named works


@pytest.mark.parametrize("inside", ["checkpoints/epochs", "figures", "epochs/older"])
def test_a_store_in_an_entry_lossgap_writes_in_out_is_refused(make_recorded, tmp_path, inside):
    out = tmp_path / "run"
    recorder, _ = make_recorded(2, store=out / inside)
    entry = inside.split("/")[0]
    before = files_under(tmp_path)
    for overwrite in (False, True):
        with pytest.raises(RunDirError, match=rf"^the recorder's epoch store '.*run/{inside}' lies inside "
                                              rf"'.*run/{entry}', an entry of the run directory that lossgap replaces "
                                              r".*kept only as "
                                              r"'.*run/epochs'\); save the run in a directory that does not hold the "
                                              r"store, e.g. out='.*run-recorded'$"):
            lossgap.save_recorded_run(recorder, out, overwrite=overwrite)
    assert files_under(tmp_path) == before
    assert lossgap.read_run(lossgap.save_recorded_run(recorder, tmp_path / "run-recorded")).num_epochs == 2


def test_a_store_in_a_directory_of_the_users_own_inside_out_is_kept(make_recorded, feed_recorder, tmp_path):
    out = tmp_path / "run"
    recorder, _ = make_recorded(2, store=out / "logs" / "store")
    lossgap.save_recorded_run(recorder, out)
    feed_recorder(recorder, 1, seed=1)
    lossgap.save_recorded_run(recorder, out, overwrite=True)  # lossgap's entries are replaced, the store is not
    assert lossgap.read_run(out).num_epochs == 3 and stored_epochs(out / "logs" / "store") == [1, 2, 3]


def test_tensors_and_numpy_scalars_in_extra_metrics_are_saved_as_numbers(make_recorded, tmp_path):
    recorder, _ = make_recorded(2)
    grad_norm = torch.tensor(2.5, requires_grad=True) * 1  # as clip_grad_norm_ returns, or with its graph
    extra = [{"grad_norm": grad_norm, "lr": np.float32(0.25), "steps": np.int64(3)}, {"lr": 0.125}]
    run = lossgap.save_recorded_run(recorder, tmp_path / "run", extra_metrics=extra)
    rows = metrics_rows(run)
    assert [rows[0]["grad_norm"], rows[0]["lr"], rows[0]["steps"]] == ["2.5", "0.25", "3.0"]
    assert rows[1]["lr"] == "0.125" and rows[1]["grad_norm"] == ""
    assert json.loads((run / "summary.json").read_text())["final"]["lr"] == 0.125


@pytest.mark.parametrize("value, problem", [
    (torch.tensor([1.0, 2.0]), r"'grad_norm' is a Tensor of shape \(2,\), not one number; .*value.item\(\)"),
    ("fast", r"'grad_norm' is the str 'fast', not a number"),
    (None, r"'grad_norm' is None, not a number; .*leave the key out"),
    (np.array(["1.5"]).reshape(()), r"'grad_norm' is the ndarray .*, not a number"),
])
def test_a_value_that_is_not_one_number_is_refused_before_anything_is_written(make_recorded, tmp_path, value,
                                                                              problem):
    recorder, _ = make_recorded(3)
    extra = [{"grad_norm": 1.0}, {"grad_norm": value}]
    with pytest.raises(ConfigError, match=r"^extra_metrics\[1\] \(epoch 2\): " + problem) as error:
        lossgap.save_recorded_run(recorder, tmp_path / "new", extra_metrics=extra)
    assert "\n" not in str(error.value) and not (tmp_path / "new").exists()
    # Replacing a run: the old one is left whole.
    old = lossgap.save_recorded_run(recorder, tmp_path / "old")
    before = {path.name: path.read_bytes() for path in old.iterdir() if path.is_file()}
    with pytest.raises(ConfigError):
        lossgap.save_recorded_run(recorder, old, extra_metrics=extra, overwrite=True)
    assert {path.name: path.read_bytes() for path in old.iterdir() if path.is_file()} == before


@pytest.mark.parametrize("key", ["val_loss", "train_accuracy", "val_balanced_accuracy", "epoch"])
def test_an_extra_metric_named_like_a_recorded_column_is_refused(make_recorded, tmp_path, key):
    recorder, _ = make_recorded(2)
    with pytest.raises(ConfigError, match=rf"^extra_metrics\[0\] \(epoch 1\): '{key}' is a column lossgap computes "
                                          rf"from the recorded samples; rename yours \(e.g. 'my_{key}'\)"):
        lossgap.save_recorded_run(recorder, tmp_path / "run", extra_metrics=[{key: 5.0}, {}])
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("extra, problem", [
    ({"lr": [0.1, 0.1]}, r"^extra_metrics is a dict, not a list; pass one dict of name -> number per epoch"),
    ([0.1, 0.1], r"^extra_metrics\[0\] \(epoch 1\) is a float, not a dict"),
    ([{1: 0.1}], r"^extra_metrics\[0\] \(epoch 1\): the key 1 is not a string"),
])
def test_extra_metrics_of_the_wrong_shape_are_refused(make_recorded, tmp_path, extra, problem):
    recorder, _ = make_recorded(2)
    with pytest.raises(ConfigError, match=problem):
        lossgap.save_recorded_run(recorder, tmp_path / "run", extra_metrics=extra)


@pytest.mark.parametrize("names, problem", [
    (["a"], "class_names has 1 name for the 2 classes recorded"),
    (["a", "b", "c"], "class_names has 3 names for the 2 classes recorded"),
    ("ab", "class_names is the string 'ab', not a list"),
])
def test_class_names_must_name_each_class_once(make_recorded, tmp_path, names, problem):
    recorder, _ = make_recorded(2)
    with pytest.raises(ConfigError, match=problem + ".*; pass one name per class, in class-index order"):
        lossgap.save_recorded_run(recorder, tmp_path / "run", class_names=names)
    assert not (tmp_path / "run").exists()
    run = lossgap.save_recorded_run(recorder, tmp_path / "run", class_names=("neg", "pos"))
    assert lossgap.read_run(run).class_names == ["neg", "pos"]


LOOP = """
import sys, torch, lossgap
recorder = lossgap.Recorder(store=sys.argv[1])
labels = torch.arange(80) % 2
for epoch in range(1, 100_000):
    recorder.update("train", torch.arange(60), torch.randn(60, 2), labels[:60])
    recorder.update("val", torch.arange(60, 80), torch.randn(20, 2), labels[60:])
    recorder.end_epoch()
    print(epoch, flush=True)
"""


def test_an_own_loop_killed_with_sigkill_is_saved_from_its_store(tmp_path):
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-c", LOOP, str(out / "epochs")], stdout=subprocess.PIPE, text=True)
    try:
        while process.stdout.readline().strip() != "3":
            assert process.poll() is None, "the loop ended before its third epoch"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()
    assert process.returncode == -signal.SIGKILL
    held = len(stored_epochs(out / "epochs"))
    assert held >= 3
    with pytest.raises(RunDirError, match=r"holds only an epoch store .*; save its run with "
                                          r"lossgap.recover_recorded_run\("):
        lossgap.diagnose(out)
    assert lossgap.recover_recorded_run(out / "epochs", out) == out
    assert lossgap.read_run(out).num_epochs == held and len(metrics_rows(out)) == held
    diagnosis = lossgap.diagnose(out, write=False)
    assert diagnosis.causes is not None
    # The diagnosis says the loop may have meant to train longer; a run saved normally gets no such note.
    assert any(note.startswith(f"the run was saved from its epoch store (lossgap.recover_recorded_run) after {held} "
                               "epochs") for note in diagnosis.limitations)
    assert len(stored_epochs(out / "epochs")) == held  # the store is left as it was


def test_recovering_leaves_out_a_damaged_last_epoch_and_refuses_other_damage(make_recorded, tmp_path):
    store = tmp_path / "run" / "epochs"
    make_recorded(3, store=store)
    last = store / "epoch_00003.npz"
    whole = last.read_bytes()
    last.write_bytes(whole[:100])
    with pytest.warns(LossgapWarning, match=r"epoch_00003.npz is damaged \(.*\) and left out: saving epochs 1-2"):
        run = lossgap.recover_recorded_run(store, tmp_path / "run")
    assert lossgap.read_run(run).num_epochs == 2
    last.write_bytes(whole)
    (store / "epoch_00001.npz").write_bytes(b"not an epoch")
    with pytest.raises(RunDirError, match=r"epoch_00001.npz is damaged \(.*\); move it and the epoch files after it"):
        lossgap.recover_recorded_run(store, tmp_path / "other")


def test_recovering_needs_a_store_with_epochs(tmp_path):
    with pytest.raises(RunDirError, match=r"nope does not exist; pass the directory your loop gave as Recorder\(store"):
        lossgap.recover_recorded_run(tmp_path / "nope", tmp_path / "run")
    with pytest.raises(RunDirError, match=r"holds no stored epoch \(no epoch_00001.npz\)"):
        lossgap.recover_recorded_run(tmp_path, tmp_path / "run")


def test_a_recording_without_a_val_split_is_saved_with_a_warning_that_diagnose_needs_one(tmp_path):
    recorder = lossgap.Recorder()
    for _ in range(2):
        recorder.update("train", torch.arange(6), torch.randn(6, 2), torch.arange(6) % 2)
        recorder.end_epoch()
    with pytest.warns(LossgapWarning, match=r"holds no val split, and lossgap diagnose needs one; .*"
                                            r"recorder\.update\('val'"):
        run = lossgap.save_recorded_run(recorder, tmp_path / "run")
    assert (run / "dynamics.npz").exists()
    with pytest.raises(RunDirError, match="validation split"):
        lossgap.diagnose(run)


def test_described_settings_are_saved_in_config_json_and_survive_a_recovery_from_the_store(feed_recorder, tmp_path):
    model = torch.nn.Sequential(torch.nn.LSTM(3, 1, batch_first=True))
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.005, weight_decay=10.0)
    expected = {"model": {"kind": "lstm", "class": "Sequential", "convolutions": False, "batch_norm": False,
                          "hidden_size": 1,
                          "num_layers": 1, "dropout": 0.0, "parameters": 24, "narrowest_linear": None,
                          "frozen": None},
                "optimizer": {"name": "adamw", "decoupled_weight_decay": True, "lr": 0.005, "weight_decay": 10.0}}
    recorder = lossgap.Recorder(store=tmp_path / "mine" / "epochs")
    assert recorder.settings is None
    assert recorder.describe(model, optimizer) == expected == recorder.settings
    recorder.observe(model)  # observing without the optimizer keeps the one described
    assert recorder.settings == expected
    recorder.stop_observing()
    feed_recorder(recorder, 3)
    saved = lossgap.save_recorded_run(recorder, tmp_path / "mine")
    assert json.loads((saved / "config.json").read_text())["settings"] == expected
    # A killed loop's epochs, saved from its store, keep what was described.
    recovered = lossgap.recover_recorded_run(tmp_path / "mine" / "epochs", tmp_path / "recovered")
    assert json.loads((recovered / "config.json").read_text())["settings"] == expected
    # Without describe() there is nothing to say, and config.json says so.
    plain = lossgap.Recorder()
    feed_recorder(plain, 2)
    assert json.loads((lossgap.save_recorded_run(plain, tmp_path / "plain") / "config.json").read_text())[
        "settings"] is None
    with pytest.raises(TypeError, match=r"^Recorder.describe: model is of type str, not a torch.nn.Module"):
        plain.describe("my model")


def test_what_a_loop_says_of_its_clipping_and_early_stopping_is_kept_and_read_by_the_diagnosis(feed_recorder,
                                                                                                tmp_path):
    from lossgap.diagnosis.evidence import _patience
    from lossgap.diagnosis.remedies import RemedyBook

    model = torch.nn.LSTM(3, 8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    recorder = lossgap.Recorder()
    recorder.describe(model, optimizer, clip_grad=1, early_stopping=5)
    recorder.observe(model)   # said once, kept when observe() describes the model again
    recorder.stop_observing()
    feed_recorder(recorder, 2)
    settings = json.loads((lossgap.save_recorded_run(recorder, tmp_path / "run") / "config.json").read_text())[
        "settings"]
    assert settings["optimizer"]["clip_grad"] == 1.0 and settings["optimizer"]["name"] == "sgd"
    assert settings["early_stopping"] == {"patience": 5, "monitor": "val_loss"}
    book = RemedyBook(None, settings=settings)
    assert book.clip_grad() is None and book.early_stopping(np.linspace(1.0, 0.5, 8)) is None
    assert _patience(settings) == 5
    unsaid = RemedyBook(None, settings={"model": {"hidden_size": 8}})
    assert unsaid.clip_grad() is not None and unsaid.early_stopping(np.r_[np.linspace(1.0, 0.5, 8), 0.6, 0.7, 0.8])
    # numpy's numbers are numbers too
    said = recorder.describe(model, clip_grad=np.float32(0.5), early_stopping=np.int64(7))
    assert said["optimizer"]["clip_grad"] == 0.5 and said["early_stopping"]["patience"] == 7
    for bad, message in (({"clip_grad": 0}, r"clip_grad=0 is not a positive number; pass the max norm"),
                         ({"early_stopping": 2.5}, r"early_stopping=2.5 is not a patience in epochs"),
                         ({"early_stopping_monitor": "val_acc"},
                          r"early_stopping_monitor='val_acc'; use 'val_loss' or 'val_accuracy'")):
        with pytest.raises(ConfigError, match=rf"^Recorder.describe: {message}"):
            recorder.describe(model, **bad)


def test_the_described_learning_rate_is_the_median_the_epochs_ended_with_not_a_warm_ups_start(feed_recorder, tmp_path):
    model = torch.nn.LSTM(3, 8)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.005, weight_decay=10.0)
    warm_up = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor=0.01, total_iters=2)
    recorder = lossgap.Recorder()
    assert recorder.describe(model, optimizer)["optimizer"]["lr"] == 5e-05  # as the warm-up begins
    for _ in range(5):
        feed_recorder(recorder, 1)
        warm_up.step()
    # Epochs ended at 5e-05, 0.0025 (mid warm-up), then 0.005 three times: read as it ran.
    saved = lossgap.save_recorded_run(recorder, tmp_path / "run")
    assert json.loads((saved / "config.json").read_text())["settings"]["optimizer"]["lr"] == 0.005
