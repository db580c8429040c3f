"""Pure analysis of recorded dynamics: numpy arrays in, frozen dataclasses out (no torch, no files)."""

from lossgap.analysis.calibration import (Calibration, Reliability, TemperatureFit, calibration,
                                          expected_calibration_error, fit_temperature, reliability)
from lossgap.analysis.fit import FitSummary, fit_summary
from lossgap.analysis.generalization import (Generalization, analyze_generalization, early_stopping_epoch,
                                             patience_to_minimum)
from lossgap.analysis.gradients import GradientHealth, gradient_health
from lossgap.analysis.ledger import LEDGER_GROUPS, Ledger, LedgerSeries, describe_ledger, ledger_series, loss_ledger
from lossgap.analysis.optimization import OptimizationHealth, optimization_health
from lossgap.analysis.per_class import PerClass, minority_classes, per_class
from lossgap.analysis.plateaus import Plateau, accuracy_noise, find_plateaus, main_plateau
from lossgap.analysis.samples import SampleDynamics, sample_dynamics
from lossgap.analysis.suspects import LabelNoiseEvidence, Suspects, label_noise_evidence, suspected_mislabeled
from lossgap.analysis.signal import (ControlComparison, SignalTest, any_epoch_balanced_p_value,
                                     balanced_accuracy_p_values, control_test, signal_test)
from lossgap.analysis.reweighting import (UnweightedSignal, samples_with_weights_undone, unweighted_signal,
                                          unweighted_view)

__all__ = [
    "FitSummary", "fit_summary",
    "LEDGER_GROUPS", "Calibration", "ControlComparison", "Generalization", "GradientHealth", "LabelNoiseEvidence",
    "Ledger", "LedgerSeries", "OptimizationHealth", "PerClass", "Plateau", "Reliability", "SampleDynamics",
    "SignalTest", "Suspects", "TemperatureFit", "UnweightedSignal", "accuracy_noise", "any_epoch_balanced_p_value",
    "balanced_accuracy_p_values", "analyze_generalization", "calibration",
    "control_test", "describe_ledger", "early_stopping_epoch", "expected_calibration_error", "fit_temperature",
    "find_plateaus", "gradient_health", "label_noise_evidence", "ledger_series", "loss_ledger", "main_plateau",
    "minority_classes", "optimization_health", "patience_to_minimum", "per_class", "reliability",
    "sample_dynamics", "samples_with_weights_undone", "signal_test", "suspected_mislabeled", "unweighted_signal",
    "unweighted_view",
]
