"""Run directory: refuses to mix runs, reads back what it wrote, explains what is wrong in one line."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import lossgap
from lossgap.data import DataConfig
from lossgap.errors import RunDirError
from lossgap.run import rundir
from lossgap.training.config import TrainConfig


def test_a_directory_holding_a_run_is_refused_unless_overwrite(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(RunDirError, match="already holds a run; choose another out directory or pass overwrite=True") as error:
        rundir.check_out_dir(tmp_path, overwrite=False)
    assert error.value.cli_message.endswith("choose another --out or pass --overwrite to replace it")
    assert rundir.check_out_dir(tmp_path, overwrite=True) == tmp_path
    assert rundir.check_out_dir(tmp_path / "new", overwrite=False) == tmp_path / "new"


def test_a_file_as_out_is_refused(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(RunDirError, match="is a file, not a directory"):
        rundir.check_out_dir(target, overwrite=True)


def test_an_epoch_store_as_out_is_refused_in_the_wording_of_the_interface_in_use(make_recorded, tmp_path):
    store = tmp_path / "epochs"
    make_recorded(2, store=store)
    for overwrite in (False, True):  # overwrite removes run entries only: the epoch files would stay, mixed in
        with pytest.raises(RunDirError, match=r"^out='.*epochs' is an epoch store \(2 epoch files of a recording\), "
                                              "not a run directory; choose another out directory$") as error:
            rundir.check_out_dir(store, overwrite=overwrite)
        assert error.value.cli_message.endswith("not a run directory; choose another --out")
    config = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=40"), epochs=1)
    with pytest.raises(RunDirError, match="is an epoch store"):
        lossgap.train(config, store, overwrite=True, diagnose_run=False)
    assert sorted(path.name for path in store.iterdir()) == ["epoch_00001.npz", "epoch_00002.npz"]


def test_clear_run_removes_only_lossgaps_own_files(tmp_path):
    for name in ("config.json", "metrics.csv", "dynamics.npz"):
        (tmp_path / name).write_text("old")
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "best.pt").write_text("old")
    (tmp_path / "my_notes.txt").write_text("keep me")
    rundir.clear_run(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["my_notes.txt"]


def test_metrics_round_trip_keeps_full_precision(tmp_path):
    rows = [{"epoch": 1, "train_loss": 0.1 + 0.2, "val_loss": 1 / 3}, {"epoch": 2, "train_loss": 0.25, "val_loss": 0.5}]
    rundir.write_metrics(tmp_path, rows)
    columns = rundir.read_metrics(tmp_path)
    np.testing.assert_array_equal(columns["epoch"], [1, 2])
    assert columns["train_loss"][0] == 0.1 + 0.2 and columns["val_loss"][0] == 1 / 3


def test_checkpoints_load_with_weights_only(tmp_path):
    state = {"weight": torch.arange(6.0).reshape(2, 3)}
    path = rundir.save_checkpoint(tmp_path, "best", hyperparameters={"hidden_size": 4}, state=state, epoch=7,
                                  extra={"class_names": ["a", "b"]})
    loaded = rundir.load_checkpoint(path)
    assert loaded["epoch"] == 7 and loaded["class_names"] == ["a", "b"]
    torch.testing.assert_close(loaded["state_dict"]["weight"], state["weight"])


def test_an_unsafe_or_corrupt_checkpoint_is_refused_naming_what_is_wrong(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(RunDirError, match=r"bad.pt is truncated or damaged \(UnpicklingError\); train the run again"):
        rundir.load_checkpoint(tmp_path / "bad.pt")
    rundir.save_checkpoint(tmp_path, "cut", hyperparameters={}, state={"w": torch.zeros(50)}, epoch=1)
    whole = rundir.checkpoint_path(tmp_path, "cut").read_bytes()
    rundir.checkpoint_path(tmp_path, "cut").write_bytes(whole[:len(whole) // 2])
    with pytest.raises(RunDirError, match=r"cut.pt is truncated or damaged \(RuntimeError\); do this"):
        rundir.load_checkpoint(rundir.checkpoint_path(tmp_path, "cut"), fix="do this")
    torch.save({"object": Path("a path is no tensor")}, tmp_path / "unsafe.pt")
    with pytest.raises(RunDirError, match="holds objects other than tensors and plain values"):
        rundir.load_checkpoint(tmp_path / "unsafe.pt")


def test_reading_a_missing_run_names_the_fix_in_the_wording_of_the_interface_in_use(tmp_path):
    python = r"; pass the directory a run was written to \(the out of lossgap.train or lossgap.save_recorded_run\)$"
    cli = "; pass the --out directory of a training run"
    with pytest.raises(RunDirError, match="does not exist" + python) as error:
        rundir.read_run(tmp_path / "nope")
    assert error.value.cli_message.endswith("does not exist" + cli)
    with pytest.raises(RunDirError, match=r"holds no run \(no config.json\)" + python) as error:
        rundir.read_run(tmp_path)
    assert error.value.cli_message.endswith("holds no run (no config.json)" + cli)
    (tmp_path / "README.md").write_text("not a run")
    with pytest.raises(RunDirError, match="README.md is a file, not a run directory" + python) as error:
        rundir.read_run(tmp_path / "README.md")
    assert error.value.cli_message.endswith("README.md is a file, not a run directory" + cli)


def test_a_run_replaced_before_its_first_epoch_names_overwrite_as_the_interface_spells_it(tmp_path):
    (tmp_path / rundir.PREVIOUS_DIR).mkdir()
    with pytest.raises(RunDirError, match="the run started with overwrite=True ended before its first epoch") as error:
        rundir.read_run(tmp_path)
    assert "the run started with --overwrite ended" in error.value.cli_message


def test_an_epoch_store_read_as_a_run_names_the_call_that_saves_its_run(make_recorded, tmp_path):
    out = tmp_path / "run"
    make_recorded(2, store=out / "epochs")
    call = f"lossgap.recover_recorded_run({str(out / 'epochs')!r}, {str(out)!r})"
    for path in (out, out / "epochs"):
        with pytest.raises(RunDirError, match="2 epochs.*, not a run: what an own loop's Recorder") as error:
            rundir.read_run(path)
        assert str(error.value).endswith(f"save its run with {call}")
        assert error.value.cli_message.endswith(f"{call} (from Python), then diagnose {out}")
    recorder, _ = make_recorded(2, store=out / "epochs", overwrite=True)
    lossgap.save_recorded_run(recorder, out)
    with pytest.raises(RunDirError, match=f"epochs is the epoch store of the run in {out}; pass {out}$"):
        rundir.read_run(out / "epochs")


def test_an_own_loops_epoch_store_alone_is_no_run_and_is_never_replaced(make_recorded, tmp_path):
    out = tmp_path / "run"
    make_recorded(2, store=out / "epochs")
    assert rundir.holds_only_store(out) and rundir.check_out_dir(out, overwrite=False) == out
    (out / "config.json").write_text("{}")
    assert not rundir.holds_only_store(out)
    (out / "config.json").unlink()
    # A training run would delete the only copy of its epochs: refused before anything is written, even with
    # overwrite, in the wording of the interface in use.
    config = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=40"), epochs=1)
    for overwrite in (False, True):
        with pytest.raises(RunDirError, match="holds the epoch store of an own training loop .*; choose another out "
                                              "directory, or save it as a run first with lossgap.recover_recorded_run"):
            lossgap.train(config, out, overwrite=overwrite, diagnose_run=False)
    assert sorted(path.name for path in out.iterdir()) == ["epochs"] and len(list((out / "epochs").iterdir())) == 2
    with pytest.raises(RunDirError) as error:
        rundir.set_aside(out)
    assert "choose another --out, or save it" in error.value.cli_message


def test_clear_run_keeps_the_entry_that_holds_a_store_being_saved(tmp_path):
    for name in ("config.json", "metrics.csv"):
        (tmp_path / name).write_text("old")
    (tmp_path / "epochs").mkdir()
    (tmp_path / "epochs" / "epoch_00001.npz").write_text("kept")
    rundir.clear_run(tmp_path, keep=tmp_path / "epochs")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["epochs"]
    rundir.clear_run(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_reading_an_incomplete_run_says_training_ended_early(tmp_path):
    rundir.write_config(tmp_path, {"train": {}})
    with pytest.raises(RunDirError, match="incomplete: training ended before its first epoch"):
        rundir.read_run(tmp_path)


def test_reading_a_newer_format_asks_for_an_upgrade(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(RunDirError, match="newer lossgap"):
        rundir.read_run(tmp_path)



def minimal_run(path):
    """A run directory of two epochs of hand-made val dynamics, as a run from before optimization.csv."""
    from fixtures.dynamics import binary_dynamics
    from lossgap.dynamics import save_dynamics

    rundir.write_config(path, {"train": None})
    rundir.write_metrics(path, [{"epoch": 1, "val_loss": 0.7}, {"epoch": 2, "val_loss": 0.6}])
    save_dynamics(path / rundir.DYNAMICS_FILE, {"val": binary_dynamics([[0.5, 0.6], [0.6, 0.7]])})
    return path


def test_a_run_without_optimization_csv_loads_with_observations_none(tmp_path):
    assert rundir.read_run(minimal_run(tmp_path)).observations is None


def test_optimization_csv_is_read_into_the_record_and_a_broken_one_names_the_fix(tmp_path):
    from lossgap.observations import OptimizationObservations, save_observations

    run = minimal_run(tmp_path)
    rows = [{"steps": 4, "measured_steps": 4, "grad_norm_total": 1.0, "grad_norm:w": 1.0},
            {"steps": 4, "measured_steps": 1, "grad_norm_total": 2.0, "grad_norm:w": 2.0}]
    save_observations(run / rundir.OPTIMIZATION_FILE, OptimizationObservations.from_rows(rows))
    observed = rundir.read_run(run).observations
    assert observed.tensor_names == ("w",) and observed.grad_norm[:, 0].tolist() == [1.0, 2.0]
    (run / rundir.OPTIMIZATION_FILE).write_text("steps\n1\n")
    with pytest.raises(RunDirError, match="optimization.csv is unreadable .*delete it"):
        rundir.read_run(run)
    rundir.clear_run(run)
    assert not (run / rundir.OPTIMIZATION_FILE).exists()
