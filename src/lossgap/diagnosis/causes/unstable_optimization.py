"""unstable_optimization: the weights jump instead of descending.

Decided before every other cause: when the weights jump, samples flip back and forth with them (which looks
like label noise), val accuracy swings (which hides or fakes signal), and the loss may never fall (which
looks like a model too small). The evidence, strongest first:

- a non-finite loss;
- a train loss *above* the prior's entropy in many epochs: the model does worse on the data it is trained
  on than always predicting the class shares, which descent on that loss never does;
- exploding gradients or updates far larger than the weights can take (when recorded: update / weight norm
  far above the ~1e-3 rule of thumb);
- a train loss that bounces (climbs and gives the climb back again, in total more than the prior's entropy),
  spikes that undo a large share of the progress made, and train accuracy that keeps dropping back by more
  than its noise. These count in full only when the model also fails to fit its training set: a model that
  bounces on its way to a near-zero train loss (common while memorising a small data set) was not stopped
  by its optimiser, and its bumps are not what limits it. Except a spike that throws a model that had fitted
  (train loss under FITTED_SHARE of the prior's entropy) back above a constant guess, when the run delivers
  the collapsed model: memorising never does that. And a fitted model's spikes and drops count half
  (FAST_RATE_FIT) when its own learning rate is far above its optimizer's usual range: then the run's settings
  say why the weights jump.
"""

from __future__ import annotations

import numpy as np

from lossgap.analysis.fit import ABOVE_PRIOR_MARGIN, above_guess_share, loss_reversal, reversal_steps
from lossgap.analysis.gradients import STALLED_UPDATE_RATIO
from lossgap.diagnosis.cause import Cause
from lossgap.diagnosis.causes.unstable_drops import DROPS_FULL, DROPS_START, accuracy_drop_share
from lossgap.diagnosis.causes.unstable_gradients import gradient_signals, loop_zeroes_gradients, short_run_steps
from lossgap.diagnosis.causes.unstable_records import (BOUNCE_FULL, BOUNCE_START, delivered_model_jumps,
                                                       evaluation_only_bounces, evaluation_only_words,
                                                       train_records_only)
from lossgap.diagnosis.causes.unstable_collapse import (COLLAPSE_AFTER_DELIVERED, COLLAPSE_CONFIDENCE,
                                                        collapse_to_constant)
from lossgap.diagnosis.causes.unstable_spikes import (MEMORISED_PAST_SPIKE, OUTGROWN_WEIGHT, UNRECOVERED_CAP,
                                                       UNRECOVERED_FULL, UNRECOVERED_START, collapse_after_fit,
                                                       delivered_intact_words, memorised_past_spike, outgrown_spikes,
                                                       progress_lost, unrecovered_climb, unrecovered_spike,
                                                       unrecovered_val_words)
from lossgap.diagnosis.constraints import (adam_l2_pins_weights, decoupled_decay, fast_learning_rate, fast_rate_figures,
                                           heavy_dropout)
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import val_never_showed
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import Verdict
from lossgap.diagnosis.wording import clip, epochs_words, pct, rate_words

