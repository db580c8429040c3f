"""The summary of a study: best trial, the best command that the train CLI parses back, sweep.json."""

import json
import shlex

import typer
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from lossgap.sweep.space import SearchSpace
from lossgap.sweep.storage import open_storage, open_study
from lossgap.sweep.summary import (best_command, best_config, best_trial, completed_trials, delivery_note,
                                   reproduction_note, selection_note, summarize, write_summary)
from lossgap.training.config import DataConfig, EarlyStoppingConfig, TrainConfig

BASE = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=120", val_fraction=0.25), epochs=6, seed=3,
                   early_stopping=EarlyStoppingConfig(patience=2))
DISTRIBUTIONS = {"lr": FloatDistribution(1e-4, 3e-2, log=True), "hidden": CategoricalDistribution([16, 32]),
                 "layers": IntDistribution(1, 2), "dropout": FloatDistribution(0.0, 0.5),
                 "batch": CategoricalDistribution([16, 32]), "weight_decay": FloatDistribution(1e-6, 1e-2, log=True)}


def params(lr, hidden=16):
    return {"lr": lr, "hidden": hidden, "layers": 2, "dropout": 0.25, "batch": 32, "weight_decay": 1e-4}


def hand_made_study(tmp_path):
    """Three complete trials (values 0.5, 0.3, 0.4), one pruned with a lower last value, one failed."""
    study = open_study(open_storage(f"sqlite:///{tmp_path / 'sweep.db'}"), "s",
                       SearchSpace(hidden=(16, 32), batch=(16, 32)), BASE)
    for lr, value in ((0.001, 0.5), (0.002, 0.3), (0.003, 0.4)):
        study.add_trial(create_trial(params=params(lr), distributions=DISTRIBUTIONS, value=value,
                                     intermediate_values={1: value + 0.1, 2: value}, user_attrs={"init_seed": 9}))
    study.add_trial(create_trial(params=params(0.02, 32), distributions=DISTRIBUTIONS, state=TrialState.PRUNED,
                                 value=0.1, intermediate_values={1: 0.1}))
    study.add_trial(create_trial(params=params(0.01), distributions=DISTRIBUTIONS, state=TrialState.FAIL))
    return study


def test_the_best_trial_is_the_lowest_complete_value_never_a_pruned_one(tmp_path):
    study = hand_made_study(tmp_path)
    assert best_trial(study).number == 1
    assert [trial.value for trial in completed_trials(study)] == [0.3, 0.4, 0.5]


def test_the_best_config_is_the_base_with_the_best_parameters(tmp_path):
    config = best_config(hand_made_study(tmp_path))
    assert config.optimizer.lr == 0.002 and config.model.num_layers == 2 and config.batch_size == 32
    assert (config.seed, config.epochs, config.early_stopping.patience, config.data.val_fraction) == (3, 6, 2, 0.25)


def test_the_best_command_parses_back_with_the_train_options(tmp_path):
    from lossgap.cli import train  # noqa: F401  (registers the command)
    from lossgap.cli.app import register_commands

    command = best_command(hand_made_study(tmp_path), tmp_path / "best run")
    words = shlex.split(command)
    assert words[:2] == ["lossgap", "train"]
    train_command = typer.main.get_command(register_commands()).commands["train"]
    parsed = train_command.make_context("train", words[2:]).params
    assert parsed["data"] == "synthetic:sum-sign,samples=120" and parsed["out"].name == "best run"
    assert (parsed["lr"], parsed["hidden"], parsed["layers"], parsed["dropout"], parsed["batch_size"],
            parsed["weight_decay"]) == (0.002, 16, 2, 0.25, 32, 1e-4)
    assert (parsed["seed"], parsed["epochs"], parsed["early_stopping"], parsed["val_fraction"]) == (3, 6, 2, 0.25)


def command_config(command):
    """The TrainConfig that ``lossgap train`` builds from the words of ``command``."""
    from lossgap.cli import train  # noqa: F401  (registers the command)
    from lossgap.cli.app import register_commands
    from lossgap.cli.options import config_from_options

    train_command = typer.main.get_command(register_commands()).commands["train"]
    parsed = train_command.make_context("train", shlex.split(command)[2:]).params
    return config_from_options(parsed["data"], parsed)


