"""The more_data remedy's runs: nested shares of the run's own training share, same seeds as the baseline; the
outcome reads each share's training-set size from its runs and fits both curves."""

import json

import numpy as np
import pytest

from fixtures.learning_curves import accuracy_law, loss_law
from lossgap.remedies.learning import FRACTIONS, curve_jobs, more_data_outcome
from lossgap.training.config import DataConfig, TrainConfig
from lossgap.workers import JobOutcome


def test_the_curve_trains_shares_of_the_runs_own_share_with_the_baseline_seeds(tmp_path):
    base = TrainConfig(data=DataConfig(source="synthetic:sum-sign", train_fraction=0.2), seed=7)
    jobs = curve_jobs(base, 2, tmp_path)
    assert len(jobs) == len(FRACTIONS) * 2
    shares = [job.config.data.train_fraction for job in jobs]
    assert shares == pytest.approx([0.08, 0.08, 0.12, 0.12, 0.16, 0.16])
    assert [job.config.seed for job in jobs] == [7, 8] * len(FRACTIONS)
    assert jobs[0].out == tmp_path / "more_data" / "fraction_40" / "seed_7"
    # Nothing else changes: the validation split (val fraction, seed) is the baseline's.
    assert {job.config.model_copy(update={"data": base.data, "seed": base.seed}) == base for job in jobs} == {True}
    assert "--train-fraction 0.08" in jobs[0].config.command()


def fake_run(tmp_path, name, size, loss, accuracy, val_counts=None):
    """A finished job whose config.json says it trained on ``size`` samples and delivered these figures."""
    run_dir = tmp_path / name
    run_dir.mkdir()
    data = {"sizes": {"train": size}}
    if val_counts is not None:
        data["class_counts"] = {"val": val_counts}
    (run_dir / "config.json").write_text(json.dumps({"data": data}))
    row = {"val_loss": loss, "val_accuracy": accuracy}
    return JobOutcome(label=name, run_dir=run_dir, summary={}, history=(row,), best_epoch=1, delivered_epoch=1,
                      stop_reason="epochs")


def test_the_outcome_fits_both_curves_from_the_runs(tmp_path):
    sizes = [100, 200, 300, 400]
    runs = [[fake_run(tmp_path, f"s{size}_{seed}", size, float(loss_law(size)), float(accuracy_law(size)))
             for seed in range(2)] for size in sizes]
    base = TrainConfig(data=DataConfig(source="synthetic:sum-sign"))
    jobs = curve_jobs(base, 2, tmp_path / "jobs")
    curve = [run for share in runs[:3] for run in share]
    outcome = more_data_outcome(runs[3], curve, jobs, 2)
    assert outcome.fractions == (0.4, 0.6, 0.8, 1.0) and outcome.sizes == tuple(sizes)
    assert outcome.accuracy.prediction(2.0).estimate.value == pytest.approx(accuracy_law(800), abs=1e-5)
    assert outcome.loss.asymptote.value == pytest.approx(0.2, abs=1e-5)
    assert outcome.verdict.code == "helps"
    payload = outcome.to_dict()
    assert payload["verdict"] == "helps" and payload["sentence"].startswith("more data is likely to help")
    assert len(payload["commands"]) == len(FRACTIONS) and "--train-fraction 0.4" in payload["commands"][0]


def test_a_curve_with_too_few_finished_shares_cannot_tell(tmp_path):
    runs = [fake_run(tmp_path, f"r{size}", size, 0.5, 0.7) for size in (100, 400)]
    jobs = curve_jobs(TrainConfig(), 1, tmp_path / "jobs")
    outcome = more_data_outcome([runs[1]], [runs[0], None, None], jobs, 1)
    assert outcome.accuracy is None and outcome.loss is None and outcome.verdict.code == "cannot_tell"
    assert outcome.to_dict()["val_loss"] is None and outcome.sizes == (100, -1, -1, 400)


def test_a_run_at_chance_inside_the_learned_shares_is_left_out_of_the_curve(tmp_path):
    # Four balanced classes, 300 val samples: chance is 0.25. Seed 1 of the 300-sample share failed to train.
    accuracy = {100: 0.55, 200: 0.65, 300: 0.71, 400: 0.75}
    loss = {100: 1.0, 200: 0.8, 300: 0.7, 400: 0.64}
    runs = [[fake_run(tmp_path, f"s{size}_{seed}", size, 1.39 if (size, seed) == (300, 1) else loss[size] + 0.01 * seed,
                      0.25 if (size, seed) == (300, 1) else accuracy[size] + 0.01 * seed, val_counts=[75] * 4)
             for seed in range(3)] for size in accuracy]
    jobs = curve_jobs(TrainConfig(data=DataConfig(source="synthetic:sum-sign")), 3, tmp_path / "jobs")
    outcome = more_data_outcome(runs[3], [run for share in runs[:3] for run in share], jobs, 3)
    assert outcome.left_out_sizes == ()
    assert np.isnan(outcome.accuracy.values[2, 1]) and np.isnan(outcome.loss.values[2, 1])
    assert outcome.accuracy.values[2, 0] == pytest.approx(0.71)
    assert "1 run(s) that stayed at chance" in outcome.verdict.sentence and outcome.verdict.code == "helps"
