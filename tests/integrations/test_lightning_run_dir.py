"""LossgapCallback's run directory and epoch store: a fit stopped by an error or Ctrl-C keeps its finished epochs, and
an out or store holding an earlier recording is refused before training."""

import re
import shutil
import signal

import numpy as np
import pytest
import torch

import lossgap
from fixtures.lightning import fit
from lossgap import ConfigError, RunDirError, read_run
from lossgap.epoch_store import stored_epochs


def counting_model(example):
    """The example's model class, counting its training steps in ``steps`` (0 = fit stopped before training)."""
    class Counting(example.SequenceModel):
        steps = 0

        def training_step(self, batch, batch_idx):
            Counting.steps += 1
            return super().training_step(batch, batch_idx)

    return Counting


def test_an_existing_run_stops_fit_before_any_training(tmp_path, pl, example, LossgapCallback):
    Counting = counting_model(example)
    out = tmp_path / "run"
    out.mkdir()
    (out / "config.json").write_text("{}")
    train_loader, val_loader = example.make_loaders(samples=100)
    with pytest.raises(RunDirError, match="overwrite"):
        fit(pl, Counting(), train_loader, val_loader, [LossgapCallback(out)], max_epochs=1)
    assert Counting.steps == 0 and (out / "config.json").read_text() == "{}"


def test_an_error_during_fit_keeps_the_finished_epochs(tmp_path, pl, example, LossgapCallback):
    class FailsInThirdEpoch(example.SequenceModel):
        def training_step(self, batch, batch_idx):
            if self.current_epoch == 2 and batch_idx == 1:
                raise RuntimeError("boom")
            return super().training_step(batch, batch_idx)

    train_loader, val_loader = example.make_loaders(samples=100)
    with pytest.raises(RuntimeError, match="boom"):
        fit(pl, FailsInThirdEpoch(), train_loader, val_loader, [LossgapCallback(tmp_path / "run")], max_epochs=5)
    record = read_run(tmp_path / "run")
    assert record.num_epochs == 2 and record.dynamics["train"].seen.all() and record.dynamics["val"].seen.all()
    assert record.summary["status"] == "interrupted" and record.summary["stopped_by"] == "RuntimeError"


def test_ctrl_c_during_fit_marks_the_run_interrupted_as_lossgap_train_does(tmp_path, pl, example, LossgapCallback):
    class InterruptedInThirdEpoch(example.SequenceModel):
        def training_step(self, batch, batch_idx):
            if self.current_epoch == 2 and batch_idx == 1:
                raise KeyboardInterrupt
            return super().training_step(batch, batch_idx)

    train_loader, val_loader = example.make_loaders(samples=100)
    handler = signal.getsignal(signal.SIGINT)
    try:  # Lightning answers Ctrl-C with sys.exit(1), ignoring further Ctrl-C from then on
        with pytest.raises(SystemExit):
            fit(pl, InterruptedInThirdEpoch(), train_loader, val_loader, [LossgapCallback(tmp_path / "run")],
                max_epochs=5)
    finally:
        signal.signal(signal.SIGINT, handler)
    record = read_run(tmp_path / "run")
    assert record.num_epochs == 2 and record.metrics["epoch"].tolist() == [1, 2]
    assert {key: record.summary[key] for key in ("status", "epochs_run", "epochs_planned", "stopped_by")} == {
        "status": "interrupted", "epochs_run": 2, "epochs_planned": 5, "stopped_by": "KeyboardInterrupt"}


