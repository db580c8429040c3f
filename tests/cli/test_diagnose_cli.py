"""``lossgap diagnose RUN`` as a user runs it."""

import json

import pytest
from typer.testing import CliRunner

from lossgap.cli.app import register_commands

runner = CliRunner()
app = register_commands()


def run_cli(*args):
    return runner.invoke(app, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("diagnose") / "run"
    # Random labels, trained long enough to memorise them: the article's setup, where no_signal can be shown
    # (with 400 samples: the 40 val samples of 200 could only show a lead of 0.22 or more, so no_signal stays
    # in doubt there).
    result = run_cli("train", "synthetic:random-labels,samples=400", "--out", out, "--epochs", "40",
                     "--hidden", "64", "--batch-size", "32")
    assert result.exit_code == 0, result.output
    return out


def test_json_output_has_the_designed_shape_and_names_no_signal(run_dir):
    result = run_cli("diagnose", run_dir, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["verdicts"][0]["cause"] == "no_signal"
    assert {"plateaus", "ledger", "overfitting", "suspected_mislabeled", "calibration", "per_class"} <= set(payload)
    assert json.loads((run_dir / "diagnosis.json").read_text())["verdicts"] == payload["verdicts"]


def test_terminal_output_shows_the_verdict_its_remedies_and_the_ledger(run_dir):
    result = run_cli("diagnose", run_dir, "--split", "train")
    assert result.exit_code == 0, result.output
    assert "main cause: no_signal" in result.stdout and "ledger:" in result.stdout
    assert "try: train a permuted-label control" in result.stdout


def test_the_shown_split_does_not_change_the_causes(run_dir):
    on_val = json.loads(run_cli("diagnose", run_dir, "--json", "--no-write").stdout)
    on_train = json.loads(run_cli("diagnose", run_dir, "--json", "--no-write", "--split", "train").stdout)
    assert [v["cause"] for v in on_val["verdicts"]] == [v["cause"] for v in on_train["verdicts"]]


def test_the_train_split_can_be_the_focus(run_dir):
    payload = json.loads(run_cli("diagnose", run_dir, "--json", "--split", "train", "--no-write").stdout)
    assert payload["split"] == "train"


@pytest.mark.parametrize("make, message", [
    (lambda path: None, "does not exist"),
    (lambda path: path.mkdir(), "holds no run"),
    (lambda path: (path.mkdir(), (path / "config.json").write_text('{"format_version": 1}')), "incomplete"),
    (lambda path: (path.mkdir(), (path / "config.json").write_text('{"format_version": 99}')), "newer lossgap"),
])
def test_bad_run_directories_get_one_line_and_exit_2(tmp_path, make, message):
    path = tmp_path / "run"
    make(path)
    result = run_cli("diagnose", path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_an_unknown_split_is_refused(run_dir):
    result = run_cli("diagnose", run_dir, "--split", "test")
    assert result.exit_code == 2 and "no 'test' split" in result.stderr


def test_a_one_epoch_run_says_what_it_cannot_show(tmp_path):
    out = tmp_path / "one"
    assert run_cli("train", "synthetic:sum-sign,samples=100", "--out", out, "--epochs", "1").exit_code == 0
    result = run_cli("diagnose", out)
    assert result.exit_code == 0 and "one epoch only" in result.stdout


def test_another_split_does_not_replace_the_reports_diagnosis_unless_asked(run_dir):
    assert run_cli("diagnose", run_dir, "--no-write").exit_code == 0
    assert run_cli("diagnose", run_dir).exit_code == 0
    before = (run_dir / "diagnosis.json").read_text()
    assert json.loads(before)["split"] == "val"
    assert run_cli("diagnose", run_dir, "--split", "train").exit_code == 0
    assert (run_dir / "diagnosis.json").read_text() == before
    assert run_cli("diagnose", run_dir, "--split", "train", "--write").exit_code == 0
    assert json.loads((run_dir / "diagnosis.json").read_text())["split"] == "train"
    assert run_cli("diagnose", run_dir).exit_code == 0   # back to the report's view


def test_a_considered_cause_with_weight_gets_its_sentence_under_no_problem():
    from rich.console import Console

    from fixtures.diagnosis import diagnose_dynamics
    from fixtures.overfitting import jittery_rise_dynamics
    from lossgap.cli.diagnose import print_diagnosis

    console = Console(record=True, width=200)
    diagnosis = diagnose_dynamics(jittery_rise_dynamics(), config={"early_stopping": {"patience": None}})
    print_diagnosis(diagnosis, console)
    text = console.export_text()
    assert "considered, not found: overfitting (0.30)" in text and "not a clear turn" in text
    assert "considered, not found: label_noise" not in text  # causes near 0 stay out of the terminal


def test_no_cause_found_prints_the_likeliest_candidates_remedies_as_commands():
    from rich.console import Console

    from lossgap.cli.diagnose import print_diagnosis
    from lossgap.diagnosis.remedy import Remedy
    from lossgap.diagnosis.verdict import Diagnosis, Verdict

    switch = Remedy("switch_model", "switch the model to lstm-fcn", {"model.kind": "lstm-fcn"},
                    "lossgap train data.npz --model lstm-fcn --out r-switch_model")
    diagnosis = Diagnosis(run="r", split="val", headline="No cause found (0.50): ...", verdicts=(),
                          considered=(Verdict("no_signal", 0.45, "nothing carries over", remedies=(switch,)),),
                          plateaus=(), ledger=None, ledger_sentence=None, overfitting={}, suspected_mislabeled=(),
                          calibration=None, per_class=None, signal=None, extras={"learned_little": True})
    console = Console(record=True, width=200)
    print_diagnosis(diagnosis, console)
    text = console.export_text()
    assert "next, to test the likeliest candidate (no_signal):\n  try: switch the model to lstm-fcn\n" in text
    assert "    $ lossgap train data.npz --model lstm-fcn --out r-switch_model" in text
