"""Optuna's plots as PNG bytes: history, importances and per-epoch values, each only when the study supports it."""

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import create_trial

from lossgap.sweep.figures import FIGURES, sweep_figures

PNG = b"\x89PNG\r\n\x1a\n"


def study_with(count):
    study = optuna.create_study()
    for index in range(count):
        study.add_trial(create_trial(params={"lr": 0.001 * (index + 1), "dropout": 0.5 * index / max(count, 5)},
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


def test_every_figure_is_captioned_and_few_trials_are_called_noise_for_importances():
    from lossgap.sweep.figures import IMPORTANCE_MIN_TRIALS, figure_captions

    few = {name: caption for name, _, caption in figure_captions(study_with(3), FIGURES)}
    assert set(few) == set(FIGURES) and all(caption for caption in few.values())
    assert "With only 3 complete trials these importances are mostly noise" in few["importances"]
    many = dict((name, caption) for name, _, caption in figure_captions(study_with(IMPORTANCE_MIN_TRIALS), FIGURES))
    assert "mostly noise" not in many["importances"]


def test_the_sweep_page_captions_its_figures_in_the_reports_style(tmp_path):
    from lossgap.sweep.page import write_sweep_outputs

    study = study_with(3)
    page, _ = write_sweep_outputs(study, tmp_path)
    html = page.read_text(encoding="utf-8")
    assert "3 complete" in html and "Figure 1. Optimisation history" in html and "mostly noise" in html
    assert html.count("<figcaption>") == 3 and (tmp_path / "figures" / "importances.png").exists()


def test_a_study_whose_only_trial_failed_draws_nothing_and_logs_nothing(capfd):
    # A sweep interrupted in its first trial: the failed trial has epochs, which Optuna's plot does not draw
    # (it logged "Study instance does not contain trials.").
    from optuna.trial import TrialState

    study = optuna.create_study()
    study.add_trial(create_trial(params={"lr": 0.001}, distributions={"lr": FloatDistribution(1e-4, 1e-1, log=True)},
                                 state=TrialState.FAIL, intermediate_values={1: 0.5, 2: 0.4}))
    capfd.readouterr()
    assert sweep_figures(study) == {}
    captured = capfd.readouterr()
    assert "does not contain trials" not in captured.err + captured.out
