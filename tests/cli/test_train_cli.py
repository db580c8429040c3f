"""``lossgap train`` as a user runs it: a run directory, and one clear line with exit code 2 for bad input."""

import csv
import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from lossgap.cli.app import register_commands

runner = CliRunner()
app = register_commands()


def run_cli(*args):
    return runner.invoke(app, [str(arg) for arg in args])


def write_npz(path, **arrays):
    np.savez(path, **arrays)
    return path


def good_arrays(n=40):
    rng = np.random.default_rng(0)
    return {"X": rng.normal(size=(n, 6, 2)).astype(np.float32), "y": np.arange(n) % 2}


def test_train_writes_a_complete_run_directory(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "synthetic:sum-sign,samples=120", "--out", out, "--epochs", "3",
                     "--early-stopping", "2", "--seed", "5")
    assert result.exit_code == 0, result.output
    for name in ("config.json", "metrics.csv", "summary.json", "dynamics.npz", "checkpoints/last.pt",
                 "checkpoints/best.pt"):
        assert (out / name).exists(), name
    config = json.loads((out / "config.json").read_text())
    assert config["train"]["seed"] == 5 and config["train"]["early_stopping"]["patience"] == 2
    assert config["versions"]["torch"] and config["command"].startswith("lossgap train synthetic:sum-sign")
    rows = list(csv.DictReader((out / "metrics.csv").open()))
    assert len(rows) == json.loads((out / "summary.json").read_text())["epochs_run"]
    for column in ("train_loss", "val_loss", "train_accuracy", "val_accuracy", "train_balanced_accuracy",
                   "val_balanced_accuracy", "lr", "grad_norm", "seconds"):
        assert column in rows[0]


def assert_rerun_command_reproduces_metrics(first, second):
    """Run the command stored in first/config.json into ``second``; metrics.csv must match but for seconds."""
    command = json.loads((first / "config.json").read_text())["command"].split()
    command[command.index("--out") + 1] = str(second)
    assert run_cli(*command[1:]).exit_code == 0
    strip = lambda path: [{k: v for k, v in row.items() if k != "seconds"}
                          for row in csv.DictReader((path / "metrics.csv").open())]
    assert strip(first) == strip(second)


def test_the_rerun_command_in_config_reproduces_the_metrics(tmp_path):
    first = tmp_path / "first"
    assert run_cli("train", "synthetic:sum-sign,samples=80", "--out", first, "--epochs", "2",
                   "--dropout", "0.1", "--seed", "2").exit_code == 0
    assert_rerun_command_reproduces_metrics(first, tmp_path / "second")


def test_patch_auto_and_max_readout_are_stored_resolved_and_rerun_the_same(tmp_path):
    first = tmp_path / "first"
    result = run_cli("train", "synthetic:sum-sign,samples=80,length=70", "--out", first, "--epochs", "2",
                     "--readout", "max", "--patch", "auto")
    assert result.exit_code == 0, result.output
    config = json.loads((first / "config.json").read_text())
    assert config["train"]["model"]["patch_length"] == "auto" and config["train"]["model"]["readout"] == "max"
    # 70 steps need patches of 3 to leave at most 32 LSTM steps; the checkpoint and config.json say so.
    assert config["model"]["patch_length"] == 3 and config["model"]["input_size"] == 1
    checkpoint = torch.load(first / "checkpoints" / "last.pt", weights_only=True)
    assert checkpoint["hyperparameters"]["patch_length"] == 3
    assert "--readout max --patch auto" in config["command"]
    assert_rerun_command_reproduces_metrics(first, tmp_path / "second")


def test_a_second_run_into_the_same_directory_is_refused_and_keeps_the_first(tmp_path):
    out = tmp_path / "run"
    assert run_cli("train", "synthetic:random-labels", "--out", out, "--epochs", "1").exit_code == 0
    before = (out / "metrics.csv").read_text()
    result = run_cli("train", "synthetic:random-labels", "--out", out, "--epochs", "2")
    assert result.exit_code == 2
    assert "already holds a run; choose another --out or pass --overwrite" in result.stderr
    assert (out / "metrics.csv").read_text() == before
    assert run_cli("train", "synthetic:random-labels", "--out", out, "--epochs", "2", "--overwrite").exit_code == 0
    assert len((out / "metrics.csv").read_text().splitlines()) == 3


def test_overwrite_with_bad_data_loses_nothing(tmp_path):
    out = tmp_path / "run"
    assert run_cli("train", "synthetic:random-labels", "--out", out, "--epochs", "1").exit_code == 0
    before = (out / "metrics.csv").read_text()
    result = run_cli("train", tmp_path / "missing.npz", "--out", out, "--overwrite")
    assert result.exit_code == 2
    assert (out / "metrics.csv").read_text() == before


