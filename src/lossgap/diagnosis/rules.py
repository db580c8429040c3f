"""One rule per cause: evidence in, a Verdict (with a confidence in [0, 1]) out.

Confidences are scores built from effect sizes measured against the run's own noise, so a rule does not
fire on what one or two samples explain. Rules never look at the test split. Each rule returns a Verdict
even when its cause is unlikely (low confidence), so the diagnosis can say what was checked and ruled out.
"""

from __future__ import annotations

import math

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.analysis.smoothing import linear_trend
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.remedies import RemedyBook, present
from lossgap.diagnosis.verdict import Verdict

#: Epochs a trend-based rule needs before it says anything.
MIN_TREND_EPOCHS = 3


def _clip(value: float) -> float:
    return float(min(1.0, max(0.0, value))) if math.isfinite(value) else 0.0


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def no_signal(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """Val accuracy not significantly above the majority baseline, and val loss not below the prior's entropy."""
    signal = evidence.signal
    best_p = min(signal.p_value, evidence.signal_any_epoch_p) if math.isfinite(evidence.signal_any_epoch_p) \
        else signal.p_value
    low, high = signal.interval
    evidence_dict = {"epoch": evidence.judged_epoch, "val_accuracy": signal.accuracy,
                     "interval": [low, high], "baseline_accuracy": signal.baseline_accuracy,
                     "p_value": signal.p_value, "p_value_best_epoch_corrected": evidence.signal_any_epoch_p,
                     "val_loss": signal.loss, "prior_entropy": signal.prior_entropy,
                     "loss_clearly_below_prior": evidence.loss_clearly_below_prior,
                     "num_val_samples": signal.num_samples}
    if best_p < signal.alpha or evidence.loss_clearly_below_prior:
        confidence = 0.05
    else:
        # Large p-values (accuracy right at the baseline) make the case; p near alpha leaves doubt.
        confidence = 0.55 + 0.4 * _clip((best_p - signal.alpha) / 0.3)
        if signal.num_samples < 30:
            confidence *= 0.8  # too few val samples to rule out a weak signal
    rare = _rare_classes(evidence)
    rare_recall = float(np.nanmean(evidence.val_per_class.recall[evidence.judged_epoch - 1][rare])) if rare else 1.0
    majority_biased = bool(rare) and rare_recall < 0.2
    evidence_dict["majority_biased"] = majority_biased
    if majority_biased and confidence > 0.6:
        # A model that never predicts the rare classes sits at the baseline whether or not the inputs carry
        # signal: the test cannot tell here, and class imbalance is the likelier reading.
        confidence = 0.6
    if evidence.control is not None:
        control = evidence.control
        evidence_dict["control"] = control.to_dict()
        if control.significant and control.difference > 0:
            confidence = min(confidence, 0.1)
        elif confidence > 0.3:
            confidence = min(1.0, confidence + 0.05)
    summary = (f"val accuracy {signal.accuracy:.3f} (95% interval {low:.2f}-{high:.2f}) at epoch "
               f"{evidence.judged_epoch} is not above always predicting the majority class ({signal.baseline_accuracy:.3f}, "
               f"p={signal.p_value:.2f}), and val loss {signal.loss:.3f} is not below the prior's entropy "
               f"{signal.prior_entropy:.3f}: the labels are not predictable from these inputs")
    if majority_biased:
        summary += " (or the rare classes, never predicted, hide a weak signal)"
    if confidence < 0.5:
        summary = (f"val accuracy {signal.accuracy:.3f} beats the majority baseline {signal.baseline_accuracy:.3f} "
                   f"(p={signal.p_value:.2g}) or val loss {signal.loss:.3f} is below the prior's entropy "
                   f"{signal.prior_entropy:.3f}: there is signal")
    remedies = (book.advice("permuted_control", "train a permuted-label control (--control permuted-labels) to "
                            "confirm the model does no better on shuffled labels"),
                book.advice("check_data", "check that inputs and labels are aligned and that the features can carry "
                            "the label; no setting can learn labels that do not depend on the inputs"))
    return Verdict("no_signal", _clip(confidence), summary, evidence_dict, remedies)


def overfitting(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """Val loss turns up after its minimum while train loss keeps falling; the gap grows."""
    general = evidence.generalization
    curves = evidence.curves
    best = general.best_epoch or evidence.num_epochs
    final_val = float(curves.val_loss[-1])
    evidence_dict = {"onset_epoch": general.onset_epoch, "best_epoch": best, "min_val_loss": general.min_val_loss,
                     "final_val_loss": final_val, "gap_at_onset": general.gap_at_onset,
                     "gap_at_end": general.gap_at_end, "early_stopping_epoch": general.early_stopping_epoch,
                     "val_accuracy_at_best": float(curves.val_accuracy[best - 1]),
                     "final_val_accuracy": float(curves.val_accuracy[-1]),
                     "strength": general.overfitting_strength}
    if evidence.num_epochs < MIN_TREND_EPOCHS:
        return Verdict("overfitting", 0.0, "too few epochs to see val loss turn up", evidence_dict)
    confidence = general.overfitting_strength if general.onset_epoch is not None \
        else min(0.3, general.overfitting_strength)
    summary = (f"val loss reached its minimum {general.min_val_loss:.3f} at epoch {best} and rose to {final_val:.3f} by "
               f"epoch {evidence.num_epochs} while train loss fell from {curves.train_loss[best - 1]:.3f} to "
               f"{curves.train_loss[-1]:.3f}; the gap grew from {general.gap_at_best:.3f} to {general.gap_at_end:.3f}")
    if general.onset_epoch is None:
        summary = f"val loss did not turn up clearly after its minimum at epoch {best} ({general.min_val_loss:.3f})"
    remedies = present(book.early_stopping(best, evidence.num_epochs), book.dropout(), book.weight_decay(),
                       book.smaller_hidden(), book.fewer_layers())
    return Verdict("overfitting", _clip(confidence), summary, evidence_dict, remedies)


def confidence_refinement(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """Accuracy flat within its noise while loss falls, the fall coming from samples that do not change class."""
    plateau, ledger = evidence.main_plateau, evidence.ledger
    if plateau is None or ledger is None or ledger.start_epoch != plateau.start_epoch:
        return Verdict("confidence_refinement", 0.0,
                       f"no window where {evidence.focus_split} accuracy stays within its noise while the loss falls",
                       {"plateaus": [p.to_dict() for p in evidence.plateaus.get(evidence.focus_split, ())]})
    shares = {group.name: group.loss_change for group in ledger.groups}
    total = ledger.loss_change
    refined = (shares["stayed_correct"] + shares["stayed_wrong_closer"]) / total if total < 0 else 0.0
    length = plateau.end_epoch - plateau.start_epoch + 1
    onset = evidence.generalization.onset_epoch
    # Epochs of the plateau after overfitting set in are memorisation, not refinement.
    overlap = 0.0 if onset is None else max(0, plateau.end_epoch - max(onset, plateau.start_epoch)) / length
    confidence = _clip(refined) * (1.0 - overlap) * _clip(0.5 + length / 20)
    already_right = ledger.group("stayed_correct")
    if already_right.share > 1:
        source = (f"the {already_right.count} samples that were already right lowered it by "
                  f"{-already_right.loss_change:.3f}, more than the whole fall (others pushed it up)")
    else:
        source = f"{_pct(_clip(already_right.share))} of the fall came from {already_right.count} samples that were already right"
    summary = (f"{evidence.focus_split} accuracy stayed at {plateau.accuracy_mean:.3f} (within its noise of "
               f"+-{plateau.accuracy_noise:.3f}) from epoch {plateau.start_epoch} to {plateau.end_epoch} while "
               f"{evidence.focus_split} loss fell {-plateau.loss_change:.3f} ({_pct(-plateau.loss_change / plateau.loss_start)}); "
               f"{source}: they only grew more confident")
    evidence_dict = {"plateau": plateau.to_dict(), "ledger": ledger.to_dict(), "refined_share": refined,
                     "overlap_with_overfitting": overlap}
    remedies = [book.monitor_accuracy()]
    curves = evidence.curves
    if curves.train_accuracy[-1] - curves.val_accuracy[-1] < 2 * evidence.val_noise:
        # Train accuracy sits at the same ceiling: more capacity or better inputs are what could move it.
        remedies.append(book.larger_hidden())
    remedies.append(book.advice("nothing_to_fix", "nothing is broken: the falling loss is confidence; more accuracy "
                                "needs more informative inputs, more data or a different model"))
    return Verdict("confidence_refinement", confidence, summary, evidence_dict, tuple(remedies))


def class_imbalance_bias(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """Accuracy near the frequent classes' share; rare classes rarely predicted."""
    per_class = evidence.val_per_class
    index = evidence.judged_epoch - 1
    counts = evidence.train_class_counts.astype(np.float64)
    shares = counts / counts.sum()
    accuracy = float(per_class.accuracy[index])
    balanced = float(per_class.balanced_accuracy[index])
    recall = per_class.recall[index]
    rare = _rare_classes(evidence)
    evidence_dict = {"epoch": evidence.judged_epoch, "train_class_shares": shares.tolist(), "val_accuracy": accuracy,
                     "val_balanced_accuracy": balanced, "recall": [None if not np.isfinite(r) else float(r) for r in recall],
                     "predicted_share": per_class.predicted_share[index].tolist(),
                     "true_share": per_class.true_share.tolist(), "rare_classes": [int(c) for c in rare]}
    if not rare:
        return Verdict("class_imbalance_bias", 0.0, "the classes are roughly balanced", evidence_dict)
    rare_recall = float(np.nanmean(recall[rare]))
    gap = accuracy - balanced
    confidence = _clip(1.0 - rare_recall) * _clip(gap / 0.15)
    names = ", ".join(str(c) for c in rare)
    summary = (f"val accuracy {accuracy:.3f} but balanced accuracy {balanced:.3f}: rare class(es) {names} "
               f"({_pct(shares[rare].sum())} of training samples) are recalled {rare_recall:.2f} on average while "
               f"the majority class is predicted for {_pct(per_class.predicted_share[index].max())} of val samples")
    remedies = present(book.class_weights(),
                       book.advice("resample", "oversample the rare classes or collect more of them, and judge runs "
                                   "by balanced accuracy"))
    return Verdict("class_imbalance_bias", confidence, summary, evidence_dict, remedies)


def label_noise(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """A subset of training samples is learned late, against the rest, as val accuracy peaks and declines."""
    suspects, noise = evidence.suspects, evidence.noise
    if suspects is None or noise is None:
        return Verdict("label_noise", 0.0, "no train split was recorded, so samples cannot be followed", {})
    curves = evidence.curves
    peak_epoch = int(np.nanargmax(curves.val_accuracy)) + 1
    peak, final = float(np.nanmax(curves.val_accuracy)), float(curves.val_accuracy[-1])
    decline = peak - final
    noise_band = evidence.val_noise
    learned_late = noise.suspects_learned_after_reference or 0.0
    memorised = 0.5 * _clip(learned_late / 0.5) + 0.5 * _clip(decline / (2 * noise_band))
    amount = _clip(suspects.fraction / 0.1) if not suspects.capped else 0.0
    # Contradicted samples alone may be irreducible noise the model rightly ignores; memorising them
    # (late learning while val accuracy falls) is what makes label noise hurt.
    confidence = amount * (0.3 + 0.7 * memorised)
    evidence_dict = {"suspect_count": int(len(suspects.sample_ids)), "suspect_fraction": suspects.fraction,
                     "suspects_learned_after_best_epoch": learned_late, "best_epoch": evidence.judged_epoch,
                     "val_accuracy_peak": peak, "val_accuracy_peak_epoch": peak_epoch, "final_val_accuracy": final,
                     "top_suspects": [_plain_id(i) for i in suspects.sample_ids[:20]],
                     "capped": bool(suspects.capped)}
    summary = (f"{len(suspects.sample_ids)} training samples ({_pct(suspects.fraction)}) are predicted as another class "
               f"for most of training (negative area under the margin); {_pct(learned_late)} of them were only "
               f"learned after epoch {evidence.judged_epoch}, and val accuracy went from {peak:.3f} at epoch "
               f"{peak_epoch} to {final:.3f}")
    top = ", ".join(str(_plain_id(i)) for i in suspects.sample_ids[:5])
    remedies = present(book.advice("inspect_suspects", f"check the labels of the most suspect samples ({top}, ...; "
                                   "all in diagnosis.json) and relabel or drop them"),
                       book.early_stopping(evidence.judged_epoch, evidence.num_epochs), book.weight_decay())
    return Verdict("label_noise", _clip(confidence), summary, evidence_dict, remedies)


def underfitting(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """Train and val loss both still falling at the end, and accuracy still rising."""
    health = evidence.optimization
    curves = evidence.curves
    evidence_dict = {"train_slope_end": health.train_slope_end, "val_slope_end": health.val_slope_end,
                     "train_still_falling": health.train_still_falling, "val_still_falling": health.val_still_falling,
                     "final_train_accuracy": float(curves.train_accuracy[-1]), "epochs": evidence.num_epochs}
    if evidence.num_epochs < MIN_TREND_EPOCHS:
        return Verdict("underfitting", 0.0, "too few epochs to judge the trend", evidence_dict)
    tail = max(MIN_TREND_EPOCHS, evidence.num_epochs // 4)
    rise = linear_trend(curves.train_accuracy[-tail:])[0] * (tail - 1)
    train_noise = float(accuracy_noise(float(curves.train_accuracy[-1]), evidence.train.num_samples
                                       if evidence.train is not None else evidence.val.num_samples))
    evidence_dict["train_accuracy_rise_over_tail"] = float(rise)
    falling = health.train_still_falling and health.val_still_falling
    if not falling or evidence.generalization.onset_epoch is not None:
        confidence = 0.0
    else:
        steepness = _clip(-health.val_slope_end / 0.01)  # 1% of the loss per epoch counts as clearly falling
        confidence = steepness * (0.9 if rise > train_noise else 0.35)
    summary = (f"train and val loss are still falling at the end ({_pct(-health.train_slope_end)} and "
               f"{_pct(-health.val_slope_end)} per epoch over the last epochs) and train accuracy is "
               f"{curves.train_accuracy[-1]:.3f} and still rising: training stopped too early")
    if confidence < 0.5:
        summary = "the losses have levelled off or turned, so more epochs alone would not help"
    remedies = present(book.more_epochs(evidence.num_epochs), book.higher_lr(), book.larger_hidden())
    return Verdict("underfitting", _clip(confidence), summary, evidence_dict, remedies)


def unstable_optimization(evidence: RunEvidence, book: RemedyBook) -> Verdict:
    """Non-finite losses, spikes or oscillation."""
    health = evidence.optimization
    spikes = health.spikes
    oscillating = health.train_oscillation.oscillating
    evidence_dict = {"non_finite_epochs": list(health.non_finite_epochs),
                     "spikes": [spike.to_dict() for spike in spikes],
                     "train_oscillation": health.train_oscillation.to_dict(), "lr_end": health.lr_end,
                     "grad_norm_median": health.grad_norm_median, "grad_norm_max": health.grad_norm_max}
    train_spikes = [spike for spike in spikes if spike.split == "train"]
    lost = _progress_lost(evidence.curves.train_loss, train_spikes)
    evidence_dict["largest_progress_lost"] = lost
    if health.non_finite_epochs:
        confidence = 1.0
        summary = f"the loss became NaN or infinite at epoch(s) {', '.join(map(str, health.non_finite_epochs[:5]))}"
    else:
        # A spike matters by how much of the training progress it undoes; val spikes while a model
        # memorises are overfitting, not optimisation, so only the train loss counts here.
        confidence = _clip(lost / 0.8) * min(1.0, 0.5 + 0.25 * len(train_spikes)) + (0.3 if oscillating else 0.0)
        summary = (f"{len(train_spikes)} train loss spike(s), the largest undoing {_pct(lost)} of the progress made "
                   "so far" + ("; the train loss zig-zags" if oscillating else "")
                   + (f"; learning rate {health.lr_end:g}" if health.lr_end is not None else ""))
    remedies = present(book.lower_lr(), book.clip_grad())
    return Verdict("unstable_optimization", confidence, summary, evidence_dict, remedies)


def _rare_classes(evidence: RunEvidence) -> list[int]:
    """Classes present in val whose training share is under half an equal share."""
    counts = evidence.train_class_counts.astype(np.float64)
    shares = counts / counts.sum()
    present_classes = np.flatnonzero(evidence.val_per_class.support > 0)
    return [int(c) for c in present_classes if shares[c] < 0.5 / max(1, len(present_classes))]


def _progress_lost(train_loss: np.ndarray, spikes) -> float:
    """Largest share of the loss fall so far that one spike undid (0 without spikes)."""
    lost = 0.0
    for spike in spikes:
        before = train_loss[: spike.epoch - 1]
        # Measured against at least half the starting loss, so a run that barely learned (no signal)
        # does not turn every wiggle into "all progress lost".
        progress = max(float(train_loss[0] - np.nanmin(before)) if before.size else 0.0, 0.5 * float(train_loss[0]))
        jump = float(train_loss[spike.epoch - 1] - train_loss[spike.epoch - 2])
        if progress > 0:
            lost = max(lost, min(1.5, jump / progress))
    return lost


def _plain_id(value) -> int | str:
    return value.item() if hasattr(value, "item") else value


#: Every rule, in the order ties are broken (the more fundamental cause first).
RULES = (no_signal, unstable_optimization, label_noise, class_imbalance_bias, overfitting, underfitting,
         confidence_refinement)
