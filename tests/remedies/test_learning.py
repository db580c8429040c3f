"""The more_data remedy's runs: nested shares of the run's own training share, same seeds as the baseline; the
outcome reads each share's training-set size from its runs and fits both curves."""

import json

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
    assert shares == pytest.approx([0.05, 0.05, 0.1, 0.1, 0.15, 0.15])
    assert [job.config.seed for job in jobs] == [7, 8] * len(FRACTIONS)
    assert jobs[0].out == tmp_path / "more_data" / "fraction_25" / "seed_7"
    # Nothing else changes: the validation split (val fraction, seed) is the baseline's.
    assert {job.config.model_copy(update={"data": base.data, "seed": base.seed}) == base for job in jobs} == {True}
    assert "--train-fraction 0.05" in jobs[0].config.command()


def fake_run(tmp_path, name, size, loss, accuracy):
    """A finished job whose config.json says it trained on ``size`` samples and delivered these figures."""
    run_dir = tmp_path / name
    run_dir.mkdir()
    (run_dir / "config.json").write_text(json.dumps({"data": {"sizes": {"train": size}}}))
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
    assert outcome.fractions == (0.25, 0.5, 0.75, 1.0) and outcome.sizes == tuple(sizes)
    assert outcome.accuracy.prediction(2.0).estimate.value == pytest.approx(accuracy_law(800), abs=1e-5)
    assert outcome.loss.asymptote.value == pytest.approx(0.2, abs=1e-5)
    assert outcome.verdict.code == "helps"
    payload = outcome.to_dict()
    assert payload["verdict"] == "helps" and payload["sentence"].startswith("more data is likely to help")
    assert len(payload["commands"]) == len(FRACTIONS) and "--train-fraction 0.25" in payload["commands"][0]


def test_a_curve_with_too_few_finished_shares_cannot_tell(tmp_path):
    runs = [fake_run(tmp_path, f"r{size}", size, 0.5, 0.7) for size in (100, 400)]
    jobs = curve_jobs(TrainConfig(), 1, tmp_path / "jobs")
    outcome = more_data_outcome([runs[1]], [runs[0], None, None], jobs, 1)
    assert outcome.accuracy is None and outcome.loss is None and outcome.verdict.code == "cannot_tell"
    assert outcome.to_dict()["val_loss"] is None and outcome.sizes == (100, -1, -1, 400)