#: Share of epochs with the train loss above the prior's entropy at which that signal starts and saturates.
ABOVE_PRIOR_START, ABOVE_PRIOR_FULL = 0.05, 0.2
#: Best train loss (share of the prior's entropy) from which the model counts as not fitting, and fully so.
UNFIT_START, UNFIT_FULL = 0.05, 0.3
#: Epoch-to-epoch steps within which the train loss's bounces are summed (the largest such window counts; the steps
#: start at epoch 2, so a run of 32 epochs or fewer is summed whole), about the length of the runs BOUNCE_START and
#: BOUNCE_FULL were set on: trial 33's GunPoint LSTM-FCNs with 30% of their labels flipped, the train loss wobbling
#: 0.43-0.69 by a median 0.02 of the prior's entropy per epoch for 236-300 epochs with no spike, summed 3.1-5.3 and
#: read unstable_optimization 0.60 over their label noise (in a 30-epoch window: 0.5-0.8).
BOUNCE_WINDOW = 30
#: Most that loss bounces and spikes can add up to on their own: bumps below the prior's entropy also come
#: from heavy regularisation or a hard, noisy task.
BUMPS_CAP = 0.6
#: Confidence when only the evaluated model bounces (see unstable_records.evaluation_only_bounces): the delivered model
#: and its val curve do jump, but lowering the learning rate is not the cure.
EVALUATION_ONLY_CONFIDENCE = 0.55
#: ... and when the evaluated loss bounced only after the epoch the run delivers (early stopping restored a model
#: from before the jumps): a note, not a finding (a clean LSTM-FCN at val 1.000 from epoch 1, restored at epoch
#: 31, its evaluated accuracy falling to 0.56-0.73 in epochs 33-35 only, had read 0.55 "recompute batch norm").
EVALUATION_AFTER_DELIVERED = 0.25
#: A rate far above its optimizer's usual range (constraints.fast_learning_rate) counts up to this much, from a
#: delivered train error of FAST_RATE_ERROR, fully FAST_RATE_ERROR_SPAN above it.
FAST_RATE_SIGNAL, FAST_RATE_ERROR, FAST_RATE_ERROR_SPAN = 0.5, 0.03, 0.07
#: Weight of a fitted model's spikes and accuracy drops when its rate is that far above range (a fitted model's
#: count for nothing otherwise): a Lightning ItalyPowerDemand LSTM at Adam 0.1, train accuracy 0.98 with two spikes
#: undoing up to 70% of its progress, test 0.876 against 0.965 at Adam 0.003, had read "No problem found" 0.54.
FAST_RATE_FIT = 0.5
#: Confidence then: a note that explains the curve, not a finding.
RECORDS_ONLY_NOTE = 0.25
#: The headline's title for that form ("the weights jump", the cause's title, would contradict its sentence).
EVALUATION_ONLY_TITLE = ("the model as evaluated jumps from epoch to epoch while its weights descend, as when batch "
                         "norm's running statistics lag behind the weights")


