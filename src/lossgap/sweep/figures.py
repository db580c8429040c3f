"""Optuna's own plots of a study, as PNG bytes for the report."""

from __future__ import annotations

import io
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import optuna  # noqa: E402


def sweep_figures(study: optuna.Study) -> dict[str, bytes]:
    """History, parameter importances (with 2+ completed trials) and intermediate values, by name."""
    from optuna.visualization import matplotlib as optuna_plots

    makers = {"history": optuna_plots.plot_optimization_history,
              "intermediate_values": optuna_plots.plot_intermediate_values}
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if len(completed) >= 2:
        makers["importances"] = optuna_plots.plot_param_importances
    out = {}
    for name, maker in makers.items():
        with warnings.catch_warnings():
            # Optuna marks its matplotlib plots experimental; the figure is what we need, not the notice.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            axis = maker(study)
        buffer = io.BytesIO()
        axis.figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        plt.close(axis.figure)
        out[name] = buffer.getvalue()
    return out
