"""One trial: best val loss on a split fixed by the base seed, the test split unseen, trained with the base seed."""

import math

import numpy as np
import optuna
import pytest
import torch

from lossgap.data import load_data
from lossgap.training.once import model_for
from lossgap.sweep.objective import INIT_SEED_ATTR, SweepObjective, validation_splits
from lossgap.sweep.space import SearchSpace, apply_params
from lossgap.training.config import DataConfig, TrainConfig
from lossgap.training.recorder import Recorder
from lossgap.training.seeding import seeded
from lossgap.training.trainer import fit

BASE = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=120,test_samples=40"), epochs=3, seed=5)
SPACE = SearchSpace(hidden=(8,), layers=(1, 1), batch=(32,))
PARAMS = {"lr": 0.01, "hidden": 8, "layers": 1, "dropout": 0.0, "batch": 32, "weight_decay": 1e-5}


@pytest.fixture(autouse=True)
def one_torch_thread():
    # Tiny models train fastest on one thread, and stay fast on a machine busy with other work.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def run_trial(objective, number, params=PARAMS):
    """Run ``objective`` as trial ``number`` of a fresh in-memory study with fixed parameters."""
    study = optuna.create_study()
    for _ in range(number):
        study.enqueue_trial(params)
        study.tell(study.ask(), 1.0)
    study.enqueue_trial(params)
    trial = study.ask()
    value = objective(trial)
    study.tell(trial, value)
    return value, study.trials[-1]


def test_the_validation_splits_drop_test_and_follow_the_base_seed():
    splits = validation_splits(BASE)
    assert splits.test is None
    full = load_data(BASE.data, BASE.seed).splits
    assert full.test is not None and full.test.num_samples == 40
    assert np.array_equal(np.sort(splits.val.ids), np.sort(full.val.ids))


def test_the_value_is_the_best_val_loss_of_a_training_run_with_the_base_seed():
    value, frozen = run_trial(SweepObjective(BASE, SPACE, run_id="r1"), number=2)
    assert frozen.user_attrs[INIT_SEED_ATTR] == 5 and frozen.user_attrs["run_id"] == "r1"
    # The same training done by hand: same split, same parameters, the base seed 5 (what `lossgap train
    # --seed 5` initialises with), whatever the trial's number.
    config = apply_params(BASE, PARAMS).model_copy(update={"record_train": "pass"})
    splits = validation_splits(BASE)
    with seeded(5, torch.device("cpu")) as generator:
        model = model_for(config, splits)
        result = fit(model, splits, config, Recorder(keep_logits=()), generator)
    val_losses = [row["val_loss"] for row in result.history]
    assert math.isclose(value, min(val_losses), rel_tol=1e-6)
    assert sorted(frozen.intermediate_values) == [1, 2, 3]
    assert np.allclose([frozen.intermediate_values[epoch] for epoch in (1, 2, 3)], val_losses)


def test_the_same_parameters_give_the_same_value_whatever_the_trial_number():
    # Trials differ only in their hyperparameters: an older lossgap initialised trial k with seed + k, so the
    # best command (which can only give --seed) did not repeat its trial.
    objective = SweepObjective(BASE, SPACE)
    values = [run_trial(objective, number=number) for number in (0, 1, 3)]
    assert [value for value, _ in values] == [values[0][0]] * 3
    assert [frozen.user_attrs[INIT_SEED_ATTR] for _, frozen in values] == [BASE.seed] * 3


def test_the_objective_pickles_without_its_data():
    import pickle

    objective = SweepObjective(BASE, SPACE, splits=validation_splits(BASE))
    restored = pickle.loads(pickle.dumps(objective))
    assert restored._splits is None and restored.base == BASE and restored.space == SPACE


def test_each_epoch_of_a_trial_is_reported_with_its_number(tmp_path):
    import optuna

    from lossgap.sweep.objective import SweepObjective
    from lossgap.sweep.space import SearchSpace

    seen = []
    objective = SweepObjective(BASE.model_copy(update={"epochs": 3}), SearchSpace(hidden=(8,), batch=(32,)))
    objective.on_epoch = lambda *epoch: seen.append(epoch)
    study = optuna.create_study()
    study.optimize(objective, n_trials=1)
    assert [(trial, epoch, epochs) for trial, epoch, epochs, _ in seen] == [(0, 1, 3), (0, 2, 3), (0, 3, 3)]
    import pickle

    assert pickle.loads(pickle.dumps(objective)).on_epoch is None   # a worker installs its own relay
