"""Where a run's learning stood when it ended, read from its evidence: still descending on the training pass while batch
norm's lag makes the evaluated curves jitter, still learning though its accuracy's rise hides in a small split's
noise, or held at saturated gates by inputs that were not standardised. :class:`RunEvidence` exposes each as a
property; the functions live here so that the evidence module stays a record of what was measured."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lossgap.analysis.ledger import loss_ledger
from lossgap.analysis.plateaus import accuracy_noise
from lossgap.analysis.signal import SIGNAL_TESTS, binomial_tail, detectable_accuracy
from lossgap.analysis.optimization import NEW_LOW_SHARE, relative_slope
from lossgap.diagnosis.constraints import (averaging_decay, fast_learning_rate, has_batch_norm, held_back,
                                           high_learning_rate, rate_and_range)
from lossgap.diagnosis.wording import way_to_one

if TYPE_CHECKING:  # pragma: no cover - for type checkers only: evidence imports this module
    from lossgap.diagnosis.evidence import RunEvidence

#: A model with more than this train error whose val loss still falls by VAL_DESCENT of its level per epoch is still
#: learning whatever its accuracy's noise (see unfitted_descent).
UNFITTED_DESCENT_ERROR, VAL_DESCENT = 0.1, 0.01
#: ... and whose train accuracy is at least this share of the way from the majority share to 1, and whose wrong training
#: samples turning right or moving toward their class carry at least UNFITTED_DESCENT_TURNED of the train loss's fall
#: over the tail.
UNFITTED_DESCENT_LEARNED, UNFITTED_DESCENT_TURNED = 0.25, 0.3

#: A model whose best train accuracy got less than FIT_LITTLE_WAY of the way from the train majority share to all right,
#: its train loss less than FIT_LITTLE_LOSS below the prior's entropy (for a class-weighted run: balanced accuracy against
#: chance, the weighted loss against a constant guess's), has fitted little of its training set (see fitted_little). The
#: suite's shuffled-label runs that memorised their labels got a quarter of the way or more.
FIT_LITTLE_WAY, FIT_LITTLE_LOSS = 0.2, 0.1


#: Runs of fewer epochs than this have shown no level yet: at a rate not low in its range they are told to train
#: longer before anything else (causes.underfitting_stopped), and their new lows count as early learning at any pace.
SHORT_RUN = 10
#: New lows of a val loss whose pace would lower it by less than this share of its level over as many epochs again
#: as the run had (what "train longer" buys) count as early learning only in a run of fewer than SHORT_RUN epochs, at
#: a learning rate below its optimizer's usual range, or where the rate or its range is unknown (see early_learning).
EARLY_DOUBLING_GAIN = 0.01


def early_learning(evidence: RunEvidence, fit_share: float) -> bool:
    """True when learning has only begun: the train loss is still less than ``fit_share`` below the prior's entropy
    while the val loss sets new lows, at a pace that as many epochs again would turn into EARLY_DOUBLING_GAIN of its
    level or more, or however slowly in a run too short to have shown a level, at a learning rate below its
    optimizer's usual range (whose steps are that small by design), or where the rate, its optimizer's range or the
    pace is unknown. A model that fitted more and creeps on is refining, or at its capacity, instead; and one whose
    val loss creeps on by less than that after SHORT_RUN epochs or more at a usual rate has converged where it is, not
    begun (trial 28's GRU of 2 units on random labels at AdamW 0.0011, its train loss 0.5% below the prior's after 67
    epochs and its val loss falling 0.014% per epoch, 0.9% over another 67, had read underfitting 0.97 "still early in
    learning", with "train longer" among its remedies)."""
    fit = evidence.objective_fit
    health = evidence.optimization
    if not (fit.train_recorded and fit.moved_share < fit_share and health.val_new_low_share >= NEW_LOW_SHARE):
        return False
    _, rate, (bottom, _) = rate_and_range(evidence.settings)
    # An unknown rate or optimizer family, or a pace the tail cannot measure, cannot rule early learning out; a rate
    # below its family's range (constraints.below_range, read off the same figures) is slow by design.
    judged = rate > 0 and bottom > 0
    doubling_gain = -health.val_slope_end * evidence.num_epochs
    return bool(not doubling_gain < EARLY_DOUBLING_GAIN or evidence.num_epochs < SHORT_RUN
                or not judged or rate < bottom)


#: Most that a short run's train loss may climb and give back (fit.reversal, in units of the prior's entropy) for its
#: descent to count as smooth (see short_and_learning).
SMOOTH_REVERSAL = 0.05


def short_and_learning(evidence: RunEvidence) -> bool:
    """True when a run of fewer than SHORT_RUN epochs was still descending smoothly when it ended: no spike in either
    loss, its train loss (the one the optimiser minimised) climbing back by less than SMOOTH_REVERSAL of the prior's
    entropy in all and still falling at the end, and its val loss lower than after the first epoch, its lowest
    recent. Too short to have shown where its steps lead: large steps are how training at a fast rate begins, and
    whether they overshoot shows only once the descent slows (trial 29's GRU at AdamW 0.059 for 3 epochs, train loss
    1.03 -> 0.54 -> 0.41 with update / weight norms up to 0.46, had read unstable_optimization 1.00 "lower the learning
    rate"; 9 epochs at the same rate reached train 1.000 and test 0.900 against 0.625, a tenth of the rate 0.650; trial
    30's plain LSTMs on PickupGestureWiimoteZ's 361 steps at Adam 0.052 and AdamW 0.32, their losses falling in every
    one of 5-6 epochs, read 1.00 where a tenth of the rate reached 0.10-0.16 and an LSTM-FCN 0.75). Accuracy need not
    rise yet: on 10 val samples it cannot show it."""
    if evidence.num_epochs >= SHORT_RUN or evidence.optimization.spikes:
        return False
    fit = evidence.stability_loss[3]
    val_loss = np.asarray(evidence.curves.val_loss, dtype=np.float64)
    return bool(fit.reversal < SMOOTH_REVERSAL and evidence.optimization.train_still_improving
                and val_loss.size >= 2 and val_loss[-1] < val_loss[0] and evidence.val_low_is_recent)


#: A lossgap run that took fewer optimizer steps than this in all has its step count named when it underfits.
FEW_STEPS = 100


def few_steps(evidence: RunEvidence) -> dict | None:
    """{"steps", "per_epoch", "batch_size", "train_samples"} when a run of lossgap's trainer took fewer than FEW_STEPS
    optimizer steps in all (its batches over its training samples, times its epochs), else None (also for own loops,
    whose batch size lossgap does not know). Trial 28's random configurations that learned nothing had taken 6-80 steps
    (a batch of 128 over ArrowHead's 30 training series for 6 epochs: 6), which their verdicts never said."""
    batch = (evidence.train_config or {}).get("batch_size")
    if not batch or evidence.train is None or not evidence.num_epochs:
        return None
    samples = int(evidence.train.num_samples)
    per_epoch = -(-samples // int(batch))
    steps = per_epoch * evidence.num_epochs
    if steps >= FEW_STEPS:
        return None
    return {"steps": steps, "per_epoch": per_epoch, "batch_size": int(batch), "train_samples": samples}


def fitted_little(evidence: RunEvidence) -> float | None:
    """How far (0-1) the best train accuracy got from the majority share to all right, when the model fitted little of its
    training set by FIT_LITTLE_WAY and FIT_LITTLE_LOSS; None when it fitted more, or train was not recorded."""
    fit = evidence.objective_fit
    if not fit.train_recorded or fit.train_baseline >= 1:
        return None
    way = way_to_one(fit.train_accuracy_max, fit.train_baseline)
    return float(way) if way < FIT_LITTLE_WAY and fit.moved_share < FIT_LITTLE_LOSS else None


def val_shows_learning(evidence: RunEvidence) -> bool:
    """True when something the model learned shows on val: val accuracy significantly above the majority share, the
    val loss clearly below the prior's entropy, or balanced accuracy significantly above chance."""
    signal = evidence.signal
    return bool(signal.p_value < signal.alpha or evidence.loss_clearly_below_prior
                or evidence.balanced_signal_p < signal.alpha)


def suspects_memorised_late(evidence: RunEvidence) -> float:
    """Share (0..1) of the label-noise suspects the model learned only after the val-loss minimum; 0 without suspects
    or without that reference epoch."""
    noise = evidence.noise
    return (noise.suspects_learned_after_reference if noise is not None else None) or 0.0


def ended_by_early_stopping(evidence: RunEvidence) -> bool:
    """True when early stopping ended the run before its planned epochs (known for runs lossgap trained)."""
    planned = (evidence.train_config or {}).get("epochs")
    return evidence.patience is not None and planned is not None and evidence.num_epochs < int(planned)


def unfitted_descent(evidence: RunEvidence) -> bool:
    """A model far short of fitting its training set (more than UNFITTED_DESCENT_ERROR wrong at the last epoch,
    though it learned beyond the majority share: UNFITTED_DESCENT_LEARNED of the way to 1) whose val loss still
    falls by VAL_DESCENT of its level per epoch over the tail, its settings not holding it back, and whose wrong
    training answers turning right or moving toward their class carry a part of the train loss's fall (not the
    right ones growing surer
    alone, which is refinement): it is still learning even where its accuracy's rise hides in the noise of a
    small split (an own GunPoint loop of 40 training samples, 80% right at epoch 40 with its val loss at its
    lowest, had read "No problem found"; 110 more epochs reached test 0.960 against 0.720)."""
    accuracy = float(evidence.curves.train_accuracy[-1])
    baseline = evidence.fit.train_baseline
    # Beyond the majority share by a quarter of the way to 1: a model answering the frequent class while the rare
    # ones are still missed is class imbalance's to judge (a 161/9/9/9 synthetic run at train 0.86 lost its
    # imbalance verdict to "still improving" without this).
    beyond_majority = accuracy - baseline >= UNFITTED_DESCENT_LEARNED * (1.0 - baseline)
    if not (1.0 - accuracy > UNFITTED_DESCENT_ERROR and beyond_majority
            and evidence.optimization.val_slope_end <= -VAL_DESCENT and not held_back(evidence.settings)):
        return False
    # Learning, not refinement: wrong training answers turning right, or moving toward their class, carry a real part
    # of the train loss's fall over the tail. In the article's phenomenon the wrong ones stay put while the right ones
    # grow surer (a 30-epoch ArrowHead LSTM-FCN, one wrong answer turned and six moved closer, 12% and 50% of the
    # fall, had not counted as still learning and read label noise 0.52).
    if evidence.train is None:
        return False
    tail = loss_ledger(evidence.train, evidence.num_epochs - evidence.trend_tail + 1, evidence.num_epochs)
    groups = {group.name: group for group in tail.groups}
    learned = groups["became_correct"].share + max(groups["stayed_wrong_closer"].share, 0.0)
    return bool(tail.loss_change < 0 and learned >= UNFITTED_DESCENT_TURNED)


def unscaled_inputs(evidence: RunEvidence) -> bool:
    """True for a lossgap run trained with standardisation off whose recorded recurrent gates ended mostly
    saturated (half or more): inputs far from unit scale saturate the gates whatever the learning rate (a
    JapaneseVowels LSTM on inputs scaled by 1000, 99% of its gates saturated, had been told only to grow)."""
    data = (evidence.train_config or {}).get("data") or {}
    # Synthetic tasks are generated at unit scale: off is their default, and no fault.
    synthetic = str(data.get("source") or "").startswith("synthetic:")
    return bool(data.get("standardize") is False and not synthetic and _gates_mostly_saturated(evidence))


def saturated_at_usual_rate(evidence: RunEvidence) -> bool:
    """True for an own loop (no lossgap configuration, so its input scaling is unknown) whose recorded recurrent gates
    ended half or more saturated at a learning rate within its optimizer's usual range and with gradients that did not
    grow: inputs far from unit scale are then the likeliest reason (an own GRU loop fed its inputs times 1000, 58% of
    its gates saturated at Adam 0.003, had been told only to grow 32 -> 64; standardised, it reaches test 0.985 against
    0.929). Loops without optimizer.zero_grad() saturate too, and are told apart by their growing gradients."""
    if evidence.train_config is not None or getattr(evidence.gradients, "growing", False):
        return False
    return bool(_gates_mostly_saturated(evidence) and not fast_learning_rate(evidence.settings)
                and not high_learning_rate(evidence.settings))


def _gates_mostly_saturated(evidence: RunEvidence) -> bool:
    """True when the recorded recurrent gates ended half or more saturated (False without gate statistics)."""
    saturation = getattr(evidence.gradients, "saturation_end", float("nan"))
    return bool(saturation == saturation and saturation >= 0.5)


def training_pass_loss(evidence: RunEvidence) -> np.ndarray | None:
    """The training pass's own per-epoch loss (metrics.csv's train_loss_running, nats, float64 (E,)) where it
    tells batch norm's lag from the weights' own course, else None: a model with batch norm (its evaluated
    model at an epoch's end uses running statistics that can lag the weights) and an unweighted loss (the running
    one is then the same loss). An LSTM-FCN trained for 8 epochs, its training-pass loss falling in every one
    (1.19 -> 0.87) while the evaluated one sat above a constant guess's (3.61, 4.31, 3.33, ... 1.22), had read
    unstable_optimization 0.62, "lower the learning rate", where more epochs at the same rate reached test
    0.680 against 0.560."""
    running = evidence.curves.train_loss_running
    if running is None or evidence.objective is not None or not (has_batch_norm(evidence.settings)
                                                                 or averaging_decay(evidence.settings)):
        return None
    return np.asarray(running, dtype=np.float64)


#: The evaluated train loss at the last epoch lies at least this share of the prior's entropy above the training
#: pass's own loss when batch norm's lag hides what the weights learned (see lagged_learning).
LAG_GAP = 0.1


def lagged_learning(evidence: RunEvidence) -> bool:
    """True when a model with batch norm was still learning on its training pass (its own loss still falling
    clearly, :func:`training_pass_still_falling`) while the model as evaluated at the last epoch's end, with
    batch norm's running statistics, sat LAG_GAP of the prior's entropy or more above that loss: the evaluated
    figures, val's too, do not show yet what the weights learned (dropout makes the training pass's loss the
    higher one, so the gap points the other way there). An ArrowHead LSTM-FCN early-stopped at epoch 24, its
    training-pass loss down from 1.10 to 0.65 while the evaluated train loss sat at 1.00 and val accuracy at
    chance, had read no_signal 0.50 with a permuted-label control; at 300 epochs the same data reach val 0.83."""
    gap = evaluation_gap(evidence, evidence.num_epochs - 1) >= LAG_GAP * evidence.fit.prior_entropy
    # An average of the weights lags them by its horizon whether or not they still descend (--ema 0.99, about 100
    # epochs, over a 30-epoch JapaneseVowels run: training-pass loss 0.004, the average's 1.78, read "stopped too
    # early" with "train longer" only; 60 epochs still read so).
    if averaging_decay(evidence.settings):
        return bool(gap)
    return bool(gap and training_pass_still_falling(evidence))


def evaluation_gap(evidence: RunEvidence, index: int) -> float:
    """How far the model as evaluated at 0-based epoch ``index``'s end sat above its training pass's own loss that
    epoch (nats; NaN without a finite training-pass loss there, so that every comparison with it is False); LAG_GAP of
    the prior's entropy or more is batch norm's lag."""
    running = training_pass_loss(evidence)
    if running is None or not np.isfinite(running[index]):
        return float("nan")
    return float(evidence.curves.train_loss[index]) - float(running[index])


def lag_words(evidence: RunEvidence) -> str:
    """The sentence part that states :func:`lagged_learning`'s figures (call only where it holds)."""
    running = training_pass_loss(evidence)
    decay = averaging_decay(evidence.settings)
    if decay:
        horizon = 1.0 / (1.0 - decay)
        longer = f", more than the run's {evidence.num_epochs}" if horizon > evidence.num_epochs else ""
        return (f"the model it evaluates and delivers is the average of its weights over about the last "
                f"{horizon:.0f} epochs (--ema {decay:g}){longer}: "
                f"its training pass's own loss went from {running[0]:.3f} at epoch 1 to {running[-1]:.3f} at epoch "
                f"{evidence.num_epochs} while the average ended at a train loss of "
                f"{evidence.curves.train_loss[-1]:.3f}, so the evaluated figures, val's too, lag what the weights "
                "learned")
    return (f"its training pass's own loss was still falling when training ended ({running[0]:.3f} at epoch 1, "
            f"{running[-1]:.3f} at epoch {evidence.num_epochs}) while the model as evaluated at each epoch's end, "
            f"with batch norm's running statistics, ended at a train loss of {evidence.curves.train_loss[-1]:.3f}: "
            "the evaluated figures, val's too, do not show yet what the weights learned")


def training_pass_still_falling(evidence: RunEvidence) -> bool:
    """The training pass's loss (:func:`training_pass_loss`) still falls clearly over the slope tail: the weights
    still descend while batch norm's lag makes the evaluated loss jitter (an LSTM-FCN early-stopped with patience
    2 at epoch 11, its training-pass loss down 3-8% in every epoch, the evaluated one 0.79, 0.74, 1.00, 0.64,
    had read "too small" 0.63 where patience 20 reached test 0.649 against 0.529)."""
    running = training_pass_loss(evidence)
    if running is None:
        return False
    return bool(relative_slope(running[-evidence.optimization.tail_epochs:])[1])


def at_ceiling(evidence: RunEvidence, index: int) -> bool:
    """True when val accuracy at 0-based epoch ``index`` is within its noise (at least two samples' worth) of 1, and
    train has no room left either: a train accuracy more than 0.05 (and two noise units) short of 1 still has learning
    to do, whatever a small val split shows (10 val samples at 0.900 beside train 0.875 still falling had read
    "within two samples of all right", where 120 epochs reached train 1.000 and test 0.96 against 0.85)."""
    accuracy = float(evidence.curves.val_accuracy[index])
    if not (np.isfinite(accuracy) and 1.0 - accuracy <= accuracy_noise(accuracy, evidence.val.num_samples)):
        return False
    return bool(not np.isfinite(float(evidence.curves.train_accuracy[index])) or train_fitted(evidence, index))


def train_fitted(evidence: RunEvidence, index: int, floor: float = 0.05, noise_units: float = 2.0) -> bool:
    """True when train accuracy at 0-based epoch ``index`` is within max(``floor``, ``noise_units`` noise units, one
    sample) of 1: the training set has no room left (False where it was not recorded). Two noise units are at least 4
    samples (accuracy_noise's floor is 2/n), so a bound meant as a share passes ``noise_units=0``."""
    train_accuracy = float(evidence.curves.train_accuracy[index])
    train_samples = evidence.train.num_samples if evidence.train is not None else 0
    room = (max(floor, noise_units * accuracy_noise(train_accuracy, train_samples), 1.0 / train_samples)
            if train_samples else floor)
    return bool(np.isfinite(train_accuracy) and 1.0 - train_accuracy <= room + 1e-9)


def first_pass_lead(evidence: RunEvidence) -> tuple[float, float, int, float] | None:
    """(accuracy, majority share, samples, p-value) of the first epoch's train records when they come from a training
    pass (an own loop, Lightning or ``--record-train pass``) and beat the majority share of the samples recorded then
    significantly (one-sided binomial test at the signal test's alpha); None otherwise."""
    train, config = evidence.train, evidence.train_config
    # lossgap's own runs record train by an exact evaluation pass unless told "pass" (older runs have no such key).
    if train is None or train.num_epochs < 1 or (config is not None and config.get("record_train") != "pass"):
        return None
    seen = train.seen[0]
    count = int(seen.sum())
    if count < 1:
        return None
    # The majority share of the samples recorded in that epoch, not of the whole training set: an epoch that recorded
    # a subset leaning to one class would otherwise credit a constant answer with signal.
    baseline = float(np.bincount(train.labels[seen]).max() / count)
    if not baseline < 1:
        return None
    right = int(train.correct[0][seen].sum())
    p_value = float(binomial_tail(right, count, baseline))
    return (right / count, baseline, count, p_value) if p_value < evidence.signal.alpha else None


def val_showed_learning(evidence: RunEvidence) -> bool:
    """True when something the model learned showed on val at some epoch: accuracy or balanced accuracy significantly
    above the constant answer's, or the val loss clearly below the prior's."""
    signal = evidence.signal
    return bool(evidence.signal_any_epoch_p < signal.alpha or evidence.loss_clearly_below_prior
                or evidence.balanced_signal_p < signal.alpha)


def val_never_showed(evidence: RunEvidence) -> bool:
    """True when nothing the model learned ever showed (val_showed_learning) on a val split large enough to show it
    (val_could_show)."""
    return not val_showed_learning(evidence) and val_could_show(evidence)


def val_could_show(evidence: RunEvidence) -> bool:
    """True when the val split is large enough that an accuracy half-way from the majority share to 1 would have tested
    significant (on 10 val samples only 10 right are): a val at chance then says the model's learning did not carry
    over, rather than that val was too small to show it."""
    signal = evidence.signal
    detectable = detectable_accuracy(signal.num_samples, signal.baseline_accuracy, signal.alpha / SIGNAL_TESTS)
    return bool(detectable <= signal.baseline_accuracy + (1.0 - signal.baseline_accuracy) / 2)


#: A spike after the best epoch that lifts the train loss by this share of the prior's entropy above its level there,
#: and the descent before it: the train loss down by CUT_FALL of the prior's entropy and the val loss by CUT_VAL_FALL of
#: its level over the CUT_EPOCHS epochs up to the best one, the model then still getting CUT_UNFITTED or more of its
#: training samples wrong (one that fits them has little left to learn: healthy runs spike after their best epoch too)
#: (see cut_short_by_spike). A patience above CUT_PATIENCE epochs gave the model time to win a setback back (a trial's
#: reference at patience 15, stuck above its pre-spike loss for 13 epochs, had collapsed rather than been cut short).
CUT_SPIKE, CUT_FALL, CUT_VAL_FALL, CUT_EPOCHS, CUT_UNFITTED, CUT_PATIENCE = 0.25, 0.02, 0.02, 3, 0.1, 5


def cut_short_by_spike(evidence: RunEvidence) -> dict | None:
    """{"best_epoch", "spike_epoch", "before", "peak"} when early stopping ended the run after a spike in the train loss
    that came after its best epoch, while both losses were still falling clearly up to that epoch and the model still
    got CUT_UNFITTED of its training samples wrong, and the train loss never fell back to its level at the best epoch:
    a patience of CUT_PATIENCE epochs or fewer, used up by the spike before the model could win the setback back, so
    the run was still learning when it ended (trial 31: a GRU whose losses fell every epoch to epoch 16, train 0.730,
    spiked to 2.343 at epoch 17 and was stopped at 19 by a patience of 3; read class imbalance 0.67, and its class
    weights took balanced test 0.476 -> 0.299, where 321 epochs without early stopping reached 0.656). None
    otherwise."""
    best, train, val = evidence.val_loss_min_epoch, evidence.curves.train_loss, evidence.curves.val_loss
    if (not ended_by_early_stopping(evidence) or evidence.patience > CUT_PATIENCE
            or not CUT_EPOCHS < best < evidence.num_epochs):
        return None
    before, start = float(train[best - 1]), best - 1 - CUT_EPOCHS
    after = train[best:]
    prior = evidence.fit.prior_entropy
    if not (np.all(np.isfinite(train[:best])) and np.all(np.isfinite(val[start:best]))) or not np.isfinite(after).any():
        return None
    spike = best + int(np.nanargmax(after))
    peak = float(train[spike])
    if not np.isfinite(peak):  # a loss that diverged is no setback a longer patience wins back
        return None
    unfitted = 1.0 - float(evidence.curves.train_accuracy[best - 1]) >= CUT_UNFITTED
    falling = (unfitted and before <= float(np.min(train[:best])) and float(train[start]) - before >= CUT_FALL * prior
               and float(val[start]) - float(val[best - 1]) >= CUT_VAL_FALL * float(val[start]))
    # Not won back: after the spike the train loss never fell to its level at the best epoch again (a run that did, its
    # patience long enough, stopped on its val loss alone).
    recovered = bool(np.nanmin(train[spike:]) <= before)
    if not (falling and peak - before >= CUT_SPIKE * prior) or recovered:
        return None
    return {"best_epoch": int(best), "spike_epoch": int(spike + 1), "before": before, "peak": peak}
