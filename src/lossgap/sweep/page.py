"""What a sweep leaves for people: ``sweep.html``, ``figures/*.png`` and the best configuration's command."""

from __future__ import annotations

from pathlib import Path

import optuna

from lossgap.io import write_bytes
from lossgap.report.compare import write_sweep_page
from lossgap.sweep.figures import figure_captions, sweep_figures
from lossgap.sweep.space import trained_params
from lossgap.sweep.summary import best_command, command_notes, completed_trials

#: Sub-directory of the sweep's --out that holds the figures.
FIGURES_DIR = "figures"
PAGE_FILE = "sweep.html"


def best_rows(study: optuna.Study, limit: int = 10) -> list[dict]:
    """The best complete trials, best first: trial number, best val loss (nats), epochs run, hyperparameters
    as trained (the model family too when the study searched several)."""
    trials = completed_trials(study)[:limit]
    searched_families = any("model" in trial.params for trial in trials)
    rows = []
    for trial in trials:
        params = trained_params(trial.params)
        rows.append({"trial": trial.number, "val_loss": trial.value, "epochs": len(trial.intermediate_values),
                     **({"model": params.get("model")} if searched_families else {}),
                     "lr": params.get("lr"), "hidden": params.get("hidden"), "layers": params.get("layers"),
                     "dropout": params.get("dropout"), "weight_decay": params.get("weight_decay", 0.0),
                     "batch": params.get("batch")})
    return rows


def write_sweep_outputs(study: optuna.Study, out: Path) -> tuple[Path, str | None]:
    """Write ``out/figures/*.png`` and ``out/sweep.html``; returns the page's path and the best configuration's
    ``lossgap train`` command (into ``out/best``; None before any trial completed). The page shows beside the
    command the note sweep.json holds as ``best_command_note`` (an older study's best trial had its own seed)."""
    pngs = sweep_figures(study)
    for name, png in pngs.items():
        write_bytes(out / FIGURES_DIR / f"{name}.png", png)
    command = best_command(study, out / "best")
    page = write_sweep_page(out / PAGE_FILE, study=study.study_name, rows=best_rows(study), pngs=pngs,
                            command=command, captions=figure_captions(study, pngs), counts=_state_counts(study),
                            command_note="; ".join(command_notes(study)) or None)
    return page, command


def _state_counts(study: optuna.Study) -> dict[str, int]:
    counts: dict[str, int] = {}
    for trial in study.get_trials(deepcopy=False):
        counts[trial.state.name.lower()] = counts.get(trial.state.name.lower(), 0) + 1
    return counts