BAD_OPTIONS = [
    (["--hidden", "0"], "--hidden"),
    (["--layers", "-1"], "--layers"),
    (["--epochs", "0"], "--epochs"),
    (["--batch-size", "0"], "--batch-size"),
    (["--val-fraction", "1.5"], "--val-fraction"),
    (["--val-fraction", "0"], "--val-fraction"),
    (["--train-fraction", "0"], "--train-fraction"),
    (["--train-fraction", "1.5"], "--train-fraction"),
    (["--dropout", "1"], "--dropout"),
    (["--dropout", "-0.1"], "--dropout"),
    (["--optimizer", "rmsprop"], "--optimizer"),
    (["--monitor", "val_f1"], "--monitor"),
    (["--readout", "attention"], "--readout"),
    (["--patch", "0"], "--patch"),
    (["--patch", "half"], "--patch"),
]


@pytest.mark.parametrize("options, named", BAD_OPTIONS)
def test_bad_option_values_get_one_line_naming_the_option(tmp_path, options, named):
    result = run_cli("train", "synthetic:random-labels", "--out", tmp_path / "run", *options)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused(tmp_path):
    result = run_cli("train", "synthetic:random-labels", "--out", tmp_path / "run", "--device", "cuda")
    assert result.exit_code == 2 and "--device cpu" in result.stderr


def bad_files(tmp_path):
    good = good_arrays()
    nan_x = good["X"].copy()
    nan_x[3, 2, 1] = np.nan
    inf_x = good["X"].copy()
    inf_x[0, 0, 0] = np.inf
    (tmp_path / "text.npz").write_text("id,t,label\n")
    (tmp_path / "folder.npz").mkdir()
    return [
        (tmp_path / "missing.npz", "does not exist"),
        (tmp_path / "folder.npz", "not a file"),
        (tmp_path / "text.npz", "not an npz"),
        (write_npz(tmp_path / "rank.npz", X=good["X"][:, :, 0], y=good["y"]), "3 dimensions"),
        (write_npz(tmp_path / "nan.npz", X=nan_x, y=good["y"]), "NaN or inf"),
        (write_npz(tmp_path / "inf.npz", X=inf_x, y=good["y"]), "NaN or inf"),
        (write_npz(tmp_path / "short_y.npz", X=good["X"], y=good["y"][:-1]), "one label per sample"),
        (write_npz(tmp_path / "one_class.npz", X=good["X"], y=np.zeros(40, int)), "at least 2 classes"),
        (write_npz(tmp_path / "tiny_class.npz", X=good["X"], y=np.r_[np.zeros(39, int), 1]),
         "at least 2 per class"),
        (write_npz(tmp_path / "lengths.npz", X=good["X"], y=good["y"], lengths=np.full(40, 9)), "lengths"),
        (write_npz(tmp_path / "no_y.npz", X=good["X"]), "'y'"),
    ]


