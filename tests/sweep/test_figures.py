"""Optuna's plots as PNG bytes: history, importances and per-epoch values, each only when the study supports it."""

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from lossgap.sweep.figures import FIGURES, sweep_figures

PNG = b"\x89PNG\r\n\x1a\n"


def study_with(count):
    study = optuna.create_study()
    for index in range(count):
        study.add_trial(create_trial(params={"lr": 0.001 * (index + 1), "dropout": 0.1 * index},
                                     distributions={"lr": FloatDistribution(1e-4, 1e-1, log=True),
                                                    "dropout": FloatDistribution(0.0, 0.5)},
                                     value=1.0 / (index + 1), intermediate_values={1: 2.0, 2: 1.0 / (index + 1)}))
    return study


def test_three_trials_give_all_three_figures_as_png():
    figures = sweep_figures(study_with(3))
    assert set(figures) == set(FIGURES)
    assert all(data.startswith(PNG) and len(data) > 1000 for data in figures.values())


def test_one_trial_gives_no_importances_and_an_empty_study_nothing():
    assert set(sweep_figures(study_with(1))) == {"history", "intermediate_values"}
    assert sweep_figures(optuna.create_study()) == {}
