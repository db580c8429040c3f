"""A run's delivered model rebuilt from its checkpoint: its probabilities give the run's own recorded figures, and
a seed ensemble averages them."""

import json

import numpy as np
import pytest

import lossgap
from lossgap import DataConfig, ModelConfig, TrainConfig
from lossgap.errors import DataError, RunDirError
from lossgap.run.predict import Predictions


@pytest.fixture(scope="module")
def seeded_runs(tmp_path_factory):
    """Two seeds of one small early-stopped configuration with a test split, and one without early stopping."""
    root = tmp_path_factory.mktemp("predict")
    source = "synthetic:frequency,samples=240,classes=3,length=16,test_samples=90"
    runs = []
    for seed, patience in ((0, 3), (1, 3), (2, None)):
        config = TrainConfig(data=DataConfig(source=source), model=ModelConfig(hidden_size=16), epochs=8, seed=seed,
                             early_stopping={"patience": patience})
        lossgap.train(config, root / f"seed{seed}", diagnose_run=False)
        runs.append(root / f"seed{seed}")
    return runs


def test_predictions_of_the_delivered_model_give_the_runs_own_figures(seeded_runs):
    for run in seeded_runs:
        summary = json.loads((run / "summary.json").read_text())
        test = lossgap.predict(run)                      # test by default
        assert test.probabilities.shape == (90, 3) and np.allclose(test.probabilities.sum(axis=1), 1.0)
        assert test.accuracy == summary["test"]["accuracy"]
        assert test.log_loss == pytest.approx(summary["test"]["loss"], abs=1e-5)
        val = lossgap.predict(run, "val")
        delivered = lossgap.read_run(run).metrics
        epoch = summary["delivered_epoch"] - 1
        assert val.accuracy == pytest.approx(float(delivered["val_accuracy"][epoch]), abs=1e-9)
        assert val.log_loss == pytest.approx(float(delivered["val_loss"][epoch]), abs=1e-5)


def test_a_seed_ensemble_averages_the_probabilities_sample_by_sample(seeded_runs):
    first, second = (lossgap.predict(run) for run in seeded_runs[:2])
    both = lossgap.average_predictions([first, second])
    assert np.allclose(both.probabilities, (first.probabilities + second.probabilities) / 2)
    # Log loss is convex: the average's is at most its members' mean.
    assert both.log_loss <= (first.log_loss + second.log_loss) / 2 + 1e-12
    # Aligned by id, whatever order each member lists its samples in.
    shuffled = np.random.default_rng(0).permutation(first.ids.size)
    reordered = Predictions(first.split, first.ids[shuffled], first.labels[shuffled],
                            first.probabilities[shuffled], first.class_names)
    assert np.allclose(lossgap.average_predictions([first, reordered]).probabilities, first.probabilities)
    with pytest.raises(ValueError, match="not on the same samples"):
        lossgap.average_predictions([first, lossgap.predict(seeded_runs[0], "val")])


def test_a_missing_split_or_checkpoint_is_refused_in_one_line(seeded_runs, tmp_path):
    with pytest.raises(DataError, match="^unknown split 'holdout'; choose train, val or test$"):
        lossgap.predict(seeded_runs[0], "holdout")
    config = TrainConfig(data=DataConfig(source="synthetic:frequency,samples=60"), epochs=2)
    lossgap.train(config, tmp_path / "notest", diagnose_run=False)
    with pytest.raises(DataError, match="has no test split"):
        lossgap.predict(tmp_path / "notest")
    for checkpoint in (tmp_path / "notest" / "checkpoints").iterdir():
        checkpoint.unlink()
    with pytest.raises(RunDirError, match="no checkpoint of its delivered epoch 2"):
        lossgap.predict(tmp_path / "notest", "val")
