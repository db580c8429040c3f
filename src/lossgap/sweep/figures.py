"""Optuna's own plots of a study, as PNG bytes, for the terminal command and the report."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402

#: Figure name -> (title, caption).
FIGURES = {
    "history": ("Optimisation history", "Each dot is a trial's value, its best val loss (nats, lower is better), by "
                "trial number; the line is the best so far. A line still falling at the right says more trials "
                "may still help."),
    "importances": ("Hyperparameter importances", "How much of the spread of the trials' best val loss each "
                    "searched hyperparameter explains (fANOVA over the complete trials)."),
    "intermediate_values": ("Val loss per epoch", "The val loss every trial reported after each epoch; trials the "
                            "pruner stopped end early. Curves that all flatten at the same level say the search "
                            "space does not matter much for this data."),
}
#: Fewer complete trials than this make the importances noise: the page says so beside the figure.
IMPORTANCE_MIN_TRIALS = 20


def figure_captions(study: optuna.Study, names) -> list[tuple[str, str, str]]:
    """(name, title, caption) of each figure in ``names``, the importances' caption warning when the study has
    fewer than IMPORTANCE_MIN_TRIALS complete trials."""
    complete = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
    captions = []
    for name in names:
        title, caption = FIGURES[name]
        if name == "importances" and complete < IMPORTANCE_MIN_TRIALS:
            caption += (f" With only {complete} complete trials these importances are mostly noise: read them as "
                        f"a hint, not a ranking (about {IMPORTANCE_MIN_TRIALS} or more make them meaningful).")
        captions.append((name, title, caption))
    return captions


def sweep_figures(study: optuna.Study, *, dpi: int = 100) -> dict[str, bytes]:
    """PNG bytes by name (see :data:`FIGURES`) of the optimization history, the parameter importances and the
    intermediate values. A figure the study cannot support yet (importances need two complete trials and a
    searched parameter; intermediate values need one reported epoch) is left out rather than drawn empty."""
    from optuna.visualization import matplotlib as optuna_plots

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    makers: dict[str, Callable] = {}
    if study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)):
        makers["history"] = optuna_plots.plot_optimization_history
    if len(complete) >= 2:
        makers["importances"] = optuna_plots.plot_param_importances
    # Optuna draws the intermediate values of complete, pruned and running trials only: a failed (interrupted)
    # trial's epochs alone leave it nothing to draw (and it logs a warning).
    drawn = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
    if any(trial.intermediate_values for trial in study.get_trials(deepcopy=False, states=drawn)):
        makers["intermediate_values"] = optuna_plots.plot_intermediate_values
    figures = {}
    verbosity = optuna.logging.get_verbosity()
    # Optuna logs what a plot lacks as warnings; a figure that cannot be drawn is left out instead.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        for name, maker in makers.items():
            png = _png(maker, study, dpi)
            if png is not None:
                figures[name] = png
    finally:
        optuna.logging.set_verbosity(verbosity)
    return figures


def _png(maker: Callable, study: optuna.Study, dpi: int) -> bytes | None:
    """``maker(study)`` drawn as PNG bytes in the report's style, or None when the study cannot support it."""
    with warnings.catch_warnings():
        # Optuna marks its matplotlib plots experimental; the figure is what is wanted, not the notice.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            axes = maker(study)
        except (ValueError, RuntimeError):
            # e.g. importances when every searched parameter took a single value
            plt.close("all")
            return None
    figure = (axes.flat[0] if hasattr(axes, "flat") else axes).figure
    _restyle(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def _restyle(figure) -> None:
    """The report's look instead of Optuna's grey one: white panels, a light grid, quiet frames."""
    figure.patch.set_facecolor("white")
    for axis in figure.axes:
        axis.set_facecolor("white")
        axis.grid(True, color="#e9ecef", linewidth=0.8)
        axis.set_axisbelow(True)
        for spine in axis.spines.values():
            spine.set_color("#adb5bd")
