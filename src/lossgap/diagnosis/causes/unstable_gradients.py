"""unstable_optimization's evidence from the recorded gradients: exploding epochs, updates far too large, gates
saturated, and weights silenced after a jump (see :mod:`lossgap.analysis.gradients` for the judgements)."""

from __future__ import annotations

import numpy as np

from lossgap.analysis.gradient_growth import GROWING_RATIO, GROWING_SHARE, gradient_growth
from lossgap.analysis.gradients import SILENT_GRAD
from lossgap.diagnosis.wording import clip, pct

#: Share of the weight tensors whose gradients went silent after updates far too large, and the confidence
#: that carries on its own (see _silenced_by_jumps).
SILENCED_SHARE, SILENCED_CONFIDENCE = 0.5, 0.85
#: Weight of gates saturated at the end when the run's rate is far above its optimizer's usual range and its delivered
#: model still gets some val samples wrong, whatever its fit: steps that large drive the gates where no gradient
#: passes, and training settles wherever they left it (trial 11's 20-class LSTM under a cosine schedule from Adam 0.1,
#: 59% of its gate pre-activations saturated, train 0.93 and val 0.70 where cosine from 0.01-0.03 reaches
#: 0.935-0.963, had read overfitting 0.59 "stop at epoch 35"; LSTM-FCNs at Adam 0.5, 88-91% saturated, val
#: 0.925-0.932 against 0.998 at 0.01, had read "still improving, train longer" and "No problem found"). Healthy runs
#: at usual rates end at 1-6%.
SATURATED_FAST_WEIGHT = 0.6


