"""A rerun of ``lossgap remedy`` keeps what earlier commands finished: their replicate runs and their results."""

import json

import pytest

from lossgap.api import train
from lossgap.remedies import run_remedies
from lossgap.remedies.earlier import finished_outcome
from lossgap.training.config import DataConfig, TrainConfig


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    config = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=80"), epochs=3)
    return train(config, tmp_path_factory.mktemp("earlier") / "run").run_dir


def test_finished_replicate_runs_are_reused_and_changed_or_unfinished_ones_retrained(small_run):
    first = run_remedies(small_run, replicates=2, only=["lower_lr"], workers=1)
    assert first.reused == 0
    planned = []
    again = run_remedies(small_run, replicates=2, only=["lower_lr"], workers=1, on_plan=planned.extend)
    assert again.reused == 4 and planned == []   # baseline and lower_lr, 2 seeds each: nothing trained
    assert again.baseline.per_seed == first.baseline.per_seed
    assert again.candidates[0].per_seed == first.candidates[0].per_seed
    # A run whose options differ from what would be trained, or that did not finish, is trained again.
    changed = small_run / "remedy" / "lower_lr" / "seed_0"
    config = json.loads((changed / "config.json").read_text())
    config["train"]["optimizer"]["lr"] = 0.5
    (changed / "config.json").write_text(json.dumps(config))
    unfinished = small_run / "remedy" / "baseline" / "seed_1"
    summary = json.loads((unfinished / "summary.json").read_text())
    (unfinished / "summary.json").write_text(json.dumps({**summary, "status": "interrupted"}))
    planned = []
    third = run_remedies(small_run, replicates=2, only=["lower_lr"], workers=1, on_plan=planned.extend)
    assert sorted(job.label for job in planned) == ["baseline seed 1", "lower_lr seed 0"] and third.reused == 2
    assert third.candidates[0].per_seed == first.candidates[0].per_seed   # retrained to the same numbers


def test_finished_outcome_needs_the_same_thread_count(small_run):
    run_remedies(small_run, replicates=2, only=["lower_lr"], workers=1)
    from lossgap.remedies.runner import _seed_jobs
    from lossgap.diagnosis.remedy import Remedy

    config = TrainConfig.from_dict(json.loads((small_run / "config.json").read_text())["train"])
    job = _seed_jobs(Remedy("baseline", ""), config, 2, small_run / "remedy")[0]
    assert finished_outcome(job, threads=1) is not None and finished_outcome(job, threads=2) is None


def test_a_later_only_keeps_the_earlier_candidates_and_other_seeds_drop_them(small_run):
    run_remedies(small_run, replicates=2, only=["lower_lr"], workers=1)
    later = run_remedies(small_run, replicates=2, only=["dropout"], workers=1)
    assert {outcome.name for outcome in later.candidates} == {"lower_lr", "dropout"} and later.note is None
    payload = json.loads((small_run / "remedy.json").read_text())
    entries = {entry["name"]: entry for entry in payload["candidates"]}
    assert set(entries) == {"lower_lr", "dropout"} and payload["seeds"] == [0, 1]
    assert all(entry["seeds"] == [0, 1] and entry["run_at"] for entry in entries.values())
    # Kept candidates are judged again against this baseline; the winner is chosen over all of them.
    assert all(entry["judged_on"] == "val_loss" and entry["p_value"] is not None for entry in entries.values())
    winners = [entry["name"] for entry in payload["candidates"] if entry["beats_baseline"]]
    assert payload["winner"] == (winners[0] if winners else None)
    # Three seeds are not paired with two: the earlier entries go, with a note saying so.
    other = run_remedies(small_run, replicates=3, only=["dropout"], workers=1)
    assert [outcome.name for outcome in other.candidates] == ["dropout"]
    assert "seeds 0,1" in other.note and "0,1,2" in other.note
    assert [entry["name"] for entry in json.loads((small_run / "remedy.json").read_text())["candidates"]] == \
        ["dropout"]


def test_a_dropped_learning_curve_is_named_in_the_note(tmp_path):
    # Trial 20: a rerun with another --replicates dropped a 37-run learning curve while the note listed only the
    # candidates it dropped.
    from lossgap.remedies.earlier import earlier_results

    path = tmp_path / "remedy.json"
    baseline = {"seed": 0}
    candidate = {"name": "dropout", "config": baseline, "per_seed": {"val_loss": [0.5, 0.6], "val_accuracy": [0.8, 0.7],
                                                                     "val_balanced_accuracy": [0.8, 0.7]},
                 "seeds": [0, 1]}
    path.write_text(json.dumps({"seeds": [0, 1], "baseline": {"config": baseline}, "candidates": [candidate],
                                "more_data": {"seeds": 10}}))
    earlier = earlier_results(path, seeds=(0, 1, 2), baseline=baseline, replaced=set(), curve=False)
    assert earlier.note.startswith("earlier results (dropout, more_data) used seeds 0,1"), earlier.note
    alone = json.loads(path.read_text())
    alone["candidates"] = []
    path.write_text(json.dumps(alone))
    note = earlier_results(path, seeds=(0, 1, 2), baseline=baseline, replaced=set(), curve=False).note
    assert note.startswith("earlier results (more_data) used seeds 0,1"), note
