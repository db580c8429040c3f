"""What a study holds, for people: the best trials, the best configuration as a command, ``sweep.json``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from lossgap.io import write_json
from lossgap.sweep.objective import INIT_SEED_ATTR, THREADS_ATTR
from lossgap.sweep.space import apply_params, trained_params
from lossgap.sweep.storage import STUDY_ATTR, stored_base
from lossgap.training.config import TrainConfig

SWEEP_FILE = "sweep.json"
OBJECTIVE = "best validation loss of the trial (nats, mean cross-entropy over val samples); lower is better"


def completed_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The study's complete trials (pruned ones have no final value), best first; ties by trial number."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return sorted(complete, key=lambda trial: (trial.value, trial.number))


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The complete trial with the lowest best val loss, or None before any trial completed."""
    complete = completed_trials(study)
    return complete[0] if complete else None


def best_config(study: optuna.Study) -> TrainConfig | None:
    """The study's base configuration with the best trial's hyperparameters, or None before any trial completed.

    Its seed is the base seed, which every trial trains with (split and initialisation), so ``lossgap train``
    with it repeats the best trial; see :func:`reproduction_note` for trials of an older lossgap.
    """
    best = best_trial(study)
    if best is None or STUDY_ATTR not in study.user_attrs:
        return None
    return apply_params(stored_base(study), best.params)


def best_command(study: optuna.Study, run_dir: str | Path | None = None) -> str | None:
    """The best configuration as a ready ``lossgap train ...`` shell command (``--out run_dir`` if given), with
    ``--threads`` the best trial trained with when recorded: a run's numbers depend on its thread count (the best
    command pasted without it gave final val loss 0.0949 where its trial had 0.0792)."""
    config = best_config(study)
    if config is None:
        return None
    return config.command(run_dir, threads=best_trial(study).user_attrs.get(THREADS_ATTR))


def reproduction_note(study: optuna.Study) -> str | None:
    """None when the best command repeats the best trial (it initialised with the command's seed), else one
    sentence saying it will not and why: the trial's ``init_seed`` differs (an older lossgap initialised trial k
    with seed + k, and ``--seed`` also draws the val split) or was not recorded."""
    best, config = best_trial(study), best_config(study)
    if best is None or config is None:
        return None
    init_seed = best.user_attrs.get(INIT_SEED_ATTR)
    if init_seed == config.seed:
        return None
    used = f"was initialised with seed {init_seed}" if init_seed is not None else "recorded no initialisation seed"
    return (f"trial {best.number} {used} (older lossgap versions gave each trial its own seed); --seed also draws "
            f"the val split, so the command keeps --seed {config.seed} and will not repeat val loss "
            f"{best.value:.4f} exactly (a new study's trials all use --seed)")


#: The last epoch's val loss must exceed the best epoch's by this share before the delivery note speaks.
DELIVERY_GAP = 0.1


def delivery_note(study: optuna.Study) -> str | None:
    """One sentence when the best command would deliver a model clearly worse than the trial's figure, else None.

    A trial is ranked by its lowest val loss over its epochs; a run without ``--early-stopping`` delivers its
    last epoch's weights. Where the best trial's last epoch is more than DELIVERY_GAP worse than its best, the
    command trains that trial exactly and delivers the worse model (a sweep crowned a trial at val loss 0.0050,
    epoch 9, whose epoch-15 model, the one delivered, had 0.088), so the note gives both figures and the fix."""
    best, config = best_trial(study), best_config(study)
    if best is None or config is None or config.early_stopping.enabled or not best.intermediate_values:
        return None
    epochs = sorted(best.intermediate_values)
    last_epoch = epochs[-1]
    last = best.intermediate_values[last_epoch]
    if not last > best.value * (1 + DELIVERY_GAP):
        return None
    best_epoch = min(epochs, key=lambda epoch: best.intermediate_values[epoch])
    return (f"trial {best.number}'s val loss {best.value:.4f} is its epoch {best_epoch}'s; without --early-stopping "
            f"the command delivers its last epoch's model (val loss {last:.4f} at epoch {last_epoch}): add "
            "--early-stopping N to keep the best epoch's weights (it also changes when training stops)")


def selection_note(study: optuna.Study) -> str | None:
    """One sentence on what the best trial's val loss is worth as an estimate, once two or more trials completed (else
    None): the lowest of several figures measured on the val split that chose it is biased low (a trial-20 sweep's best
    had been shown as the configuration's val loss with nothing saying so)."""
    trials = completed_trials(study)
    best = best_trial(study)
    if best is None or len(trials) < 2:
        return None
    return (f"val loss {best.value:.4f} is the lowest of {len(trials)} trials, each at its best epoch, on the val split "
            "that chose them: an optimistic estimate; judge the best configuration on data no trial chose on (the "
            "test split its run records, or new data)")


def command_notes(study: optuna.Study) -> list[str]:
    """The notes that go beside the best command, in order: :func:`reproduction_note`, :func:`delivery_note`,
    :func:`selection_note` (those that apply)."""
    return [note for note in (reproduction_note(study), delivery_note(study), selection_note(study)) if note]


def trial_row(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    """One trial as JSON: number, state, value (nats), params (as trained: rounded like the command), epochs
    reported, init seed, seconds."""
    seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() \
        if trial.datetime_complete and trial.datetime_start else None
    return {"number": trial.number, "state": trial.state.name, "value": trial.value, "params": trained_params(trial.params),
            "epochs_run": len(trial.intermediate_values), "init_seed": trial.user_attrs.get(INIT_SEED_ATTR),
            "seconds": seconds}


def summarize(study: optuna.Study, *, storage: str, run_dir: str | Path | None = None) -> dict[str, Any]:
    """The content of ``sweep.json``: study, storage (password masked), direction, space, base options, state
    counts, every trial, the best trial, the best command and, when that command cannot repeat the best trial,
    why (``best_command_note``, else None)."""
    trials = study.get_trials(deepcopy=False)
    counts: dict[str, int] = {}
    for trial in trials:
        counts[trial.state.name] = counts.get(trial.state.name, 0) + 1
    stored = study.user_attrs.get(STUDY_ATTR, {})
    best = best_trial(study)
    return {
        "study": study.study_name,
        "storage": storage,
        "direction": "minimize",
        "objective": OBJECTIVE,
        "data": stored.get("base", {}).get("data", {}).get("source"),
        "search_space": stored.get("space"),
        "base": stored.get("base"),
        "counts": counts,
        "best": trial_row(best) if best is not None else None,
        "best_command": best_command(study, run_dir),
        "best_command_note": reproduction_note(study),
        "best_delivery_note": delivery_note(study),
        "best_selection_note": selection_note(study),
        "trials": [trial_row(trial) for trial in sorted(trials, key=lambda trial: trial.number)],
    }


def write_summary(study: optuna.Study, out: str | Path, *, storage: str,
                  this_run: dict[str, Any] | None = None) -> Path:
    """Write ``OUT/sweep.json`` atomically (``this_run``: what the latest command added); returns its path."""
    target = Path(out) / SWEEP_FILE
    payload = summarize(study, storage=storage, run_dir=Path(out) / "best")
    payload["this_run"] = this_run
    write_json(target, payload)
    return target