def gradient_signals(gradients, clipped: bool, unfit: float, decay_per_step: float, *,
                     unscaled_inputs: bool = False, zeroed: bool = False, fast_with_errors: bool = False) -> dict:
    """Facts and a 0..1 score from the recorded gradients and update ratios (empty when not recorded).

    Exploding epochs count from 5% of the epochs and fully at 20% (a single burst in a long run is not what
    limits it), a quarter as much when the run clips gradients (the burst never reached the weights); epochs
    of updates 100x the rule of thumb count fully at 20% of the epochs; neither counts when the run's own weight
    decay shrinks the weights by 1% or more per step (then the weights are small and the decay is the update:
    that is over-regularisation, not a learning rate too high), nor large updates in a first epoch alone
    (:func:`_past_the_start`); gates saturated at the end add half a point
    when the model also does not fit (a learning rate far too high drives gates into saturation), and up to
    SATURATED_FAST_WEIGHT whatever the fit with ``fast_with_errors`` (the rate far above its optimizer's usual range,
    the delivered model not yet right on val). ``zeroed``: the
    loop is known to zero its gradients every step (:func:`loop_zeroes_gradients`), so their growth is not put down
    to a missing ``zero_grad()``.
    """
    if gradients is None:
        return {}
    exploding = tuple(gradients.exploding_epochs)
    large = _past_the_start(gradients)
    epochs = max(1, int(gradients.observed.sum()))
    # Weight decay that shrinks the weights by 1% or more per step pins them near zero, where the gradients of the
    # pinned layers vanish beside the head's: their ratio (AutoTrainer's "explode") and the update ratios measure
    # the decay, not steps too large (an LSTM-FCN at Adam's L2 of 1, a constant guess for 60 epochs, had read
    # "gradients exploded in 44 epoch(s)", 1.00, with remedies that kept the decay).
    pinned = decay_per_step >= 0.01
    explode_score = 0.0 if pinned else clip((len(exploding) / epochs - 0.05) / 0.15) * (0.25 if clipped else 1.0)
    large_score = 0.0 if pinned else clip(len(large) / epochs / 0.2)
    saturation = float(gradients.saturation_end) if np.isfinite(gradients.saturation_end) else 0.0
    # Inputs that were not standardised saturate the gates whatever the rate (RunEvidence.unscaled_inputs), and an own
    # loop's gates saturated at a usual rate point at its inputs too (RunEvidence.saturated_at_usual_rate: own GRU loops
    # fed inputs x1000 at Adam 0.003 had read unstable 0.50, "lower the learning rate", which did not help).
    fast_weight = SATURATED_FAST_WEIGHT if fast_with_errors else 0.0
    saturation_score = 0.0 if unscaled_inputs else clip((saturation - 0.3) / 0.4) * max(0.5 * unfit, fast_weight)
    # The steps' size, not the failure to fit, is what the saturation is put down to.
    saturated_fast = saturation_score > 0 and fast_weight > 0.5 * unfit
    silenced = _silenced_by_jumps(gradients, decay_per_step)
    silenced_score = SILENCED_CONFIDENCE * unfit if silenced else 0.0
    score = 1.0 - (1.0 - explode_score) * (1.0 - large_score) * (1.0 - saturation_score) * (1.0 - silenced_score)
    sentence = []
    if silenced_score > 0:
        sentence.append(f"after updates of {pct(silenced['ratio'])} of the weights' norm per step (median, epoch "
                        f"{silenced['jump_epoch']}), the gradients of {silenced['count']} of "
                        f"{len(gradients.weight_names)} weight tensors were zero (below {SILENT_GRAD:g}) from epoch "
                        f"{silenced['epoch']} on: the jump pushed the units behind them to where no gradient passes "
                        "back (saturated gates, or ReLUs that output 0 for every input), and the model "
                        "can no longer learn through them; a larger model would die the same way")
    if exploding and explode_score > 0:
        sentence.append(f"gradients exploded in {len(exploding)} epoch(s) (first: epoch {exploding[0]})"
                        + (", though clipping kept them from the weights" if clipped else ""))
    if large and large_score > 0:
        worst = float(np.nanmax(gradients.median_update_ratio))
        sentence.append(f"updates were far larger than the weights in {len(large)} epoch(s) (update / weight norm up "
                        f"to {worst:.2g}, where healthy runs stay near 1e-3 to 1e-2)")
    if saturation_score > 0:
        sentence.append(f"{pct(saturation)} of the gate pre-activations ended saturated (|z| > 5)"
                        + (", where steps far too large drive them: no gradient passes a saturated gate, so training "
                           "settles wherever the large steps left the model" if saturated_fast else ""))
    growing = bool(gradients.growing)
    growth = gradient_growth(gradients.total_grad_norm[gradients.observed]) if growing else None
    # In a loop that zeroes its gradients, only a steady climb says the steps drove them up: a norm that stays well
    # above a tiny first epoch's is a model that left its starting plateau (a held-out sum-sign task at Adam 0.005,
    # 0.21 in its first epoch and 3.6-9.6 from its third, 17x at the least over epochs 6-11, had been told "steps too
    # large drove them up").
    steady = growth is not None and growth.rose >= GROWING_SHARE and growth.last >= GROWING_RATIO * growth.first
    if growth is not None and (steady or not zeroed):
        # Growth that stopped (gates saturated, or a zero_grad() once per epoch) does not rise "almost every epoch".
        how = ("rising almost every epoch" if growth.rose >= GROWING_SHARE else
               f"never again below {growth.floor:.0f}x its first epoch's over the second half of the run")
        # lossgap's trainer and Lightning's automatic optimisation zero them themselves: there the steps drove them up
        # (a CLI GRU at Adam 0.05 and a Lightning fit at 0.1 had been told to check zero_grad() first).
        why = ("though the loop zeroes them every step: steps too large drove them up" if zeroed else
               "as gradients that are never zeroed do: each step adds to all the ones before")
        sentence.append(f"the total gradient norm grew from {growth.first:.3g} to {growth.last:.3g}, {how}, {why}")
    return {"growing_gradients": growing, "exploding_epochs": list(exploding), "large_update_epochs": list(large),
            "gradient_score": score,
            "saturation_end": saturation, "saturated_fast": saturated_fast, "silenced": silenced,
            "gradient_sentence": "; ".join(sentence)}