def rule(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """Non-finite loss, a train loss worse than the prior's, exploding gradients, spikes, zig-zags."""
    health = evidence.optimization
    # Judged on what the optimiser minimised: the class-weighted loss when the run weighted its classes.
    loss_name, train_loss, _, fit = evidence.stability_loss
    guess, unit = (("the weighted loss of the best constant guess",) * 2 if evidence.objective is not None
                   else ("the loss of always predicting the class shares", "the prior's entropy"))
    train_spikes = [spike for spike in health.spikes if spike.split == "train"]
    lost = progress_lost(train_loss, train_spikes, fit.prior_entropy)
    # A spike's damage, or a climb's: the delivered model worse than it had been, on train and val.
    fast = fast_learning_rate(evidence.settings)
    unrecovered = unrecovered_spike(evidence, train_spikes) or unrecovered_climb(evidence, fast=bool(fast))
    memorised_past = None if unrecovered else memorised_past_spike(evidence, train_spikes, fast=bool(fast))
    # In a model with batch norm, epochs the evaluated model spends above a constant guess or dropping back while
    # the training pass's own loss does not are batch norm's statistics lagging the weights, not jumping weights.
    running = evidence.training_pass_loss
    drops = accuracy_drop_share(evidence, running)
    above_share = fit.above_prior_share
    if running is not None:
        above_share = min(above_share, above_guess_share(running, fit.prior_entropy, evidence.val.num_classes))
    if evidence.objective is not None:
        # Under class weights, a model whose plain loss lies below the plain prior's entropy has learned the frequent
        # classes: above the weighted guess it leans on them, its weights need not jump (trial 25: 30:1 weighted runs,
        # plain loss below the prior in every epoch, the weighted one flat at 0.68-0.85 above its guess's 0.693 and the
        # rare class never learned, read 1.00 "lower the learning rate", and lower rates read it again). Weights that
        # jump throw both losses above their guesses (the suite's unstable weighted runs: 0.58-0.93 of the epochs both).
        above_share = min(above_share, evidence.fit.above_prior_share)
    optimizer = (evidence.settings or {}).get("optimizer") or {}
    clipped = optimizer.get("clip_grad") is not None
    decoupled = decoupled_decay(optimizer)
    decay_per_step = float(optimizer.get("weight_decay") or 0) * float(optimizer.get("lr") or 0) if decoupled else 0.0
    if adam_l2_pins_weights(optimizer):
        # Adam's heavy L2 term pins the weights near zero, where each normalised step is large next to them:
        # large update ratios then say nothing about jumping weights (weight decay 1 read unstable 1.00).
        decay_per_step = max(decay_per_step, 1.0)
    unfit = clip((1.0 - fit.moved_share - UNFIT_START) / (UNFIT_FULL - UNFIT_START))
    zeroed = loop_zeroes_gradients(evidence)
    non_finite = _non_finite_epochs(evidence)
    train_error = 1.0 - float(evidence.stability_loss[2][evidence.delivered_epoch - 1])
    val_error = 1.0 - float(evidence.curves.val_accuracy[evidence.delivered_epoch - 1])
    gradients = gradient_signals(evidence.gradients, clipped, unfit, decay_per_step,
                                 unscaled_inputs=evidence.unscaled_inputs or evidence.saturated_at_usual_rate,
                                 zeroed=zeroed, fast_with_errors=bool(fast) and val_error >= FAST_RATE_ERROR)
    facts = {"non_finite_epochs": non_finite, "spikes": [s.to_dict() for s in train_spikes],
             "largest_progress_lost": lost, "reversal": fit.reversal, "unfit": unfit,
             "above_prior_share": above_share, "above_prior_excess": fit.above_prior_excess,
             "evaluated_above_prior_share": fit.above_prior_share,
             "prior_entropy": fit.prior_entropy, "accuracy_drop_share": drops, "lr_end": health.lr_end,
             "judged_on": loss_name,
             "grad_norm_median": health.grad_norm_median, "grad_norm_max": health.grad_norm_max, **gradients}
    remedies = present(book.lower_lr(10.0 if above_share >= ABOVE_PRIOR_FULL else 3.0), book.clip_grad())
    if gradients.get("growing_gradients") and not zeroed:
        # A lower rate only slows the sum (an own loop without zero_grad still failed at lr 5e-4, val 0.43).
        remedies = present(book.advice("check_zero_grad", "check that optimizer.zero_grad() (or model.zero_grad()) "
                                       "runs in every training step, before loss.backward()"), *remedies)
    if non_finite:
        return Verdict("unstable_optimization", 1.0,
                       f"the loss became NaN or infinite {epochs_words(non_finite, evidence.num_epochs)}", facts,
                       remedies)
    # Spikes the run outgrew cost it time, not its result: the bounces are judged on the descent after them.
    outgrown = outgrown_spikes(train_loss, train_spikes, evidence.delivered_epoch, fit.prior_entropy)
    # Judged within BOUNCE_WINDOW epochs: over a run of hundreds, small epoch-to-epoch wobble adds up past
    # BOUNCE_FULL by itself.
    judged_loss = train_loss if outgrown is None else train_loss[outgrown["last"] - 1:]
    reversal, judged_lost = loss_reversal(judged_loss, fit.prior_entropy, BOUNCE_WINDOW), lost
    # A window shorter than the steps loss_reversal summed is "within".
    windowed = reversal_steps(judged_loss, fit.prior_entropy).size > BOUNCE_WINDOW
    facts.update(bounce_reversal=reversal, bounce_windowed=windowed)
    if outgrown is not None:
        large = [spike for spike in train_spikes if spike.epoch in outgrown["epochs"]]
        rest = [spike for spike in train_spikes if spike.epoch not in outgrown["epochs"]]
        judged_lost = max(progress_lost(train_loss, rest, fit.prior_entropy),
                          OUTGROWN_WEIGHT * progress_lost(train_loss, large, fit.prior_entropy))
        outgrown.update(reversal_after=reversal, judged_lost=judged_lost)
    facts["outgrown"] = outgrown
    fast_fit = FAST_RATE_FIT if fast else 0.0
    signals = {
        "above_prior": clip((above_share - ABOVE_PRIOR_START) / (ABOVE_PRIOR_FULL - ABOVE_PRIOR_START)),
        # A fitted model's bounces count as its spikes do at a rate far above range (trial 24: an LSTM-FCN at AdamW 0.3,
        # its train loss jumping from near 0 to above 1 again and again, had read "No problem found" 0.52).
        "bounce": clip((reversal - BOUNCE_START) / (BOUNCE_FULL - BOUNCE_START)) * max(unfit, fast_fit),
        # A spike that throws a fitted model back above a constant guess counts whatever the fit: memorising
        # never does that (a run at 0.994 train accuracy whose loss then jumped to six times the prior's had read
        # "No problem found").
        "spikes": clip(judged_lost / 0.8) * min(1.0, 0.5 + 0.25 * len(train_spikes))
                  * max(unfit, float(collapse_after_fit(evidence, train_spikes)), fast_fit),
        "accuracy_drops": clip((drops - DROPS_START) / (DROPS_FULL - DROPS_START)) * max(unfit, fast_fit),
        "unrecovered": UNRECOVERED_CAP * clip((unrecovered["damage"] - UNRECOVERED_START)
                                              / (UNRECOVERED_FULL - UNRECOVERED_START)) if unrecovered else 0.0,
        "gradients": gradients.get("gradient_score", 0.0),
        # The run's own rate far above its optimizer's usual range, in a model that does not fit its training set:
        # the steps that overshoot are the likeliest reason (own loops at Adam 0.2-0.3, train accuracy 0.82-0.92
        # where lr 0.003 fits, gates saturated, read "No problem found" beside "too small").
        "fast_rate": FAST_RATE_SIGNAL * clip((train_error - FAST_RATE_ERROR) / FAST_RATE_ERROR_SPAN) if fast else 0.0,
        "memorised_past_spike": MEMORISED_PAST_SPIKE if memorised_past else 0.0,
    }
    facts["short_and_learning"] = evidence.short_and_learning
    steps_scale, short_words = short_run_steps(evidence, signals["gradients"], signals["fast_rate"])
    signals["gradients"] *= steps_scale
    signals["fast_rate"] *= steps_scale
    evaluation_only = evaluation_only_bounces(evidence)
    if evaluation_only is not None:
        remedies = present(book.recompute_batch_norm(), book.lower_lr(3.0))
    records_only = None if evaluation_only is not None else train_records_only(evidence)
    facts["train_records_only"] = records_only
    # Weights that no step moved cannot jump (GradientHealth.stalled): a loss above a constant guess is then the
    # barely trained model's own (an own loop clipping at 1e-4 under SGD 0.05, no step above 5e-6 of the weights, had
    # read 1.00 with "lower the learning rate"; without the clip it reached test 0.966 against 0.095).
    stalled = evidence.gradients is not None and evidence.gradients.stalled
    facts["stalled_steps"] = stalled
    stalled_above = stalled and signals["above_prior"] > 0
    if evaluation_only is not None or records_only is not None or stalled:
        # The training pass descended smoothly (the bounces are the evaluated model's), the val pass, on clean inputs,
        # descended smoothly far below the train records (the bounces are the records'), or no step moved the weights:
        # the loss curve's bounces and level are not the weights' jumping.
        for name in ("above_prior", "bounce", "spikes", "accuracy_drops", "unrecovered", "memorised_past_spike"):
            signals[name] = 0.0
    # Shown as considered, so the bouncing train curve is explained.
    signals["train_records"] = RECORDS_ONLY_NOTE if records_only is not None else 0.0
    signals["evaluation_only"] = (0.0 if evaluation_only is None else EVALUATION_ONLY_CONFIDENCE
                                  if delivered_model_jumps(evaluation_only) else EVALUATION_AFTER_DELIVERED)
    facts["evaluation_only"] = evaluation_only
    # Where what the weights' own steps show (their size, a rate far above its range) outweighs the evaluated model's
    # jumps, the rate is the first experiment (trial 28's GunPoint LSTM-FCN at Adam 0.079, its training pass bouncing
    # too, was told --ema 0 first, which changed nothing; a tenth of the rate took test 0.667 -> 0.860).
    steps_own = 1.0 - (1.0 - signals["gradients"]) * (1.0 - signals["fast_rate"])
    facts["steps_outweigh_evaluation"] = steps_outweigh = (evaluation_only is not None
                                                           and steps_own > signals["evaluation_only"])
    if steps_outweigh:
        remedies = present(book.lower_lr(3.0), book.recompute_batch_norm())
    collapse = collapse_to_constant(evidence)
    signals["collapse"] = ((COLLAPSE_AFTER_DELIVERED if collapse.get("after_delivered") or collapse.get("relearned")
                            else COLLAPSE_CONFIDENCE) if collapse else 0.0)
    facts.update(signals=signals, collapse=collapse, unrecovered=unrecovered, memorised_past_spike=memorised_past)
    if (signals["unrecovered"] > 0 or signals["memorised_past_spike"] > 0) and not collapse:
        # Early stopping would have delivered the model from before the spike.
        remedies = present(*remedies, book.early_stopping(evidence.curves.val_loss))
    if collapse:
        # Early stopping keeps the epoch before the collapse; a lower rate is the usual cure.
        remedies = present(book.lower_lr(3.0), book.early_stopping(evidence.curves.val_loss), book.clip_grad())
    # Independent signals add up: 1 - prod(1 - s); bumps below the prior alone stay under BUMPS_CAP.
    bumps = BUMPS_CAP * _combined((signals["bounce"], signals["spikes"]))
    decisive = {name: bumps if name == "bumps" else signals[name] for name in (
        "above_prior", "gradients", "accuracy_drops", "bumps", "collapse", "unrecovered", "fast_rate",
        "memorised_past_spike", "train_records", "evaluation_only")}
    confidence = _combined(decisive.values())
    # Samples are judged for label noise up to the val-loss minimum (RunEvidence.train_samples): a collapse or spike
    # damage after that cannot have made them look contradicted (trial 26: 30% of the labels flipped in both splits,
    # a collapse at 30 after the window ended at 22, had label noise 0.53 explained away).
    window = evidence.train_samples.until_epoch if evidence.train_samples is not None else None
    # Not a collapse the delivered model is in: a constant guess is what the user holds, whatever the labels.
    covers_delivered = bool(collapse) and not (collapse.get("relearned") or collapse.get("after_delivered"))
    late = [name for name, found in (("collapse", None if covers_delivered else collapse), ("unrecovered", unrecovered))
            if window is not None and found and found.get("epoch", 0) > window]
    if late and confidence > 0:
        early = _combined(value for name, value in decisive.items() if name not in late)
        facts["explains_share"] = {"label_noise": early / confidence}
    if signals["evaluation_only"] > 0 and not steps_outweigh and signals["evaluation_only"] >= max(
            value for name, value in decisive.items() if name != "evaluation_only"):
        facts["title"] = EVALUATION_ONLY_TITLE
        # An evaluated model that jumps moves whole classes at once, in a few epochs; it does not make single
        # samples contradicted over most of training while their class-mates are right. An OSULeaf LSTM-FCN with
        # 30% of its labels flipped, 30 of its 34 suspects flipped ones, had read this form first (0.55) and label
        # noise only considered (0.39, from 0.60).
        facts["explains_share"] = {"label_noise": 0.0}
    parts = []
    if collapse:
        delivered = collapse.get("after_delivered")
        got = ("reached balanced train accuracy" if evidence.objective is not None
               else "had got")  # the weighted objective's accuracy is the balanced one
        share = "" if evidence.objective is not None else " of its training samples right"
        parts.append(f"training collapsed at epoch {collapse['epoch']}: the model, which {got} "
                     f"{collapse['best_accuracy']:.3f}{share} (epoch {collapse['best_epoch']}), "
                     f"fell back to the constant guess ({loss_name} {collapse['train_loss']:.3f}, {guess} "
                     f"{fit.prior_entropy:.3f}; one class predicted for "
                     f"{pct(collapse['one_class_share'])} of the training samples) and stayed there through epoch {collapse['until']}, "
                     + (f"the last: early stopping delivered epoch {delivered}'s model, from before the collapse, "
                        "which stopped the learning there" if delivered
                        else f"then learned again, but the model the run delivers (epoch {collapse['relearned']}, "
                             f"{loss_name} {collapse['delivered_loss']:.3f}) is no further than before the collapse "
                             f"(lowest {collapse['lowest_before']:.3f}): the collapse cost the run every epoch since"
                        if collapse.get("relearned") else "the epoch the run delivers"))
    if evaluation_only is not None:
        parts.append(evaluation_only_words(evaluation_only, evidence.delivered_epoch, unit, steps_outweigh))
    if records_only is not None:
        parts.append(f"the {loss_name} bounced ({records_only['train_reversal']:.1f}x {unit} in all, around "
                     f"{records_only['train_end']:.3f} over the last third of the run) while the val loss fell "
                     f"smoothly to {records_only['val_end']:.3f} (bouncing {records_only['val_reversal']:.2f}x): "
                     "weights that jump move val too, so the train records are taken on inputs or in a mode the val "
                     "pass does not share (augmentation such as mixup, dropout) and do not show the weights jumping")
    if stalled_above:
        parts.append(f"the {loss_name} lay above {guess} in {pct(above_share)} of the epochs after the first, but no "
                     f"step moved the weights by as much as {STALLED_UPDATE_RATIO:g} of their norm (at most "
                     f"{evidence.gradients.largest_update_ratio:.1g} in an epoch): the weights did not jump, and that "
                     "loss is the barely trained model's own")
    if signals["above_prior"] > 0:
        margin = ABOVE_PRIOR_MARGIN * float(np.log(max(evidence.val.num_classes, 2)))
        parts.append(f"in {pct(above_share)} of the epochs after the first the {loss_name} lay more "
                     f"than {margin:.3f} nats above {fit.prior_entropy:.3f}, {guess} (a first descent from above "
                     "it not counted): the model did worse on its own training data than a constant guess")
    if signals["bounce"] > 0:
        since = f" after epoch {outgrown['last']}" if outgrown is not None else " in all"
        if windowed:
            since = f" within {BOUNCE_WINDOW} epochs" + (f", after epoch {outgrown['last']}" if outgrown else "")
        parts.append(f"the {loss_name} bounced: it climbed and fell back by {reversal:.1f}x {unit}{since}, "
                     f"and got no lower than {fit.train_loss_min:.3f}")
    if train_spikes and signals["spikes"] > 0:
        parts.append(f"{len(train_spikes)} spike(s) of the {loss_name}, the largest undoing {pct(min(lost, 1.0))} "
                     "of the progress made so far")
    if outgrown is not None and signals["spikes"] > 0:
        epochs = ", ".join(str(epoch) for epoch in outgrown["epochs"])
        parts.append(f"but the run outgrew the large one(s), at epoch(s) {epochs}: after epoch {outgrown['last']} "
                     f"its {loss_name} fell to new lows ({outgrown['lowest_after']:.3f}, against "
                     f"{outgrown['lowest_before']:.3f} before epoch {outgrown['first']}) over "
                     f"{outgrown['quiet_epochs']} epochs without another large spike, so they cost the run time"
                     + (", though the gates they saturated stayed so (below)" if gradients.get("saturated_fast")
                        else ", not the model it delivers"))
    if signals["unrecovered"] > 0 and "lowest_epoch" in unrecovered:
        accuracy_name = "balanced train accuracy" if evidence.objective is not None else "train accuracy"
        parts.append(f"the {loss_name} climbed from its lowest, {unrecovered['lowest_before']:.3f} at epoch "
                     f"{unrecovered['lowest_epoch']}, to {unrecovered['delivered_loss']:.3f} at epoch "
                     f"{evidence.delivered_epoch}, the model the run delivers, losing {pct(unrecovered['share'])} of "
                     f"the progress it had made; its {accuracy_name} fell from {unrecovered['train_before']:.3f} to "
                     f"{unrecovered['train_delivered']:.3f} and its val accuracy from {unrecovered['val_before']:.3f} "
                     f"to {unrecovered['val_delivered']:.3f}: descent does not make a fitted model worse on its own "
                     "training samples, steps too large for it do")
    elif signals["unrecovered"] > 0:
        parts.append(f"a spike at epoch {unrecovered['epoch']} threw the {loss_name} from "
                     f"{unrecovered['lowest_before']:.3f} (its lowest before) to {unrecovered['spike_loss']:.3f}, and "
                     f"the model the run delivers (epoch {evidence.delivered_epoch}, {loss_name} "
                     f"{unrecovered['delivered_loss']:.3f}) has not won back {pct(unrecovered['share'])} of the "
                     f"progress made before it: its val accuracy is {unrecovered['val_delivered']:.3f}, against "
                     f"{unrecovered['val_before']:.3f} before the spike"
                     + unrecovered_val_words(unrecovered, evidence.signal.baseline_accuracy))
    if signals["memorised_past_spike"] > 0:
        past = memorised_past
        at = f" (learning rate {past['lr']:g} there)" if past["lr"] is not None else ""
        parts.append(f"{fast}: a spike at epoch {past['epoch']}{at} took val accuracy from {past['val_before']:.3f} to "
                     f"{past['val_after']:.3f}, and it never came back within its noise of that level (at best "
                     f"{past['val_best_after']:.3f} after it, {past['val_delivered']:.3f} in the model the run "
                     f"delivers), though the {loss_name} fell to new lows: the model memorised its training set from "
                     "where the spike left it")
    if signals["accuracy_drops"] > 0:
        accuracy_name = "balanced train accuracy" if evidence.objective is not None else "train accuracy"
        parts.append(f"{accuracy_name} dropped back by more than its noise in {pct(drops)} of the epochs")
    if gradients.get("gradient_sentence"):
        parts.append(gradients["gradient_sentence"])
    if signals["fast_rate"] > 0:
        # Where the run is too short to show whether its steps overshoot, the rate's figures stand without that claim.
        fast_words = fast_rate_figures(evidence.settings) if short_words else fast
        parts.append(f"{fast_words}, and the model the run delivers gets {pct(train_error)} of its training samples "
                     "wrong")
    if short_words:
        parts.append(short_words)
    if not parts:
        summary = f"training was stable: the {loss_name} stayed below {unit} and did not bounce"
        if train_spikes:
            summary += (f" enough to stop the model fitting ({len(train_spikes)} spike(s) on the way to a {loss_name} "
                        f"of {fit.train_loss_min:.3f})")
        return Verdict("unstable_optimization", confidence, summary, facts, remedies)
    summary = "; ".join(parts) + rate_words(evidence.curves.lr, health.lr_end) + delivered_intact_words(evidence)
    if confidence >= 0.5 and evidence.fit.train_moved and val_never_showed(evidence) and evidence.control is None:
        # Jumping weights keep val at chance whatever the labels; but a model that fitted train at some point while val
        # never showed any of it is also what labels without signal give: stable steps come first, the second question
        # is named (trial 33: shuffled labels memorised to train 0.875, then collapsed, read 0.97 with nothing on val's
        # staying at chance).
        summary += ("; val never showed anything learned (no epoch's accuracy significantly above the constant "
                    "answer's, nor its loss clearly below the prior's): once the steps are stable, check that the "
                    "labels carry signal")
        remedies = present(*remedies, book.permuted_control("to see whether the labels carry signal",
                                                            "once the steps are stable, "))
    # Heavy dropout makes every step's gradient noisy as well (trial 18: a 2-layer LSTM at dropout 0.9 and Adam 0.01,
    # spiking while it fitted, read 0.50 with nothing on its dropout; its first remedy, a lower rate, gained nothing).
    dropped = heavy_dropout(evidence.settings, whole_model=False)
    if dropped is not None and not fast and evaluation_only is None and records_only is None:
        summary += f"; its dropout of {dropped:g} drops most of each step's signal, which makes the steps noisy too"
        remedies = present(*remedies[:1], book.less_regularisation(), *remedies[1:])
    return Verdict("unstable_optimization", confidence, summary, facts, remedies)


def _non_finite_epochs(evidence: RunEvidence) -> list[int]:
    """1-based epochs whose train or val loss is NaN or infinite while the split was recorded (a split that
    was never recorded is missing, not non-finite; a loss NaN from the first epoch on is non-finite)."""
    bad = np.zeros(evidence.num_epochs, dtype=bool)
    for curve, split in ((evidence.curves.train_loss, evidence.train), (evidence.curves.val_loss, evidence.val)):
        if split is None:
            # No dynamics to say which epochs recorded the split: a curve finite elsewhere that is not finite
            # in an epoch counts there.
            bad |= ~np.isfinite(curve) & np.isfinite(curve).any()
            continue
        # With dynamics, only epochs that recorded the split count: a val pass run every other epoch
        # (Lightning's check_val_every_n_epoch) leaves the others empty, not non-finite.
        seen = split.seen.any(axis=1)[:evidence.num_epochs]
        seen = np.pad(seen, (0, evidence.num_epochs - seen.shape[0]))
        bad |= ~np.isfinite(curve) & seen
    return [int(epoch) + 1 for epoch in np.flatnonzero(bad)]


def _combined(signals) -> float:
    """Independent signals added up: 1 - prod(1 - s), in [0, 1]."""
    return 1.0 - float(np.prod([1.0 - value for value in signals]))


CAUSE = Cause(
    code="unstable_optimization",
    title="the loss spikes, oscillates, becomes non-finite or sits above a constant guess: the weights jump",
    rule=rule,
    explains=("no_signal", "label_noise", "class_imbalance_bias", "overfitting", "underfitting",
              "confidence_refinement"),
)
