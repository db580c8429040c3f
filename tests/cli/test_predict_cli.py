"""``lossgap predict``: each run's delivered model scored on a split, the seed ensemble's average beside them, the
probabilities as CSV; bad input in one line."""

import csv

import numpy as np
import pytest
from typer.testing import CliRunner

from lossgap.cli.app import register_commands

runner = CliRunner()
app = register_commands()
DATA = "synthetic:frequency,samples=160,classes=3,length=12,test_samples=60"


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict-cli")
    for seed in (0, 1):
        result = runner.invoke(app, ["train", DATA, "--epochs", "4", "--seed", str(seed), "--threads", "1",
                                     "--out", str(root / f"s{seed}")])
        assert result.exit_code == 0, result.output
    return [root / "s0", root / "s1"]


def test_two_seeds_are_scored_with_their_average_and_its_probabilities_written(two_seeds, tmp_path):
    import lossgap

    out = tmp_path / "ensemble.csv"
    result = runner.invoke(app, ["predict", *map(str, two_seeds), "--out", str(out)])
    assert result.exit_code == 0, result.output
    averaged = lossgap.average_predictions([lossgap.predict(run) for run in two_seeds])
    assert "average of the 2" in result.stdout and f"{averaged.accuracy:.4f}" in result.stdout
    with open(out) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 60 and list(rows[0])[:3] == ["id", "label", "predicted"]
    probabilities = np.array([[float(row[name]) for name in averaged.class_names] for row in rows])
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.allclose(probabilities, averaged.probabilities, atol=1e-5)


@pytest.mark.parametrize("args, message", [
    (["--split", "holdout"], "unknown split 'holdout'; choose train, val or test"),
    (["--split", "val"], "not on the same samples"),      # each seed carves its own val split
])
def test_bad_input_is_one_line_and_exit_2(two_seeds, args, message):
    result = runner.invoke(app, ["predict", *map(str, two_seeds), *args])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_runs_with_one_split_seed_share_their_val_split_and_average_on_it(tmp_path):
    runs = []
    for seed in (0, 1):
        runs.append(tmp_path / f"s{seed}")
        result = runner.invoke(app, ["train", DATA, "--epochs", "2", "--seed", str(seed), "--split-seed", "5",
                                     "--threads", "1", "--out", str(runs[-1])])
        assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["predict", *map(str, runs), "--split", "val"])
    assert result.exit_code == 0 and "average of the 2" in result.stdout, result.output
    import lossgap

    first, second = (lossgap.predict(run, "val") for run in runs)
    # The same val samples, but two initialisations: the members differ.
    assert np.array_equal(first.ids, second.ids) and not np.allclose(first.probabilities, second.probabilities)


@pytest.mark.parametrize("where, message", [("missing", "does not exist; pass the --out directory of a training run"),
                                            ("empty", "holds no run (no config.json); pass the --out directory"),
                                            ("file", "is a file, not a run directory")])
def test_a_path_that_holds_no_run_is_refused_as_diagnose_refuses_it(tmp_path, where, message):
    path = tmp_path / where
    if where == "empty":
        path.mkdir()
    elif where == "file":
        path.write_text("not a run")
    for command in ("predict", "diagnose"):
        result = runner.invoke(app, [command, str(path)])
        assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output, command
        assert len(result.output.strip().splitlines()) == 1