#: Median update ratio of a first epoch from which its large updates count even when no later epoch repeats them.
FIRST_EPOCH_CAP = 1.0


def _past_the_start(gradients) -> tuple[int, ...]:
    """The large-update epochs that count: all of them, but a first epoch's alone, in a run of two observed epochs or
    more, under FIRST_EPOCH_CAP, is the start of training, not steps that stay too large. Adam's first steps are about
    the learning rate in size whatever the gradient, against weights at their initial scale (trial 28's LSTM at Adam
    0.025, update ratios 0.147, 0.086 and 0.055 in its 3 epochs while its train loss fell in each, had read
    unstable_optimization 1.00 "lower the learning rate" on data a reference could not learn either)."""
    large = tuple(gradients.large_update_epochs)
    if large != (1,) or int(gradients.observed.sum()) < 2:
        return large
    first = float(np.nan_to_num(gradients.median_update_ratio[0], nan=0.0))
    return large if first >= FIRST_EPOCH_CAP else ()


def _silenced_by_jumps(gradients, decay_per_step: float) -> dict | None:
    """Most weight tensors silenced (SILENCED_SHARE; :attr:`GradientHealth.silenced`) after an epoch of
    updates far too large (exploding or large, at or before the silencing, not from the run's own weight decay):
    {"count", "epoch" (the silencing's first), "jump_epoch", "ratio" (that epoch's median update ratio)}, else
    None. A heavy weight decay shrinks every weight by design: its silence is over-regularisation."""
    if gradients.silenced_share < SILENCED_SHARE or decay_per_step >= 0.01:
        return None
    start = min(gradients.silenced.values())
    jumps = [epoch for epoch in (*gradients.large_update_epochs, *gradients.exploding_epochs) if epoch <= start]
    if not jumps:
        return None
    jump = max(jumps, key=lambda epoch: np.nan_to_num(gradients.median_update_ratio[epoch - 1], nan=0.0))
    return {"count": len(gradients.silenced), "epoch": start, "jump_epoch": int(jump),
            "ratio": float(gradients.median_update_ratio[jump - 1])}


def loop_zeroes_gradients(evidence) -> bool:
    """True when the run's training loop is known to zero the gradients every step: lossgap's trainer, or a framework
    the Recorder was told does (``describe(..., framework_zeroes_gradients=True)``, as ``LossgapCallback`` says of
    Lightning's automatic optimisation)."""
    if evidence.train_config is not None:
        return True
    return bool(((evidence.settings or {}).get("loop") or {}).get("framework_zeroes_gradients"))


#: Most that step sizes alone (the gradients' signal and a rate far above range, summed) count in a run too short to
#: show where they lead (learning_state.short_and_learning): considered, not found.
SHORT_RUN_STEPS_CAP = 0.45


def short_run_steps(evidence, gradients_signal: float, fast_rate_signal: float) -> tuple[float, str]:
    """(factor for both signals, the sentence saying why, or "") in a run too short to show where its steps lead
    (:func:`lossgap.diagnosis.learning_state.short_and_learning`): the factor brings their sum down to
    SHORT_RUN_STEPS_CAP; (1.0, "") otherwise. Large steps are how training at a fast rate begins."""
    steps_sum = gradients_signal + fast_rate_signal
    if not (steps_sum > SHORT_RUN_STEPS_CAP and evidence.short_and_learning):
        return 1.0, ""
    return SHORT_RUN_STEPS_CAP / steps_sum, (
        f"but the run is only {evidence.num_epochs} epochs long and its losses were still falling smoothly when it "
        "ended (no spike, the train loss hardly ever climbing back): large steps are how training at a fast rate "
        "begins, and nothing yet shows them overshooting")
