"""A run whose config.json names its data file by a relative path (as an older lossgap stored it) is resumed and
remedied from the directory it was trained in, and refused in one line elsewhere, naming the path and the fix."""

import json
import re

import pytest
from fixtures.data import write_npz
from fixtures.training import stopped_run
from typer.testing import CliRunner

from lossgap.cli.app import register_commands
from lossgap.data import DataConfig
from lossgap.errors import DataError
from lossgap.remedies.runner import run_remedies
from lossgap.resume import resume, resume_state_of
from lossgap.run import rundir
from lossgap.run.data_source import run_train_config, stored_relative
from lossgap.training.config import TrainConfig


@pytest.fixture
def older_run(data_dir, tmp_path):
    """A run trained on data_dir/d.npz, stopped after epoch 2 of 3 (resumable), its config.json naming the data
    file 'd.npz' as an older lossgap stored it; the current directory is data_dir."""
    config = TrainConfig(data=DataConfig(source="d.npz"), epochs=3, batch_size=8)
    out = stopped_run(tmp_path / "runs" / "old", config, stop_after=2)
    payload = json.loads((out / rundir.CONFIG_FILE).read_text())
    payload["train"]["data"]["source"] = payload["data"]["source"] = "d.npz"
    (out / rundir.CONFIG_FILE).write_text(json.dumps(payload))
    return out


@pytest.mark.parametrize("source, relative", [("d.npz", True), ("data/d.CSV", True), ("/abs/d.npz", False),
                                              ("~/d.npz", False), ("synthetic:sum-sign", False),
                                              ("aeon:GunPoint", False)])
def test_a_relative_data_file_path_is_told_from_the_others(source, relative):
    assert stored_relative(source) is relative


def test_an_older_run_is_resumed_from_the_directory_it_was_trained_in(older_run, data_dir):
    config = run_train_config(rundir.read_config(older_run), older_run)
    assert config.data.source == str(data_dir / "d.npz")
    result = resume(older_run, diagnose_run=False)
    assert result.summary["status"] == "epochs" and rundir.read_run(older_run).num_epochs == 3


def test_an_older_run_used_from_another_directory_names_the_relative_path_and_the_fix(older_run, tmp_path,
                                                                                      monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config_file = re.escape(str(older_run / rundir.CONFIG_FILE))
    expected = (rf"^{config_file} names its data file by the relative path 'd.npz', as an older lossgap stored it "
                r"\(relative to the directory the run was trained in, which it did not record\); it is not in the "
                rf"current directory \({re.escape(str(elsewhere / 'd.npz'))} does not exist\); work from the "
                rf"directory the run was trained in \(this is {re.escape(str(elsewhere))}\), or set "
                rf"train.data.source in {config_file} to the file's absolute path$")
    with pytest.raises(DataError, match=expected):
        resume_state_of(older_run)
    with pytest.raises(DataError, match=expected):
        run_remedies(older_run, replicates=2, workers=1)
    assert not (older_run / rundir.REMEDY_DIR).exists()
    result = CliRunner().invoke(register_commands(), ["train", "--resume", str(older_run)])
    assert result.exit_code == 2 and "as an older lossgap stored it" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert rundir.read_run(older_run).num_epochs == 2  # nothing trained


def test_a_same_named_file_holding_other_data_is_refused(older_run, tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    write_npz(elsewhere / "d.npz", samples=30)
    monkeypatch.chdir(elsewhere)
    with pytest.raises(DataError, match=r"names its data file by the relative path 'd.npz', .*; .*elsewhere/d.npz in "
                                        r"the current directory holds other data \(train has 24 samples, the run's "
                                        r"16\); work from the directory the run was trained in"):
        resume_state_of(older_run)


def test_the_rerun_commands_of_an_older_run_keep_its_relative_path_whatever_the_current_directory(older_run,
                                                                                                tmp_path, monkeypatch):
    from lossgap.diagnosis.remedies import RemedyBook
    from lossgap.run.reader import retrain_advice

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = rundir.read_config(older_run)
    command = RemedyBook(config["train"], str(older_run)).command_for("more_epochs", {"epochs": 6})
    advice = retrain_advice(older_run, config)
    # As stored, the commands work from the directory the run was trained in; made absolute here they would
    # name elsewhere/d.npz, which does not exist.
    for words in (command, advice):
        assert "lossgap train d.npz " in words and str(elsewhere) not in words, words
