"""``lossgap remedy`` bad input: one line, exit 2."""

import pytest
from typer.testing import CliRunner

from lossgap.cli.app import register_commands

runner = CliRunner()
app = register_commands()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("remedy_cli") / "run"
    assert runner.invoke(app, ["train", "synthetic:sum-sign,samples=80", "--out", str(out), "--epochs", "3"]).exit_code == 0
    return out


@pytest.mark.parametrize("args, message", [
    (["--replicates", "1"], "at least 2"),
    (["--only", "dropout,teleport"], "unknown remedy 'teleport'"),
    (["--metric", "f1"], "unknown --metric"),
    (["--only", ""], "--only names no remedy; give one or more of bidirectional, class_weights"),
    (["--only", " , "], "--only names no remedy"),
])
def test_bad_requests_get_one_line_and_exit_2(run_dir, args, message):
    result = runner.invoke(app, ["remedy", str(run_dir), *args])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_a_small_remedy_run_prints_the_table(run_dir):
    import json
    import shlex

    result = runner.invoke(app, ["remedy", str(run_dir), "--only", "lower_lr", "-k", "2"])
    assert result.exit_code == 0, result.output
    assert "baseline" in result.stdout and "lower_lr" in result.stdout and (run_dir / "remedy.json").exists()
    # Two seeds give wide intervals, and the output says so (trial 20).
    assert "note: with 2 seeds each the 95% intervals are wide" in result.stdout
    # Remedy runs train with one torch thread each: their commands say so, or pasted they would not repeat them.
    candidate = json.loads((run_dir / "remedy.json").read_text())["candidates"][0]
    assert shlex.split(candidate["command"])[-4:-2] == ["--threads", "1"]