def test_the_printed_command_trains_the_config_of_every_trial_that_could_be_best(tmp_path):
    from lossgap.sweep import SweepSettings, run_sweep
    from lossgap.sweep.objective import INIT_SEED_ATTR
    from lossgap.sweep.space import apply_params

    base = TrainConfig(data=DataConfig(source="synthetic:sum-sign,samples=60"), epochs=2, seed=4)
    result = run_sweep(base, SearchSpace(hidden=(8,), layers=(1, 1), batch=(32,)),
                       SweepSettings(out=tmp_path, trials=3, threads=1, pruner="none"))
    printed = command_config(json.loads((tmp_path / "sweep.json").read_text())["best_command"])
    # What each trial trained: its parameters on the base, initialised with its recorded seed. Had any of them
    # been the best, its command (which can only say --seed) would train exactly that.
    for trial in result.study.trials:
        trained = apply_params(base, trial.params).model_copy(update={"seed": trial.user_attrs[INIT_SEED_ATTR]})
        assert command_config(apply_params(base, trial.params).command()) == trained, trial.number
    best = best_trial(result.study)
    assert printed == apply_params(base, best.params).model_copy(update={"seed": best.user_attrs[INIT_SEED_ATTR]})
    assert reproduction_note(result.study) is None


def test_a_best_trial_of_an_older_lossgap_with_its_own_seed_gets_a_note_next_to_the_command(tmp_path):
    study = hand_made_study(tmp_path)   # trials initialised with seed 9, the base seed is 3
    note = reproduction_note(study)
    assert "trial 1 was initialised with seed 9" in note and "--seed 3" in note and "0.3000" in note
    summary = json.loads(write_summary(study, tmp_path / "out", storage="x").read_text())
    assert summary["best_command_note"] == note and "--seed 3" in summary["best_command"]


def test_a_best_trial_whose_last_epoch_is_clearly_worse_gets_a_note_unless_early_stopping_keeps_its_best(tmp_path):
    # A sweep crowned a trial at val loss 0.0050 (epoch 9) whose delivered epoch-15 model had 0.088, silently.
    def study_of(base, last):
        study = open_study(open_storage(f"sqlite:///{tmp_path / f'{last}-{base.early_stopping.patience}.db'}"), "s",
                           SearchSpace(hidden=(16, 32), batch=(16, 32)), base)
        study.add_trial(create_trial(params=params(0.002), distributions=DISTRIBUTIONS, value=0.2,
                                     intermediate_values={1: 0.6, 2: 0.2, 3: last}, user_attrs={"init_seed": 3}))
        return study

    no_stopping = BASE.model_copy(update={"early_stopping": EarlyStoppingConfig(patience=None)})
    note = delivery_note(study_of(no_stopping, 0.5))
    assert note == ("trial 0's val loss 0.2000 is its epoch 2's; without --early-stopping the command delivers its "
                    "last epoch's model (val loss 0.5000 at epoch 3): add --early-stopping N to keep the best "
                    "epoch's weights (it also changes when training stops)")
    assert summarize(study_of(no_stopping, 0.5), storage="x")["best_delivery_note"] == note
    assert delivery_note(study_of(no_stopping, 0.21)) is None   # within 10% of the best: nothing to say
    assert delivery_note(study_of(BASE, 0.5)) is None           # early stopping restores the best epoch


def test_an_empty_study_has_no_best_command(tmp_path):
    study = open_study(open_storage(f"sqlite:///{tmp_path / 'sweep.db'}"), "s", SearchSpace(), BASE)
    assert best_command(study) is None and summarize(study, storage="x")["best"] is None


