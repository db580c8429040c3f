"""Optuna's own plots of a study, as PNG bytes, for the terminal command and the report."""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402

#: Figure name -> what it shows (used as captions).
FIGURES = {
    "history": "best val loss of each trial and the best so far, by trial number",
    "importances": "how much each hyperparameter explains the best val loss (fANOVA)",
    "intermediate_values": "val loss per epoch of every trial; pruned trials stop early",
}


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
    if any(trial.intermediate_values for trial in study.get_trials(deepcopy=False)):
        makers["intermediate_values"] = optuna_plots.plot_intermediate_values
    figures = {}
    for name, maker in makers.items():
        with warnings.catch_warnings():
            # Optuna marks its matplotlib plots experimental; the figure is what is wanted, not the notice.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                axes = maker(study)
            except (ValueError, RuntimeError):
                # e.g. importances when every searched parameter took a single value
                plt.close("all")
                continue
        figure = (axes.flat[0] if hasattr(axes, "flat") else axes).figure
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(figure)
        figures[name] = buffer.getvalue()
    return figures
