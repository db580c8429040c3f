"""Damaged or odd run directories and inputs: each is one line naming the problem and the fix (exit 2 from the
CLI), never a traceback, and nothing is silently read wrong."""

import json
import shutil

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import lossgap
from lossgap.cli.app import register_commands
from lossgap.errors import DataError, RunDirError
from lossgap.run.rundir import read_run

runner = CliRunner()
app = register_commands()


def refused(run, match):
    """diagnose refuses ``run`` with one line containing ``match`` and exit code 2."""
    result = runner.invoke(app, ["diagnose", str(run)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0], result.stderr
    with pytest.raises(RunDirError):
        read_run(run)


def test_a_non_numeric_metrics_cell_is_named(copy):
    lines = (copy / "metrics.csv").read_text().splitlines()
    cells = lines[2].split(",")
    cells[1] = "abc"
    lines[2] = ",".join(cells)
    (copy / "metrics.csv").write_text("\n".join(lines) + "\n")
    refused(copy, "line 3: train_loss is 'abc'")


def test_a_short_metrics_row_before_the_last_is_damage_not_a_cut(copy):
    lines = (copy / "metrics.csv").read_text().splitlines()
    lines[2] = ",".join(lines[2].split(",")[:3])
    (copy / "metrics.csv").write_text("\n".join(lines) + "\n")
    refused(copy, "metrics.csv is damaged (metrics.csv row 2 has fewer fields than the header); train the run")


def test_metrics_cut_mid_row_no_longer_match_the_dynamics(copy):
    text = (copy / "metrics.csv").read_text()
    (copy / "metrics.csv").write_text(text[: text.index("\n", text.index("\n") + 1) + 12])
    refused(copy, "has 1 epochs but dynamics.npz 3")


def test_a_garbage_dynamics_file_is_corrupt_not_a_newer_format(copy):
    (copy / "dynamics.npz").write_bytes(b"not an archive")
    refused(copy, "is corrupt (not an npz archive)")


@pytest.mark.parametrize("payload", ["[1, 2]", "\"text\"", "{not json"])
def test_a_config_that_is_not_a_json_object_is_refused(copy, payload):
    (copy / "config.json").write_text(payload)
    refused(copy, "config.json")


def test_an_infinite_learning_rate_is_refused_before_training(tmp_path):
    result = runner.invoke(app, ["train", "synthetic:sum-sign,samples=80", "--out", str(tmp_path / "r"), "--lr", "inf"])
    assert result.exit_code == 2 and "finite number" in result.stderr
    assert not (tmp_path / "r").exists()


def test_fractional_labels_are_refused(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, X=np.zeros((40, 5, 1), dtype=np.float32), y=np.r_[np.zeros(20), np.ones(19), [0.5]])
    with pytest.raises(DataError, match="holds 0.5, not a whole number"):
        lossgap.load_splits(str(path))


def test_a_loss_nan_from_the_first_epoch_is_unstable_optimization(tmp_path):
    recorder = lossgap.Recorder()
    ids, labels = torch.arange(40), torch.arange(40) % 2
    for _ in range(5):
        recorder.update("train", ids[:30], torch.full((30, 2), float("nan")), labels[:30])
        recorder.update("val", ids[30:], torch.full((10, 2), float("nan")), labels[30:])
        recorder.end_epoch()
    run = lossgap.save_recorded_run(recorder, tmp_path / "nan")
    diagnosis = lossgap.diagnose(run)
    assert diagnosis.causes[0] == "unstable_optimization", diagnosis.to_text()
    assert diagnosis.verdicts[0].evidence["non_finite_epochs"] == [1, 2, 3, 4, 5]
    assert json.loads((run / "diagnosis.json").read_text())["verdicts"][0]["cause"] == "unstable_optimization"


FILES = ["config.json", "metrics.csv", "summary.json", "dynamics.npz", "optimization.csv"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(FILES), how=st.sampled_from(["truncate", "garbage", "flip"]),
       position=st.floats(0.0, 1.0), garbage=st.binary(min_size=0, max_size=64))
def test_any_corrupted_run_file_is_diagnosed_or_refused_in_one_line(finished, tmp_path, name, how, position, garbage):
    run = tmp_path / "corrupt"
    shutil.rmtree(run, ignore_errors=True)
    shutil.copytree(finished, run)
    data = (run / name).read_bytes()
    cut = int(position * len(data))
    if how == "truncate":
        data = data[:cut]
    elif how == "garbage":
        data = garbage
    else:
        data = data[:cut] + bytes([data[cut] ^ 0xFF]) + data[cut + 1:] if cut < len(data) else data + b"\xff"
    (run / name).write_bytes(data)
    result = runner.invoke(app, ["diagnose", str(run), "--no-write"])
    assert result.exit_code in (0, 2), (name, how, result.output, result.exception)
    if result.exit_code == 2:
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_unwritable_places_are_one_line_and_diagnose_still_prints(copy, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    train = runner.invoke(app, ["train", "synthetic:sum-sign,samples=80", "--out", str(blocked / "run"), "--epochs", "2"])
    assert train.exit_code == 2 and len(train.stderr.strip().splitlines()) == 1 and str(blocked) in train.stderr
    shutil.copytree(copy, tmp_path / "other")
    compare = runner.invoke(app, ["compare", str(copy), str(tmp_path / "other"), "--out", str(blocked / "c.html")])
    assert compare.exit_code == 2 and len(compare.stderr.strip().splitlines()) == 1 and "c.html" in compare.stderr
    (copy / "diagnosis.json").unlink(missing_ok=True)
    (copy / "diagnosis.json").mkdir()   # a path that cannot take the file
    diagnosed = runner.invoke(app, ["diagnose", str(copy)])
    assert diagnosed.exit_code == 0 and diagnosed.stdout.strip()
    assert "diagnosis.json not written" in diagnosed.stderr