def test_switch_model_trains_the_other_family_side_by_side(run_dir):
    import json

    result = runner.invoke(app, ["remedy", str(run_dir), "--only", "switch_model", "-k", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    payload = json.loads((run_dir / "remedy.json").read_text())
    switched = next(candidate for candidate in payload["candidates"] if candidate["name"] == "switch_model")
    assert switched["config"]["model"]["kind"] == "lstm-fcn" and "--model lstm-fcn" in switched["command"]
    assert payload["baseline"]["config"]["model"]["kind"] == "lstm"
    seed_run = run_dir / "remedy" / "switch_model" / "seed_0" / "config.json"
    assert json.loads(seed_run.read_text())["model"]["kind"] == "lstm-fcn"


def test_the_remedy_table_fits_80_columns(run_dir):
    result = runner.invoke(app, ["remedy", str(run_dir), "--only", "lower_lr", "-k", "2", "--workers", "1"],
                           terminal_width=80)
    assert result.exit_code == 0, result.output
    # The winner's command (an earlier test's switch_model is kept in remedy.json) stays one line to paste.
    assert all(len(line) <= 80 for line in result.stdout.splitlines() if not line.startswith("lossgap train "))
    assert "\u2026" not in result.stdout and "±" in result.stdout   # no header or cell is cut


def test_more_data_and_switch_optimizer_side_by_side(run_dir):
    import json

    import numpy as np

    from lossgap.run.rundir import read_run

    result = runner.invoke(app, ["remedy", str(run_dir), "--only", "more_data,switch_optimizer", "-k", "2",
                                 "--curve-seeds", "3", "--workers", "1"], terminal_width=80)
    assert result.exit_code == 0, result.output
    assert "learning curve" in result.stdout and "more data: " in result.stdout
    assert all(len(line) <= 80 for line in result.stdout.splitlines()
               if not line.startswith(("more data: ", "lossgap train ")))
    payload = json.loads((run_dir / "remedy.json").read_text())
    # switch_optimizer is a candidate judged like the others (beside the earlier tests' candidates, kept);
    # more_data is the curve, not a candidate.
    names = [candidate["name"] for candidate in payload["candidates"]]
    assert "switch_optimizer" in names and "more_data" not in names
    switched = payload["candidates"][names.index("switch_optimizer")]
    assert switched["config"]["optimizer"] == {**payload["baseline"]["config"]["optimizer"], "name": "sgd", "lr": 0.1}
    curve = payload["more_data"]
    assert curve["fractions"] == [0.4, 0.6, 0.8, 1.0] and curve["sizes"] == [26, 38, 52, 64]
    assert curve["verdict"] in ("helps", "little_to_gain", "cannot_tell") and curve["sentence"]
    assert curve["seeds"] == 3 and "3 seeds per share" in result.stdout
    for metric in ("val_loss", "val_accuracy"):
        assert len(curve[metric]["per_seed"]) == 4 and len(curve[metric]["per_seed"][0]) == 3
        assert [p["multiple"] for p in curve[metric]["predictions"]] == [2.0, 4.0]
        assert [p["size"] for p in curve[metric]["predictions"]] == [128.0, 256.0]
        assert set(curve[metric]["asymptote"]) == {"value", "low", "high"}
    # The full share is the baseline's own runs, then the curve's full-set run of the seed beyond K; the smaller
    # shares train nested subsets with the same val split.
    assert [round(v, 6) for v in curve["val_loss"]["per_seed"][3][:2]] == \
        [round(v, 6) for v in payload["baseline"]["per_seed"]["val_loss"]]
    assert (run_dir / "remedy" / "more_data" / "fraction_100" / "seed_2" / "summary.json").is_file()
    smallest = json.loads((run_dir / "remedy" / "more_data" / "fraction_40" / "seed_0" / "config.json").read_text())
    full = json.loads((run_dir / "config.json").read_text())
    assert smallest["train"]["data"]["train_fraction"] == 0.4 and full["train"]["data"]["train_fraction"] == 1.0
    shares = [read_run(run_dir / "remedy" / "more_data" / f"fraction_{p}" / "seed_0") for p in (40, 60, 80)]
    baseline = read_run(run_dir / "remedy" / "baseline" / "seed_0")
    train_ids = [set(run.dynamics["train"].sample_ids.tolist()) for run in (*shares, baseline)]
    assert train_ids[0] < train_ids[1] < train_ids[2] < train_ids[3]
    assert all(np.array_equal(run.dynamics["val"].sample_ids, baseline.dynamics["val"].sample_ids) for run in shares)
    report = (run_dir / "report.html").read_text()
    assert "Would more data help?" in report and curve["sentence"].split(" (")[0] in report


def test_a_clipped_interval_is_shown_as_its_ends_not_as_plus_minus():
    from lossgap.cli.remedy import interval_cell
    from lossgap.remedies.outcome import Interval

    assert interval_cell(Interval(0.533, 0.0, 1.0)) == "0.533\n[0.000, 1.000]"
    assert interval_cell(Interval(0.5, 0.4, 0.6)) == "0.500\n±0.100"
    assert interval_cell(Interval(0.5, float("nan"), float("nan"))) == "0.500"
    # Clipped on both sides alike: still its ends ("0.500 ±0.500" had hidden a half width of 0.53).
    from lossgap.remedies.outcome import mean_interval
    both = mean_interval([0.0, 1.0, 0.0, 1.0], (0.0, 1.0))
    assert both.clipped and interval_cell(both) == "0.500\n[0.000, 1.000]"
    assert not mean_interval([0.4, 0.6, 0.5], (0.0, 1.0)).clipped


def test_an_interrupted_remedy_says_what_it_kept(run_dir, tmp_path, monkeypatch):
    import shutil

    import lossgap.remedies
    from lossgap.remedies.runner import RemediesInterrupted

    def interrupted(*args, **kwargs):
        raise RemediesInterrupted

    monkeypatch.setattr(lossgap.remedies, "run_remedies", interrupted)
    fresh = tmp_path / "run"
    shutil.copytree(run_dir, fresh, ignore=shutil.ignore_patterns("remedy", "remedy.json"))
    result = runner.invoke(app, ["remedy", str(fresh), "--only", "lower_lr"])
    assert result.exit_code == 130
    assert result.stderr.strip() == "interrupted before any remedy run finished; rerun the command to start them"
    (fresh / "remedy" / "lower_lr" / "seed_0").mkdir(parents=True)
    (fresh / "remedy" / "lower_lr" / "seed_0" / "summary.json").write_text("{}")
    result = runner.invoke(app, ["remedy", str(fresh), "--only", "lower_lr"])
    assert result.stderr.strip().startswith("interrupted; 1 finished run kept under ")
    # The run the stop cut short writes its summary too: it is not counted as finished (trial 20 had read "14 finished
    # runs kept" of 13).
    (fresh / "remedy" / "lower_lr" / "seed_1").mkdir(parents=True)
    (fresh / "remedy" / "lower_lr" / "seed_1" / "summary.json").write_text('{"status": "interrupted"}')
    result = runner.invoke(app, ["remedy", str(fresh), "--only", "lower_lr"])
    assert result.stderr.strip().startswith("interrupted; 1 finished run kept under ")


def test_a_remedy_named_twice_in_only_is_tried_once(run_dir, tmp_path, monkeypatch):
    import lossgap.remedies
    from lossgap.remedies.runner import RemediesInterrupted

    asked = {}

    def interrupted(*args, only=None, **kwargs):
        asked["only"] = only
        raise RemediesInterrupted

    monkeypatch.setattr(lossgap.remedies, "run_remedies", interrupted)
    runner.invoke(app, ["remedy", str(run_dir), "--only", "class_weights, lower_lr,class_weights"])
    assert asked["only"] == ["class_weights", "lower_lr"]


def test_the_curve_seeds_default_is_the_learning_curves_own():
    import inspect

    from lossgap.cli.remedy import remedy
    from lossgap.remedies.learning import CURVE_SEEDS
    assert inspect.signature(remedy).parameters["curve_seeds"].default.default == CURVE_SEEDS


def test_many_overlooked_remedies_share_one_note(monkeypatch, tmp_path):
    # Trial 20: eight "rerun with more --replicates" notes alike on one run said nothing each.
    import lossgap.remedies
    from lossgap.remedies.outcome import Outcome, judge
    from lossgap.remedies.runner import RemedyResult
    from lossgap.training.config import TrainConfig

    def outcome(name, losses):
        return Outcome(name, name, TrainConfig(), {"val_loss": losses, "val_accuracy": [0.5, 0.5, 0.5],
                                                  "val_balanced_accuracy": [0.5, 0.5, 0.5]})

    baseline = outcome("baseline", [1.0, 1.0, 1.0])
    uneven = [judge(outcome(name, [0.2, 1.0, 0.6]), baseline, "val_loss")
              for name in ("dropout", "weight_decay", "lower_lr", "larger_hidden")]
    result = RemedyResult(run=tmp_path, metric=None, replicates=3, baseline=baseline, candidates=tuple(uneven))
    assert len(result.overlooked) == 4
    monkeypatch.setattr(lossgap.remedies, "run_remedies", lambda *args, **kwargs: result)
    printed = runner.invoke(app, ["remedy", str(tmp_path)])
    notes = [line for line in printed.stdout.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and notes[0].startswith("note: 4 remedies moved their figure clearly on average"), notes


def test_the_learning_curve_table_shows_the_shares_left_out_of_the_fit():
    # Trial 36: a "cannot tell" curve (fewer than three shares where every seed learned) showed "-" in every row
    # labelled "(measured)", its rising figures (val accuracy 0.354 -> 0.566) only in remedy.json.
    from types import SimpleNamespace

    from rich.console import Console

    from lossgap.cli.remedy import more_data_table
    from lossgap.remedies.learning import MoreDataOutcome, MoreDataVerdict

    outcome = MoreDataOutcome(
        fractions=(0.4, 0.6, 0.8, 1.0), sizes=(25, 35, 48, 60), loss=None, accuracy=None,
        verdict=MoreDataVerdict("cannot_tell", "cannot tell"), commands=(), left_out_sizes=(25, 35, 48, 60),
        left_out_values={"sizes": [25, 35, 48, 60], "val_loss": [[1.1, 1.094], [1.08, 1.082], [1.0, float("nan")],
                                                                   [0.88, 0.89]],
                         "val_accuracy": [[0.35, 0.358], [0.38, 0.388], [0.485, float("nan")], [0.56, 0.572]]},
        seeds=2)
    console = Console(record=True, width=120)
    console.print(more_data_table(SimpleNamespace(more_data=outcome)))
    text = console.export_text()
    assert "40% (measured, left out of the fit)" in text and "1.097" in text and "0.354" in text, text
    assert "0.485" in text and "0.566" in text   # a failed seed (NaN) is left out of its share's mean


def test_the_permuted_control_row_shows_no_p_value_of_its_own():
    # The control is no remedy: the line under the table reads it (val accuracy, true labels against shuffled ones).
    # A trial's table had shown the control's val-loss p 0.253 beside that line's 0.222.
    from rich.console import Console

    from lossgap.cli.remedy import remedy_table
    from lossgap.remedies.candidates import CONTROL
    from lossgap.remedies.outcome import Outcome, judge
    from lossgap.remedies.runner import RemedyResult
    from lossgap.training.config import TrainConfig

    def outcome(name, losses, accuracies):
        return Outcome(name, name, TrainConfig(), {"val_loss": losses, "val_accuracy": accuracies,
                                                  "val_balanced_accuracy": accuracies})

    baseline = outcome("baseline", [0.69, 0.70, 0.68], [0.52, 0.50, 0.53])
    control = judge(outcome(CONTROL, [0.691, 0.699, 0.6805], [0.51, 0.52, 0.50]), baseline, "val_loss")
    result = RemedyResult(run="r", metric=None, replicates=3, baseline=baseline, candidates=(control,))
    console = Console(record=True, width=160)
    console.print(remedy_table(result))
    row = next(line for line in console.export_text().splitlines() if CONTROL in line)
    assert f"{control.p_value:.3f}" not in row and row.rstrip(" │").endswith("-"), row
    assert "p=" in result.control_reading