def test_sweep_json_holds_every_trial_the_best_and_the_command(tmp_path):
    study = hand_made_study(tmp_path)
    path = write_summary(study, tmp_path / "out", storage="sqlite:///x", this_run={"finished": 5})
    summary = json.loads(path.read_text())
    assert summary["study"] == "s" and summary["direction"] == "minimize" and summary["storage"] == "sqlite:///x"
    assert [trial["state"] for trial in summary["trials"]] == ["COMPLETE"] * 3 + ["PRUNED", "FAIL"]
    assert summary["counts"] == {"COMPLETE": 3, "PRUNED": 1, "FAIL": 1}
    assert summary["best"]["number"] == 1 and summary["best"]["value"] == 0.3
    assert summary["best"]["epochs_run"] == 2 and summary["best"]["init_seed"] == 9
    assert summary["best_command"] == best_command(study, tmp_path / "out" / "best")
    assert summary["search_space"]["hidden"] == [16, 32] and summary["this_run"] == {"finished": 5}
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_every_place_shows_the_values_trials_trained_not_the_raw_draws(tmp_path):
    from lossgap.sweep.page import best_rows, write_sweep_outputs

    study = open_study(open_storage(f"sqlite:///{tmp_path / 'sweep.db'}"), "s",
                       SearchSpace(hidden=(16, 32), batch=(16, 32)), BASE)
    drawn = {**params(0.0021223456), "dropout": 0.28791234, "weight_decay": 0.000123456}
    study.add_trial(create_trial(params=drawn, distributions=DISTRIBUTIONS, value=0.4, intermediate_values={1: 0.4}))
    trained = best_config(study)
    assert (trained.optimizer.lr, trained.model.dropout, trained.optimizer.weight_decay) == (0.00212, 0.288, 0.000123)
    row = summarize(study, storage="sqlite")["trials"][0]
    assert row["params"]["lr"] == 0.00212 and row["params"]["dropout"] == 0.288
    assert row["params"]["weight_decay"] == 0.000123
    assert best_rows(study)[0]["dropout"] == 0.288 and best_rows(study)[0]["lr"] == 0.00212
    page, command = write_sweep_outputs(study, tmp_path)
    html = page.read_text()
    assert "0.288" in html and "0.2879" not in html and "0.00212" in html and "0.002122" not in html
    assert "--lr 0.00212" in command and "--dropout 0.288" in command
    assert "1 complete trials." in html and "completetrials" not in html


def test_the_terminal_table_shows_the_trained_values(tmp_path):
    from rich.console import Console

    from lossgap.cli.sweep import best_trials_table

    study = open_study(open_storage(f"sqlite:///{tmp_path / 'sweep.db'}"), "s",
                       SearchSpace(hidden=(16, 32), batch=(16, 32)), BASE)
    study.add_trial(create_trial(params={**params(0.0021223456), "dropout": 0.28791234}, distributions=DISTRIBUTIONS,
                                 value=0.4))
    console = Console(width=100, record=True)
    console.print(best_trials_table(study))
    text = console.export_text()
    assert "0.00212" in text and "0.288" in text and "2.1e-03" not in text
    # A trial that recorded no seed of its own (older lossgap versions): the caption does not claim --seed.
    assert "older lossgap versions had their own" in " ".join(text.split())


def test_sweep_html_shows_the_note_of_an_older_study_next_to_the_best_command(tmp_path):
    import html

    from lossgap.sweep.page import write_sweep_outputs

    study = hand_made_study(tmp_path)   # the best trial was initialised with seed 9, the command says --seed 3
    page, command = write_sweep_outputs(study, tmp_path / "out")
    text = html.unescape(page.read_text())
    note = json.loads(write_summary(study, tmp_path / "out", storage="x").read_text())["best_command_note"]
    # The command, then at once the note: a reader of the command cannot miss why it will not repeat 0.3000.
    after_command = text.split(f"<pre>{command}</pre>", 1)[1]
    assert after_command.lstrip().startswith('<p class="small" id="best-command-note">Note: ' + note)


def test_sweep_html_has_no_note_when_the_best_command_repeats_the_best_trial(tmp_path):
    from lossgap.sweep.page import write_sweep_outputs

    study = open_study(open_storage(f"sqlite:///{tmp_path / 'sweep.db'}"), "s", SearchSpace(), BASE)
    study.add_trial(create_trial(params=params(0.002), distributions=DISTRIBUTIONS, value=0.3,
                                 intermediate_values={1: 0.3}, user_attrs={"init_seed": BASE.seed}))
    page, command = write_sweep_outputs(study, tmp_path / "out")
    assert command is not None and "best-command-note" not in page.read_text()


def test_the_best_of_several_trials_is_said_to_be_an_optimistic_estimate(tmp_path):
    # A sweep's best val loss is the minimum of many figures on the split that chose it (trial 20: shown unflagged).
    study = hand_made_study(tmp_path)
    note = selection_note(study)
    assert note.startswith("val loss 0.3000 is the lowest of 3 trials, each at its best epoch, on the val split that "
                           "chose them: an optimistic estimate")
    assert summarize(study, storage="x")["best_selection_note"] == note
    single = open_study(open_storage(f"sqlite:///{tmp_path / 'one.db'}"), "s",
                        SearchSpace(hidden=(16, 32), batch=(16, 32)), BASE)
    single.add_trial(create_trial(params=params(0.002), distributions=DISTRIBUTIONS, value=0.2,
                                  intermediate_values={1: 0.2}, user_attrs={"init_seed": 3}))
    assert selection_note(single) is None
