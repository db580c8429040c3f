"""The more_data remedy's runs: nested shares of the run's own training share, the baseline's seeds and more
(CURVE_SEEDS per share at least, the full share's extra seeds trained too); the outcome reads each share's
training-set size from its runs and fits both curves."""

import json
from pathlib import Path

import numpy as np
import pytest

from fixtures.learning_curves import accuracy_law, loss_law
from lossgap.remedies.learning import CURVE_SEEDS, FRACTIONS, curve_jobs, curve_seeds, more_data_outcome
from lossgap.training.config import DataConfig, TrainConfig
from lossgap.workers import JobOutcome


def test_the_curve_trains_shares_of_the_runs_own_share_with_the_baseline_seeds_and_more(tmp_path):
    base = TrainConfig(data=DataConfig(source="synthetic:sum-sign", train_fraction=0.2), seed=7)
    jobs = curve_jobs(base, 2, tmp_path)
    seeds = curve_seeds(2)
    assert seeds == CURVE_SEEDS > 2
    # Each share x CURVE_SEEDS seeds, then the whole training set for the seeds the baseline's 2 runs lack.
    assert len(jobs) == len(FRACTIONS) * seeds + seeds - 2
    shares = [job.config.data.train_fraction for job in jobs]
    assert shares == pytest.approx([0.08] * seeds + [0.12] * seeds + [0.16] * seeds + [0.2] * (seeds - 2))
    assert [job.config.seed for job in jobs] == [*range(7, 7 + seeds)] * len(FRACTIONS) + [*range(9, 7 + seeds)]
    assert jobs[0].out == tmp_path / "more_data" / "fraction_40" / "seed_7"
    assert jobs[-1].out == tmp_path / "more_data" / "fraction_100" / f"seed_{6 + seeds}"
    # Nothing else changes: the validation split (val fraction, seed) is the baseline's.
    assert {job.config.model_copy(update={"data": base.data, "seed": base.seed}) == base for job in jobs} == {True}
    assert "--train-fraction 0.08" in jobs[0].config.command()


def test_remedies_with_more_seeds_than_the_floor_train_no_extra_full_share():
    jobs = curve_jobs(TrainConfig(), CURVE_SEEDS + 2, Path("out"))
    assert curve_seeds(CURVE_SEEDS + 2) == CURVE_SEEDS + 2
    assert len(jobs) == len(FRACTIONS) * (CURVE_SEEDS + 2)
    assert {job.config.data.train_fraction for job in jobs} == set(FRACTIONS)


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


def curve_runs(tmp_path, loss, accuracy, replicates, val_counts=None):
    """Finished runs of a curve: ``loss``/``accuracy`` map (size, seed) to a delivered figure for the sizes
    100..400 (400: the full share); returns (baseline's K runs, the curve's runs in curve_jobs order, jobs)."""
    seeds = curve_seeds(replicates)
    runs = {(size, seed): fake_run(tmp_path, f"s{size}_{seed}", size, loss(size, seed), accuracy(size, seed),
                                   val_counts)
            for size in (100, 200, 300, 400) for seed in range(seeds)}
    curve = [runs[size, seed] for size in (100, 200, 300) for seed in range(seeds)]
    curve += [runs[400, seed] for seed in range(replicates, seeds)]
    jobs = curve_jobs(TrainConfig(data=DataConfig(source="synthetic:sum-sign")), replicates, tmp_path / "jobs")
    assert len(jobs) == len(curve)
    return [runs[400, seed] for seed in range(replicates)], curve, jobs


def test_the_outcome_fits_both_curves_from_the_runs(tmp_path):
    # Every seed on the law but seed 3, 0.01 worse at every size: the full share holds the baseline's K runs
    # and then the curve's own runs of the seeds beyond K, in seed order.
    baseline, curve, jobs = curve_runs(tmp_path, lambda size, seed: float(loss_law(size)) + 0.01 * (seed == 3),
                                       lambda size, seed: float(accuracy_law(size)) - 0.01 * (seed == 3), 2)
    outcome = more_data_outcome(baseline, curve, jobs, 2)
    assert outcome.fractions == (0.4, 0.6, 0.8, 1.0) and outcome.sizes == (100, 200, 300, 400)
    assert outcome.seeds == CURVE_SEEDS and outcome.loss.values.shape == (4, CURVE_SEEDS)
    assert outcome.loss.values[3, 3] == pytest.approx(float(loss_law(400)) + 0.01)
    assert np.delete(outcome.loss.values[3], 3) == pytest.approx(float(loss_law(400)))
    assert outcome.accuracy.prediction(2.0).estimate.value == pytest.approx(accuracy_law(800) - 0.001, abs=1e-4)
    assert outcome.verdict.code == "helps"
    payload = outcome.to_dict()
    assert payload["verdict"] == "helps" and payload["sentence"].startswith("more data is likely to help")
    assert payload["seeds"] == CURVE_SEEDS
    assert len(payload["commands"]) == len(FRACTIONS) and "--train-fraction 0.4" in payload["commands"][0]
    assert "--train-fraction 0.6" in payload["commands"][1] and "--train-fraction 0.8" in payload["commands"][2]


def test_a_curve_with_too_few_finished_shares_cannot_tell(tmp_path):
    runs = [fake_run(tmp_path, f"r{size}", size, 0.5, 0.7) for size in (100, 400)]
    jobs = curve_jobs(TrainConfig(), 2, tmp_path / "jobs")
    seeds = curve_seeds(2)
    unfinished = [runs[0]] + [None] * (len(jobs) - 1)
    outcome = more_data_outcome([runs[1], None], unfinished, jobs, 2)
    assert outcome.accuracy is None and outcome.loss is None and outcome.verdict.code == "cannot_tell"
    assert outcome.to_dict()["val_loss"] is None and outcome.sizes == (100, -1, -1, 400)
    assert len(unfinished) == len(FRACTIONS) * seeds + seeds - 2


def test_a_run_at_chance_inside_the_learned_shares_is_left_out_of_the_curve(tmp_path):
    # Four balanced classes, 300 val samples: chance is 0.25. Seed 1 of the 300-sample share failed to train.
    accuracy = {100: 0.55, 200: 0.65, 300: 0.71, 400: 0.75}
    loss = {100: 1.0, 200: 0.8, 300: 0.7, 400: 0.64}
    baseline, curve, jobs = curve_runs(
        tmp_path, lambda size, seed: 1.39 if (size, seed) == (300, 1) else loss[size] + 0.01 * seed,
        lambda size, seed: 0.25 if (size, seed) == (300, 1) else accuracy[size] + 0.01 * seed, 3, [75] * 4)
    outcome = more_data_outcome(baseline, curve, jobs, 3)
    assert outcome.left_out_sizes == ()
    assert np.isnan(outcome.accuracy.values[2, 1]) and np.isnan(outcome.loss.values[2, 1])
    assert np.isfinite(np.delete(outcome.accuracy.values, 1, axis=1)).all()
    assert outcome.accuracy.values[2, 0] == pytest.approx(0.71)
    assert "1 run(s) that stayed at chance" in outcome.verdict.sentence and outcome.verdict.code == "helps"