def test_each_bad_data_file_gets_its_own_message(tmp_path):
    for path, message in bad_files(tmp_path):
        result = run_cli("train", path, "--out", tmp_path / f"run_{path.stem}")
        assert result.exit_code == 2, (path, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (path, result.stderr)
        assert message in lines[0], (path, lines[0])
        assert path.name in lines[0], (path, lines[0])


def test_the_installed_command_exits_2_without_a_traceback(tmp_path):
    installed = Path(sys.executable).parent / "lossgap"
    completed = subprocess.run([str(installed), "train", str(tmp_path / "none.npz"),
                                "--out", str(tmp_path / "run")], capture_output=True, text=True)
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr and completed.stderr.startswith("lossgap: error:")


def test_help_is_available_everywhere():
    for args in ([], ["train"], ["demo"]):
        result = run_cli(*args, "--help")
        assert result.exit_code == 0 and "Usage" in result.output


@pytest.mark.parametrize("kind, extra", [("gru", []), ("lstm-fcn", ["--fcn-width", "4"])])
def test_model_families_train_store_their_kind_and_rerun_the_same(tmp_path, kind, extra):
    first = tmp_path / "first"
    result = run_cli("train", "synthetic:sum-sign,samples=80", "--out", first, "--epochs", "2", "--model", kind, *extra)
    assert result.exit_code == 0, result.output
    config = json.loads((first / "config.json").read_text())
    assert config["train"]["model"]["kind"] == kind and config["model"]["kind"] == kind
    assert f"--model {kind}" in config["command"]
    checkpoint = torch.load(first / "checkpoints" / "last.pt", weights_only=True)
    from lossgap.model import model_from_hyperparameters

    model = model_from_hyperparameters(checkpoint["hyperparameters"])
    model.load_state_dict(checkpoint["state_dict"])
    assert model.KIND == kind
    assert_rerun_command_reproduces_metrics(first, tmp_path / "second")


def test_the_report_path_is_the_last_line(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", "synthetic:sum-sign,samples=60", "--out", out, "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == f"report: {out / 'report.html'}"


@pytest.mark.parametrize("args, message", [
    (["train", "synthetic:sum-sign", "--out", "x", "--epochs", "abc"], "Invalid value for '--epochs'"),
    (["train", "synthetic:sum-sign", "--bogus"], "No such option: --bogus"),
    (["trian"], "No such command 'trian'"),
    (["remedy"], "Missing argument"),
])
def test_usage_errors_are_one_line_like_every_other_bad_input(args, message):
    result = runner.invoke(app, args, terminal_width=80)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lossgap: error: ") and message in lines[0], result.stderr
    assert "--help'" in lines[0] and "\u256d" not in result.stderr   # names where to look; no rich box


def test_train_help_is_readable_at_80_columns():
    completed = subprocess.run([sys.executable, "-m", "lossgap.cli.app", "train", "--help"], capture_output=True,
                               text=True, env={**__import__("os").environ, "COLUMNS": "80"})
    lines = completed.stdout.splitlines()
    assert completed.returncode == 0 and all(len(line) <= 80 for line in lines)
    # descriptions get about 50 columns beside the flags, not a 24-column strip (165 lines before)
    assert len(lines) < 125 and any("Replace a run already in --out." in line for line in lines)


def test_an_overwrite_stopped_before_its_first_epoch_says_the_earlier_run_is_back(tmp_path, monkeypatch):
    from lossgap import api
    from lossgap.run import writer
    out = tmp_path / "run"
    assert run_cli("train", "synthetic:sum-sign,samples=60", "--out", out, "--epochs", "2").exit_code == 0
    before = (out / "metrics.csv").read_text()

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while the new run loads or trains its first epoch
    monkeypatch.setattr(writer, "train_into", stopped)
    config = api.TrainConfig.from_dict(json.loads((out / "config.json").read_text())["train"])
    with pytest.raises(api.PreviousRunRestored):
        api.train(config, out, overwrite=True)
    assert (out / "metrics.csv").read_text() == before
    result = run_cli("train", "synthetic:sum-sign,samples=60", "--out", out, "--epochs", "3", "--overwrite")
    assert result.exit_code == 130
    said = " ".join(result.stderr.split())
    assert "holds the earlier run again" in said and "what finished" not in said
    assert (out / "metrics.csv").read_text() == before


def test_train_stopped_before_its_first_epoch_prints_only_how_to_continue(tmp_path, monkeypatch):
    from lossgap.training import trainer
    original = trainer.train_one_epoch

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C during the first epoch
    monkeypatch.setattr(trainer, "train_one_epoch", stopped)
    out = tmp_path / "run"
    result = run_cli("train", "synthetic:sum-sign,samples=60", "--out", out, "--epochs", "3")
    said = " ".join(result.output.split())
    assert result.exit_code == 130, result.output
    assert f"interrupted before its first epoch finished; continue it with lossgap train --resume {out}" in said
    assert "epoch 0" not in said and "final" not in said
    monkeypatch.setattr(trainer, "train_one_epoch", original)
    assert run_cli("train", "--resume", out).exit_code == 0


def test_the_stored_command_of_a_fixed_val_run_keeps_its_threads_and_no_val_fraction(tmp_path):
    # The data bring their own val split, so --val-fraction would do nothing; the thread count is part of the
    # run's numbers. Both hold for the rerun command and for the diagnosis's remedy commands.
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(40, 5, 2)), y=np.arange(40) % 2,
             X_val=rng.normal(size=(12, 5, 2)), y_val=np.arange(12) % 2)
    first, threads = tmp_path / "first", str(torch.get_num_threads())  # the count in use: nothing leaks
    result = run_cli("train", str(tmp_path / "d.npz"), "--out", first, "--epochs", "3", "--threads", threads)
    assert result.exit_code == 0, result.output
    command = shlex.split(json.loads((first / "config.json").read_text())["command"])
    assert "--val-fraction" not in command and command[command.index("--threads") + 1] == threads
    assert_rerun_command_reproduces_metrics(first, tmp_path / "second")
    remedies = [remedy for verdict in json.loads(run_cli("diagnose", first, "--json").output)["verdicts"]
                for remedy in verdict["remedies"] if remedy["command"]]
    assert remedies
    for remedy in remedies:
        words = shlex.split(remedy["command"])
        assert "--val-fraction" not in words and words[words.index("--threads") + 1] == threads, remedy["command"]