def test_a_store_holds_every_finished_epoch_while_fit_runs(tmp_path, pl, example, LossgapCallback):
    from lossgap.training.recorder import Recorder

    store, killed = tmp_path / "epochs", tmp_path / "killed"

    class CopiesTheStoreInThirdEpoch(example.SequenceModel):
        def training_step(self, batch, batch_idx):
            if self.current_epoch == 2 and batch_idx == 0:
                shutil.copytree(store, killed)  # what a kill -9 at this moment leaves
            return super().training_step(batch, batch_idx)

    train_loader, val_loader = example.make_loaders(samples=100)
    callback = LossgapCallback(tmp_path / "run", store=store)
    fit(pl, CopiesTheStoreInThirdEpoch(), train_loader, val_loader, [callback], max_epochs=3)
    assert stored_epochs(killed) == [1, 2] and stored_epochs(store) == [1, 2, 3]
    # Recovered (the recorder it was written by, read back) into a run equal to the fit's first two epochs.
    lossgap.save_recorded_run(Recorder.resumed(killed, 2), tmp_path / "recovered")
    recovered, full = read_run(tmp_path / "recovered"), read_run(tmp_path / "run")
    assert recovered.num_epochs == 2 and full.num_epochs == 3
    for split in ("train", "val"):
        got, expected = recovered.dynamics[split], full.dynamics[split]
        np.testing.assert_array_equal(got.sample_ids, expected.sample_ids)
        np.testing.assert_array_equal(got.labels, expected.labels)
        for field in ("true_log_prob", "predicted", "margin"):
            np.testing.assert_array_equal(getattr(got, field), getattr(expected, field)[:2])
        np.testing.assert_allclose(recovered.metrics[f"{split}_loss"], full.metrics[f"{split}_loss"][:2])


def test_a_store_inside_out_or_holding_an_earlier_fit_is_refused_before_training(tmp_path, pl, example,
                                                                                 LossgapCallback):
    with pytest.raises(ConfigError, match=r"store='.*run/epochs' lies inside out='.*run', whose run files are "
                                          r"replaced .*; choose a directory beside it, e.g. store='.*run-epochs'"):
        LossgapCallback(tmp_path / "run", store=tmp_path / "run" / "epochs")
    with pytest.raises(ConfigError, match=r"^LossgapCallback: out='.*epochs/run' lies inside store='.*epochs', so "
                                          r"deleting the store would delete the run; choose an out beside it, e.g. "
                                          r"out='.*epochs-run'$"):
        LossgapCallback(tmp_path / "epochs" / "run", store=tmp_path / "epochs")
    store = tmp_path / "epochs"
    train_loader, val_loader = example.make_loaders(samples=100)
    fit(pl, example.SequenceModel(), train_loader, val_loader, [LossgapCallback(tmp_path / "first", store=store)],
        max_epochs=2)
    # Saving the earlier fit's epochs is named as the call that does it, into the out this fit was given.
    recover = re.escape(f"lossgap.recover_recorded_run({str(store)!r}, {str(tmp_path / 'second')!r})")
    with pytest.raises(RunDirError, match=r"^LossgapCallback: store='.*epochs' holds 2 epoch files of an earlier fit, "
                                          r"which the new epochs would mix with; pass overwrite=True to delete them "
                                          rf"and start afresh, save it first with {recover}, or choose another store$"):
        fit(pl, example.SequenceModel(), train_loader, val_loader,
            [LossgapCallback(tmp_path / "second", store=store)], max_epochs=1)
    assert not (tmp_path / "second").exists()
    fit(pl, example.SequenceModel(), train_loader, val_loader,
        [LossgapCallback(tmp_path / "second", store=store, overwrite=True)], max_epochs=1)
    assert sorted(path.name for path in store.iterdir()) == ["epoch_00001.npz"]
    assert read_run(tmp_path / "second").num_epochs == 1


def test_an_out_holding_an_own_loops_epoch_store_stops_fit_before_training_naming_its_recovery(tmp_path, pl, example,
                                                                                              LossgapCallback):
    Counting = counting_model(example)
    out = tmp_path / "run"
    recorder = lossgap.Recorder(store=out / "epochs")  # an own loop killed before its run was saved
    recorder.update("train", torch.arange(4), torch.randn(4, 2), torch.arange(4) % 2)
    recorder.end_epoch()
    train_loader, val_loader = example.make_loaders(samples=100)
    recover = re.escape(f"lossgap.recover_recorded_run({str(out / 'epochs')!r}, {str(out)!r})")
    for overwrite in (False, True):  # saving would delete those epochs: refused either way, not after training
        with pytest.raises(RunDirError, match=rf"holds the epoch store of another recording .*; choose another out "
                                              rf"directory, save that store first with {recover}, or delete it$"):
            fit(pl, Counting(), train_loader, val_loader, [LossgapCallback(out, overwrite=overwrite)], max_epochs=1)
    assert Counting.steps == 0
    assert sorted(path.name for path in out.iterdir()) == ["epochs"] and stored_epochs(out / "epochs") == [1]
