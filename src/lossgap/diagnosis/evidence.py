"""Every analysis a diagnosis needs, computed once from a run's curves and recorded dynamics.

Decisions use train and val only; the test split (when recorded) is never looked at here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from lossgap.analysis.calibration import Calibration, calibration
from lossgap.analysis.fit import FitSummary, Objective, fit_summary, outputs_unchanged, weighted_objective
from lossgap.analysis.generalization import Generalization, analyze_generalization
from lossgap.analysis.ledger import Ledger, describe_ledger, main_plateau_ledger
from lossgap.analysis.optimization import (FALLING_MIN_RELATIVE_SLOPE, OptimizationHealth,
                                          optimization_health)
from lossgap.analysis.per_class import PerClass, minority_classes, per_class
from lossgap.analysis.plateaus import Plateau, accuracy_noise, find_plateaus
from lossgap.analysis.smoothing import linear_trend
from lossgap.analysis.samples import SampleDynamics, sample_dynamics
from lossgap.analysis.suspects import LabelNoiseEvidence, Suspects, label_noise_evidence, suspected_mislabeled
from lossgap.analysis.reweighting import UnweightedSignal, samples_with_weights_undone, unweighted_signal
from lossgap.analysis.signal import (ControlComparison, SignalTest, any_epoch_balanced_p_value,
                                     any_epoch_p_value, control_test, loss_clearly_below_prior, signal_test)
from lossgap.class_weights import run_class_weights
from lossgap.diagnosis import learning_state
from lossgap.diagnosis.curves import Curves, curves_from
from lossgap.diagnosis.split_checks import SplitChecks, check_splits
from lossgap.diagnosis.wording import way_to_one
from lossgap.dynamics import SplitDynamics
from lossgap.run.reader import delivered_epoch

#: A train loss less than this share below the prior's entropy, with the val loss still setting new lows: the
#: model is still early in learning (see RunEvidence.early_learning).
EARLY_LEARNING_FIT = 0.1
#: Epochs a trend needs before a rule says anything about it.
MIN_TREND_EPOCHS = 3
#: Sequences at least this long (time steps) are long: a recurrent layer alone carries shapes over so many steps
#: poorly, and the LSTM-FCN's convolution branch is suggested (README: LSTM 0.72 vs LSTM-FCN 0.90 on OSULeaf). 50, not
#: the 100 first chosen: a trial's label in the first 3 steps of sequences of 20-80 steps read no signal 0.95 with a
#: last-step LSTM (train loss 13% below the prior's), while --bidirectional reached val 0.950.
LONG_SEQUENCE = 50


@dataclass(frozen=True, eq=False)
class RunEvidence:
    """The analyses of one run that the cause rules read. Epochs are 1-based."""

    curves: Curves
    val: SplitDynamics
    train: SplitDynamics | None
    focus_split: str
    generalization: Generalization
    plateaus: dict[str, tuple[Plateau, ...]]
    #: The main val plateau and its ledger: what the causes read, whichever split is shown.
    main_plateau: Plateau | None
    ledger: Ledger | None
    #: The ledger of the shown split (``--split``): what the diagnosis prints and writes.
    focus_ledger: Ledger | None
    ledger_sentence: str | None
    judged_epoch: int
    signal: SignalTest
    signal_any_epoch_p: float
    loss_clearly_below_prior: bool
    val_per_class: PerClass
    val_calibration: Calibration | None
    train_samples: SampleDynamics | None
    suspects: Suspects | None
    noise: LabelNoiseEvidence | None
    optimization: OptimizationHealth
    control: ControlComparison | None
    train_class_counts: np.ndarray
    #: lossgap's training configuration (config.json's "train"); None for a run recorded by an own loop.
    train_config: dict | None
    fit: FitSummary
    #: 1-based epoch of the lowest raw val loss.
    val_loss_min_epoch: int
    #: Early-stopping patience the run used (None: off or unknown).
    patience: int | None = None
    #: Per-epoch optimisation evidence (gradient norms, update ratios, gate saturation), when recorded.
    gradients: object | None = None
    #: Longest sequence of the run's data in time steps (config.json), when known.
    sequence_length: int | None = None
    #: 1-based epoch whose weights the run delivers (summary.json: the restored best epoch under early stopping,
    #: else the last); the last epoch when unknown (own loops), as :func:`lossgap.run.reader.delivered_epoch`
    #: always sets it.
    delivered_epoch: int = 0
    #: The run's class names by class index, when known; sentences name classes by them.
    class_names: tuple[str, ...] | None = None
    #: The model and optimizer settings the constraints read (:mod:`lossgap.diagnosis.constraints`):
    #: ``train_config`` for lossgap's runs, else what an own loop's Recorder described; None when unknown.
    settings: dict | None = None
    #: The class-weighted objective when the run weighted its loss (None: the plain train loss is the objective).
    objective: Objective | None = None
    #: The weights (C,) the run's loss was weighted by (lossgap's --class-weights balanced, or an own loop's
    #: described ones); None for an unweighted loss.
    class_weights: np.ndarray | None = None
    #: A class-weighted run's signal tests on its val outputs with the weights' shift taken out; None for an
    #: unweighted loss (or when val kept no full logits).
    unweighted_signal: UnweightedSignal | None = None
    #: p-value that val balanced accuracy beats 1/C over the epochs (corrected as signal_any_epoch_p is): on
    #: imbalanced data a model can trail the majority share while telling the classes apart
    #: (:func:`lossgap.analysis.signal.balanced_accuracy_p_values`).
    balanced_signal_p: float = float("nan")
    #: config.json's ``data.shared_inputs``: per split other than train, how many of its samples are copies of a
    #: training sample's inputs (and for val their ids); None when unknown (own loops, older runs).
    shared_inputs: dict | None = None
    #: config.json's ``data.input_shift``: per split other than train, the feature whose inputs lie farthest from
    #: train's (:class:`lossgap.data.drift.InputShift` as a dict); None when unknown (own loops, older runs).
    input_shift: dict | None = None
    #: config.json's ``data.length_shortcut``: per split, the accuracy of a rule on sequence length alone fitted on
    #: train, beside the split's majority share (:func:`lossgap.data.lengths.length_shortcut`); None when unknown (own
    #: loops, older runs) or when the lengths do not vary.
    length_shortcut: dict | None = None

    @property
    def train_count(self) -> int:
        """Training samples recorded; val's count when train was not recorded (its accuracies' noise is then taken
        at val's size)."""
        return self.train.num_samples if self.train is not None else self.val.num_samples

    @property
    def train_error_floor(self) -> float:
        """The train error (fraction) at or below which the model counts as fitting its training set: 3% or two
        samples' worth. Train accuracy is counted on the whole training set, not sampled from it, so no sampling
        error applies (three binomial standard errors of 0.75 on BasicMotions' 32 samples, 0.23, had read 8 of
        them wrong under dropout 0.9 as "the model fits its training set")."""
        return max(0.03, 2.0 / max(self.train_count, 1))

    @property
    def stability_loss(self) -> tuple[str, np.ndarray, np.ndarray, FitSummary]:
        """(name, per-epoch train loss, train accuracy, fit) of what the optimiser minimised, on which stability
        is judged: the weighted objective's when the run weighted its loss (with balanced accuracy; a
        balanced-weight run read unstable 0.77 from the plain loss's bounces, and again 0.60 after its remedy, a
        lower learning rate), else the plain ones."""
        if self.objective is not None:
            objective = self.objective
            return objective.name, objective.train_loss, objective.train_accuracy, objective.fit
        return "train loss", self.curves.train_loss, self.curves.train_accuracy, self.fit

    @property
    def objective_fit(self) -> FitSummary:
        """The fit of what the optimiser minimised (:attr:`stability_loss`'s): a class-weighted run's weighted loss
        against a constant guess's, since weighting keeps the plain loss above the class shares', else :attr:`fit`."""
        return self.stability_loss[3]

    def class_label(self, index: int) -> str:
        """How sentences name class ``index``: its name in quotes when the run has names ('walking', '6'), else
        the index. A 1-based or text label printed as its index would send the reader to the wrong class."""
        if self.class_names is not None and 0 <= int(index) < len(self.class_names):
            return repr(self.class_names[int(index)])
        return str(int(index))

    @property
    def num_epochs(self) -> int:
        """Epochs recorded."""
        return self.curves.num_epochs

    @property
    def best_epoch(self) -> int:
        """The run's best epoch (1-based): summary.json's (by the run's --monitor) when known, else the val-loss
        minimum; the epoch the analyses are judged at. Every sentence that says "best epoch" means this one,
        and so do the report and the CLI."""
        return self.judged_epoch

    @property
    def early_learning(self) -> bool:
        """True when learning has only begun (:func:`lossgap.diagnosis.learning_state.early_learning`)."""
        return learning_state.early_learning(self, EARLY_LEARNING_FIT)

    @property
    def trend_tail(self) -> int:
        """Epochs at the end over which accuracy trends are measured: a quarter of the run, at least 3."""
        return max(MIN_TREND_EPOCHS, self.num_epochs // 4)

    @cached_property
    def accuracy_trend(self) -> tuple[bool, float, float]:
        """(train or val accuracy rose over the last :attr:`trend_tail` epochs by more than its noise, the train
        rise, the val rise); rises are fractions of samples over the whole tail (least-squares trend)."""
        curves, tail = self.curves, self.trend_tail
        train_n = self.train.num_samples if self.train is not None else self.val.num_samples
        rise = float(linear_trend(curves.train_accuracy[-tail:])[0] * (tail - 1))
        val_rise = float(linear_trend(curves.val_accuracy[-tail:])[0] * (tail - 1))
        rising = (rise > float(accuracy_noise(float(curves.train_accuracy[-1]), train_n))
                  or val_rise > self.val_noise)
        return bool(rising), rise, val_rise

    @property
    def val_low_is_recent(self) -> bool:
        """True when the lowest val loss is in the run's last max(3, half the slope tail) epochs."""
        recent = max(MIN_TREND_EPOCHS, self.optimization.tail_epochs // 2)
        return self.val_loss_min_epoch > self.num_epochs - recent

    @cached_property
    def still_learning(self) -> bool:
        """True when the run ended in the middle of learning: its lowest val loss is recent and its trend over
        the tail points down (at least FALLING_MIN_RELATIVE_SLOPE of its level per epoch, though it may jitter
        too much for that slope to be significant), the train loss still falls clearly, or sets new lows (outside a
        spike's recovery) with the last epoch the lowest of both losses (a run that set two after recovering from a
        spike in its tail had read "No problem found" at 20 epochs, where 60 took test 0.920 -> 0.988; a fitted
        model's train loss sets new lows as it memorises, so the val loss must too), and train or val
        accuracy still rose beyond its noise over the last epochs. (A recent low of a flat, jittery val loss is
        chance, not learning.) Samples the model is learning now were predicted wrong until now, and a class it
        is learning now is still short of recall: in such a run neither says anything yet about the labels or
        the class balance. So is a run cut short by a spike (cut_short_by_spike)."""
        health = self.optimization
        return bool(self.num_epochs >= MIN_TREND_EPOCHS and self.val_low_is_recent
                    and health.val_slope_end <= -FALLING_MIN_RELATIVE_SLOPE
                    and (health.train_still_falling or learning_state.training_pass_still_falling(self)
                         or (health.train_still_improving and self._ended_on_new_lows))
                    and (self.accuracy_trend[0] or self.unfitted_descent)
                    or self.cut_short_by_spike is not None)

    @property
    def _ended_on_new_lows(self) -> bool:
        """True when the last epoch holds the lowest train loss and the lowest val loss of the run."""
        train_loss = np.where(np.isfinite(self.curves.train_loss), self.curves.train_loss, np.inf)
        return bool(self.val_loss_min_epoch == self.num_epochs and int(np.argmin(train_loss)) + 1 == self.num_epochs)

    @cached_property
    def unfitted_descent(self) -> bool:
        """Still learning though its accuracy's rise hides in a small split's noise
        (:func:`lossgap.diagnosis.learning_state.unfitted_descent`)."""
        return learning_state.unfitted_descent(self)

    @cached_property
    def short_and_learning(self) -> bool:
        """Too short to judge its step sizes (:func:`lossgap.diagnosis.learning_state.short_and_learning`)."""
        return learning_state.short_and_learning(self)

    @cached_property
    def cut_short_by_spike(self) -> dict | None:
        """Ended by early stopping on a spike (:func:`lossgap.diagnosis.learning_state.cut_short_by_spike`)."""
        return learning_state.cut_short_by_spike(self)

    @cached_property
    def first_pass_lead(self) -> tuple[float, float, int, float] | None:
        """A first training pass above chance (:func:`lossgap.diagnosis.learning_state.first_pass_lead`)."""
        return learning_state.first_pass_lead(self)

    @property
    def unscaled_inputs(self) -> bool:
        """Trained without standardisation, its gates saturated (:func:`lossgap.diagnosis.learning_state.unscaled_inputs`)."""
        return learning_state.unscaled_inputs(self)

    @property
    def saturated_at_usual_rate(self) -> bool:
        """An own loop's gates saturated at a usual learning rate
        (:func:`lossgap.diagnosis.learning_state.saturated_at_usual_rate`)."""
        return learning_state.saturated_at_usual_rate(self)

    @cached_property
    def lagged_learning(self) -> bool:
        """Still learning on its training pass while batch norm's lag keeps the evaluated figures from showing it
        (:func:`lossgap.diagnosis.learning_state.lagged_learning`)."""
        return learning_state.lagged_learning(self)

    @cached_property
    def training_pass_loss(self) -> np.ndarray | None:
        """The training pass's own per-epoch loss where it tells batch norm's lag from the weights' course
        (:func:`lossgap.diagnosis.learning_state.training_pass_loss`)."""
        return learning_state.training_pass_loss(self)

    @cached_property
    def right_answer_sureness(self) -> float:
        """How sure the model is of the train samples it gets right at the last epoch: their mean true-class
        probability, rescaled so that chance (1/C) is 0 and certainty 1; NaN without train records or right
        answers. Refinement is sure answers growing surer; unsure right answers are still being learned."""
        train = self.train
        if train is None or not self.fit.train_recorded:
            return float("nan")
        last = train.num_epochs - 1
        right = train.correct[last] & train.seen[last]
        if not right.any():
            return float("nan")
        chance = 1.0 / train.num_classes
        probability = float(np.exp(train.true_log_prob[last][right].astype(np.float64)).mean())
        return way_to_one(probability, chance)

    @cached_property
    def split_checks(self) -> SplitChecks:
        """Val that is the training set again, val labels that contradict what the model learned, train and val
        drawn from different class mixes (:func:`lossgap.diagnosis.split_checks.check_splits`)."""
        return check_splits(self)

    @property
    def rare_classes(self) -> list[int]:
        """Classes present in val that are rare in train (see :func:`~lossgap.analysis.per_class.minority_classes`)."""
        counts = self.train_class_counts.astype(np.float64)
        counts[self.val_per_class.support == 0] = 0
        return list(minority_classes(counts))

    @cached_property
    def outputs_unchanged(self) -> bool:
        """True when val's outputs were the same in every epoch (:func:`lossgap.analysis.fit.outputs_unchanged`): no
        training step changed the evaluated model's weights."""
        return outputs_unchanged(self.val)

    @property
    def signal_best_p(self) -> float:
        """The p-value of the best epoch's val accuracy corrected for the epochs looked at (signal_any_epoch_p), or
        the judged epoch's own where that is not finite."""
        return self.signal_any_epoch_p if np.isfinite(self.signal_any_epoch_p) else self.signal.p_value

    @property
    def long_sequences(self) -> bool:
        """True when the run's longest sequence is known and at least :data:`LONG_SEQUENCE` steps."""
        return self.sequence_length is not None and self.sequence_length >= LONG_SEQUENCE

    @property
    def val_noise(self) -> float:
        """Accuracy noise of the val split at its mean accuracy (fraction)."""
        return float(accuracy_noise(float(np.nanmean(self.curves.val_accuracy)), self.val.num_samples))


def gather_evidence(metrics: dict[str, np.ndarray], dynamics: dict[str, SplitDynamics], *,
                    train_config: dict | None, settings: dict | None = None, focus_split: str = "val",
                    control_val_accuracy: float | None = None, summary: dict | None = None,
                    gradients: object | None = None, sequence_length: int | None = None,
                    shared_inputs: dict | None = None, input_shift: dict | None = None,
                    length_shortcut: dict | None = None) -> RunEvidence:
    """Run every analysis on a run's metrics columns and recorded dynamics (which must include "val").

    ``summary`` is the run's summary.json (its best epoch is the one every sentence calls "best");
    ``gradients`` the run's per-epoch optimisation evidence (a GradientHealth) when it was recorded;
    ``sequence_length`` the longest sequence in time steps, when known; ``settings`` the model and optimizer
    settings an own loop's Recorder described (config.json's "settings"), read where ``train_config`` is None;
    ``shared_inputs`` config.json's ``data.shared_inputs`` (the samples of val and test whose inputs are copies of
    training samples', :func:`lossgap.run.writer.shared_inputs_payload`), when the run recorded it; ``input_shift``
    config.json's ``data.input_shift`` (the feature of val and test farthest from train's,
    :func:`lossgap.data.drift.input_shift_payload`), likewise; ``length_shortcut`` config.json's
    ``data.length_shortcut`` (:func:`lossgap.data.lengths.length_shortcut`), likewise.
    """
    val = dynamics["val"]
    train = dynamics.get("train")
    curves = curves_from(metrics, dynamics)
    patience = _patience(train_config or settings)   # an own loop's described early stopping counts too
    generalization = analyze_generalization(curves.train_loss, curves.val_loss, patience=patience or 5)
    finite_val = np.where(np.isfinite(curves.val_loss), curves.val_loss, np.inf)
    val_loss_min_epoch = int(np.argmin(finite_val)) + 1
    judged = _best_epoch(summary, val_loss_min_epoch, curves.num_epochs, curves.val_loss)
    plateaus = {name: find_plateaus(record.epoch_loss(), record.epoch_accuracy(), record.num_samples, name)
                for name, record in dynamics.items() if name in ("train", "val", "test")}
    # Causes are decided on val whatever split is shown: --split only changes the plateau and ledger shown.
    main_plateau, ledger = main_plateau_ledger(val, plateaus)
    focus = dynamics.get(focus_split, val)
    focus_ledger = ledger if focus is val else main_plateau_ledger(focus, plateaus)[1]
    train_counts = (np.bincount(train.labels, minlength=train.num_classes) if train is not None
                    else np.bincount(val.labels, minlength=val.num_classes)).astype(np.int64)
    index = judged - 1
    # Stability is judged on what the optimiser minimised (lossgap.analysis.fit.Objective).
    class_weights = run_class_weights(train_config or settings, train.labels if train is not None else val.labels,
                                      val.num_classes)
    objective = weighted_objective(train, val, judged, class_weights) if class_weights is not None else None
    signal = signal_test(val.labels, val.predicted[index], num_classes=val.num_classes,
                         val_loss=val.loss[index], train_class_counts=train_counts)
    weights_undone = unweighted_signal(val, class_weights, index, train_counts) if class_weights is not None else None
    train_samples = suspects = noise = None
    if train is not None and train.num_epochs >= 2:
        # AUM up to the val-loss minimum (Pleiss et al. stop before memorisation), whatever the run monitored.
        until = min(train.num_epochs, max(2, generalization.best_epoch or judged))
        train_samples = sample_dynamics(train, until_epoch=until)
        if class_weights is not None:
            train_samples = samples_with_weights_undone(train_samples, class_weights)
        # A loss that was NaN or infinite in the window leaves margins of a diverging model (an own MLP at SGD lr 5,
        # NaN from epoch 2 on, had 12 "suspects" from its first epoch): no sample can be judged from them.
        if np.isfinite(curves.train_loss[:until]).all():
            suspects = suspected_mislabeled(train_samples)
            noise = label_noise_evidence(sample_dynamics(train), reference_epoch=until, suspects=suspects)
    control = None
    if control_val_accuracy is not None:
        control = control_test(signal.accuracy, control_val_accuracy, signal.num_samples)
    return RunEvidence(
        curves=curves, val=val, train=train, focus_split=focus.split, generalization=generalization,
        plateaus=plateaus, main_plateau=main_plateau, ledger=ledger, focus_ledger=focus_ledger,
        ledger_sentence=describe_ledger(focus_ledger, decimals=2) if focus_ledger is not None else None,
        judged_epoch=judged, signal=signal, signal_any_epoch_p=any_epoch_p_value(val, signal.baseline_accuracy),
        loss_clearly_below_prior=loss_clearly_below_prior(val, index, train_counts),
        val_per_class=per_class(val),
        val_calibration=calibration(val, best_epoch=judged) if val.logits is not None else None,
        train_samples=train_samples, suspects=suspects, noise=noise,
        optimization=optimization_health(objective.train_loss if objective else curves.train_loss, curves.val_loss,
                                         lr=curves.lr, grad_norm=curves.grad_norm),
        control=control, train_class_counts=train_counts, train_config=train_config,
        fit=fit_summary(curves.train_loss, curves.train_accuracy, curves.val_accuracy, train=train, val=val,
                        judged_epoch=judged),
        val_loss_min_epoch=val_loss_min_epoch, patience=patience, gradients=gradients,
        sequence_length=int(sequence_length) if sequence_length is not None else None,
        delivered_epoch=delivered_epoch(summary, curves.num_epochs),
        settings=train_config or settings, objective=objective, class_weights=class_weights,
        unweighted_signal=weights_undone, balanced_signal_p=any_epoch_balanced_p_value(val),
        shared_inputs=shared_inputs, input_shift=input_shift, length_shortcut=length_shortcut,
    )



def _patience(train_config: dict | None) -> int | None:
    patience = ((train_config or {}).get("early_stopping") or {}).get("patience")
    return int(patience) if patience else None


def _best_epoch(summary: dict | None, val_loss_min_epoch: int, num_epochs: int, val_loss: np.ndarray) -> int:
    """summary.json's best epoch when it is a recorded epoch with a finite val loss, else the val-loss minimum."""
    best = (summary or {}).get("best_epoch")
    if isinstance(best, (int, float)) and 1 <= int(best) <= num_epochs and np.isfinite(val_loss[int(best) - 1]):
        return int(best)
    return val_loss_min_epoch


