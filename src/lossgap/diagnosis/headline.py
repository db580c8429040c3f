"""The diagnosis's first line: the main cause with its confidence and title, "No problem found", "No cause found"
when the model learned nothing that shows on val, or "Too short to judge"."""

from __future__ import annotations

import numpy as np

from lossgap.analysis.gradient_growth import gradient_growth
from lossgap.analysis.plateaus import accuracy_noise
from lossgap.analysis.signal import SIGNAL_TESTS, detectable_accuracy
from lossgap.diagnosis.causes.unstable_gradients import loop_zeroes_gradients
from lossgap.diagnosis.causes.unstable_records import train_records_only
from lossgap.diagnosis.evidence import MIN_TREND_EPOCHS, RunEvidence
from lossgap.diagnosis.learning_state import val_could_show
from lossgap.diagnosis.split_checks import mix_clause, split_warnings, val_inputs_differ

#: Epochs a run needs before the rules can see a trend; a shorter run is neither faulted nor called healthy
#: unless a rule finds something it can show from so few (a non-finite loss, a class never predicted).
MIN_JUDGED_EPOCHS = MIN_TREND_EPOCHS
#: Most "nothing found" may be sure of itself when the model learned nothing that shows on val (see learned_little):
#: no rule named a fault,
#: but nothing says the run is fine either (an ArrowHead LSTM-FCN with 40% of its labels flipped, val accuracy 0.43
#: against a majority share of 0.38, had read "No problem found" 0.87).
LEARNED_LITTLE_CAP = 0.5
#: Share of its training samples wrong (balanced for a class-weighted run) at the delivered epoch from which "nothing
#: found" is not "No problem found": a model that far from fitting its training set may be at the task's own ceiling
#: or held back by something no rule names, and the curves cannot tell which (trials 17 and 18: "No problem found"
#: 0.55-0.70 at train 0.43-0.76, on tasks where a working model or another rate reaches val 0.97-1.00).
UNFITTED_SHARE = 0.2
#: ``headline``'s "not given" (None is a value there: the model is not far from fitting).
_UNSET = object()
#: Val splits smaller than this get a note (one sample is several points of accuracy); on them a val accuracy not
#: significantly above the majority share may be all the split can show (see signal_unshown).
SMALL_VAL = 30


def headline(findings, explanations, evidence: RunEvidence, healthy_confidence: float, *,
             learned: bool | None = None, unshown: bool | None = None, lost: bool | None = None,
             val_doubt: bool = False, unfitted: float | None | object = _UNSET) -> str:
    """The diagnosis's first line, after a warning when val was recorded with the model in training mode.
    ``learned``, ``unshown`` and ``lost`` are :func:`learned_little`, :func:`signal_unshown` and
    :func:`delivered_lost_it` of ``evidence`` when the caller has them already (computed when None); ``val_doubt``: a
    rule read something on a val whose inputs look unlike train's (see the engine). A run the model stays far from
    fitting reads "No cause found" where nothing was found and nothing explains the curves (``unfitted``:
    :func:`unexplained_unfitted_share`, computed when not given)."""
    train_mode = val_train_mode_epochs(evidence)
    warning = (f"Val was recorded with the model in training mode in {train_mode} of {evidence.num_epochs} epochs "
               "(call model.eval() before the val pass); read with that in mind: ") if train_mode else ""
    warning += unzeroed_warning(evidence) + split_warnings(evidence)
    little = learned_little(evidence) if learned is None else learned
    unshown = signal_unshown(evidence, little=little) if unshown is None else unshown
    lost = delivered_lost_it(evidence) if lost is None else lost
    if unfitted is _UNSET:
        unfitted = unexplained_unfitted_share(findings, explanations, evidence)
    return warning + _verdict_headline(findings, explanations, evidence, healthy_confidence, little, unshown, lost,
                                       val_doubt, unfitted)


def unzeroed_warning(evidence: RunEvidence) -> str:
    """A warning for the headline when a loop not known to zero its gradients saw its total gradient norm grow as a sum
    of unzeroed gradients does (:attr:`GradientHealth.growing`), else "": an own GRU at Adam without
    optimizer.zero_grad(), its gradient norm 4.1 -> 30.5 while its train loss fell to 0.014, had read overfitting 1.00
    with nothing on the loop (trial 19); the same loop with zero_grad() reaches test 0.992 against 0.969."""
    gradients = evidence.gradients
    if gradients is None or not getattr(gradients, "growing", False) or loop_zeroes_gradients(evidence):
        return ""
    growth = gradient_growth(gradients.total_grad_norm[gradients.observed])
    if growth is None:
        return ""
    return (f"The gradients look never zeroed: their total norm grew from {growth.first:.3g} to {growth.last:.3g} "
            f"(rising in {growth.rose:.0%} of the epochs), as a sum of the gradients of every step does; "
            "check that optimizer.zero_grad() runs in every training step, before loss.backward(); read with that in "
            "mind: ")


def val_train_mode_epochs(evidence: RunEvidence) -> int:
    """Epochs whose val batches an own loop recorded with dropout or batch norm in training mode (0: none)."""
    counts = ((evidence.settings or {}).get("evaluation") or {}).get("train_mode_epochs") or {}
    return int(counts.get("val") or 0)


def _verdict_headline(findings, explanations, evidence: RunEvidence, healthy_confidence: float,
                      little: bool, unshown: bool, lost: bool, val_doubt: bool, unfitted: float | None) -> str:
    from lossgap.diagnosis.causes import CAUSES

    signal = evidence.signal
    if not findings and evidence.num_epochs < MIN_JUDGED_EPOCHS:
        return (f"Too short to judge: {evidence.num_epochs} epoch{'s' if evidence.num_epochs > 1 else ''} "
                f"(val accuracy {signal.accuracy:.3f} at epoch {evidence.best_epoch}, majority baseline "
                f"{signal.baseline_accuracy:.3f}); the rules need at least {MIN_JUDGED_EPOCHS} epochs to see a "
                "trend: train longer.")
    if not findings:
        # A loop that keeps its last epoch's weights has that epoch's model, not the best one's (an own loop's
        # "0.836 at epoch 56" was a lucky epoch of a curve that ended at 0.724).
        delivered = evidence.delivered_epoch
        last = (f"; {evidence.curves.val_accuracy[delivered - 1]:.3f} at epoch {delivered}, the last"
                if delivered != evidence.best_epoch and np.isfinite(evidence.curves.val_accuracy[delivered - 1])
                and delivered == evidence.num_epochs else "")
        if unshown:
            return _unshown_headline(evidence, healthy_confidence, last)
        if lost:
            at_end = float(evidence.curves.val_accuracy[delivered - 1])
            return (f"No cause found ({healthy_confidence:.2f}): val accuracy {signal.accuracy:.3f} at epoch "
                    f"{evidence.best_epoch} (majority baseline {signal.baseline_accuracy:.3f}), but the model the run "
                    f"delivers, epoch {delivered}'s, is back at {at_end:.3f}, within two noise units of that baseline: "
                    "it kept little of what it had learned, and no rule here names why; the causes considered below "
                    "are the candidates.")
        if val_doubt and not little:
            # "No problem found" had stood under the warning that val's inputs differ (ItalyPowerDemand shifted 1
            # standard deviation, val 0.905 -> 0.660; prepared as train, 0.975).
            at_end = f"{last[2:]}; " if last else ""
            return (f"No cause found ({healthy_confidence:.2f}): val accuracy {signal.accuracy:.3f} at epoch "
                    f"{evidence.best_epoch} ({at_end}majority baseline {signal.baseline_accuracy:.3f}), but val's "
                    "inputs look unlike train's (above): until val is prepared as train, its figures measure that "
                    "difference too, and no rule can tell a fault from it; the causes considered below are the "
                    "candidates.")
        if little:
            weighted = ("" if evidence.class_weights is None else
                        f", nor is its balanced accuracy ({_balanced_at_best(evidence):.3f}, what its class-weighted "
                        "loss aims at) at any epoch significantly above chance")
            return (f"No cause found ({healthy_confidence:.2f}): val accuracy {signal.accuracy:.3f} at epoch "
                    f"{evidence.best_epoch}" + (f" ({last[2:]})" if last else "") + " is not significantly above the "
                    f"majority baseline {signal.baseline_accuracy:.3f}{weighted}: the model learned little that "
                    "carries over to val, and " + _why_unknown(evidence)
                    + "; the causes considered below are the candidates.")
        if unfitted is not None:
            return (f"No cause found ({healthy_confidence:.2f}): val accuracy {signal.accuracy:.3f} at epoch "
                    f"{evidence.best_epoch} (majority baseline {signal.baseline_accuracy:.3f}{last}"
                    f"{_weighted_clause(evidence)}), but the model gets {unfitted:.0%} of its own training samples "
                    f"wrong at epoch {delivered}: no rule here tells whether that is the task's own ceiling or "
                    "something holding the model back (a larger model, more epochs or another learning rate is the "
                    "test); the causes considered below are the candidates.")
        # Its confidence as the main cause's is given: a 0.51 and a 0.95 must not read alike.
        text = (f"No problem found ({healthy_confidence:.2f}): val accuracy {signal.accuracy:.3f} at epoch "
                f"{evidence.best_epoch} (majority baseline {signal.baseline_accuracy:.3f}{last}{mix_clause(evidence)}"
                f"{_weighted_clause(evidence)})")
        if explanations:
            return text + f"; the curves are explained by {explanations[0].cause}: {CAUSES[explanations[0].cause]}."
        return text + "; loss and accuracy tell the same story."
    main = findings[0]
    others = ", ".join(v.cause for v in findings[1:])
    # A verdict may name its own form of the cause (``evidence["title"]``) where the general title would
    # contradict its sentence.
    title = main.evidence.get("title") or CAUSES[main.cause]
    return (f"Main cause: {main.cause} ({main.confidence:.2f}) - {title}"
            + (f". Also: {others}." if others else "."))


def _unshown_headline(evidence: RunEvidence, healthy_confidence: float, last: str) -> str:
    """"No cause found" for a val split too small to show whether the model learned anything (see signal_unshown),
    with what train shows instead: an ArrowHead LSTM 60% right on its training set at the end, val 0.667 then 0.167 on
    6 samples, had read "No problem found"."""
    signal = evidence.signal
    detectable = detectable_accuracy(signal.num_samples, signal.baseline_accuracy, signal.alpha / SIGNAL_TESTS)
    needed = (f"only {int(np.ceil(detectable * signal.num_samples - 1e-9))} right of {signal.num_samples} would have "
              "been" if np.isfinite(detectable) else "no accuracy would have been")
    text = (f"No cause found ({healthy_confidence:.2f}): val accuracy {signal.accuracy:.3f} at epoch "
            f"{evidence.best_epoch}" + (f" ({last[2:]})" if last else "") + f" on {signal.num_samples} val samples is "
            f"not significantly above the majority baseline {signal.baseline_accuracy:.3f}, and {needed}: val is too "
            "small to show whether the model learned anything that carries over")
    curves = evidence.curves
    best, delivered = evidence.fit.train_accuracy_max, evidence.delivered_epoch
    if evidence.fit.train_recorded and np.isfinite(best):
        at_end = float(curves.train_accuracy[delivered - 1])
        text += f"; on train it got {best:.0%} right at best" + (
            f" ({at_end:.0%} at epoch {delivered}, the last)" if delivered == evidence.num_epochs
            and np.isfinite(at_end) and round(at_end, 2) != round(best, 2) else "")
    return text + "; record a larger val split to judge the run."


def _why_unknown(evidence: RunEvidence) -> str:
    """Why no rule can tell what held a model that learned little back: val's inputs unlike train's, or a first
    training pass that predicted train above chance (the labels carry signal, so val differs from train), or nothing
    the curves show."""
    if val_inputs_differ(evidence):
        return ("val's inputs look unlike train's (above): until val is prepared as train, no rule can tell whether the "
                "labels carry signal")
    lead = evidence.first_pass_lead
    if lead is not None:
        return (f"yet in its first epoch, before it had trained on them, it got {lead[0]:.3f} of its training samples "
                f"right against a majority share of {lead[1]:.3f}: the labels carry signal, so val differs from train "
                "(prepared, scaled or labelled otherwise): check how val was prepared and labelled first")
    return "no rule can tell why from these curves"


def _weighted_clause(evidence: RunEvidence) -> str:
    """"; balanced accuracy 0.982, what its class-weighted loss aims at" for a class-weighted run ("" otherwise): a
    95/5 run weighted to lift the rare class had been judged by plain accuracy against the majority share only."""
    if evidence.class_weights is None:
        return ""
    return f"; balanced accuracy {_balanced_at_best(evidence):.3f}, what its class-weighted loss aims at"


def _balanced_at_best(evidence: RunEvidence) -> float:
    """Val balanced accuracy at the run's best epoch (fraction)."""
    return float(evidence.val_per_class.balanced_accuracy[evidence.best_epoch - 1])


def signal_unshown(evidence: RunEvidence, *, little: bool | None = None) -> bool:
    """True when a val split cannot show what the model learned: its val accuracy not significantly above the majority
    share, its val loss not clearly below the prior's entropy, and the split too small for :func:`learned_little` to
    say that nothing was learned (``little``, when the caller has it). Usually a split under SMALL_VAL samples; at
    SMALL_VAL or a little more, one whose accuracy half-way to 1 would still not test significant (a 300-step LSTM at
    val 0.533 on 30 samples, the majority share, had read "No problem found" 0.54; test 0.435)."""
    signal = evidence.signal
    little = learned_little(evidence) if little is None else little
    # A class-weighted run aims at balanced accuracy, and trades plain accuracy for it: a balanced accuracy
    # significantly above chance shows what it learned (trial 16's weighted runs on 8%-rare data, val 300 samples and
    # balanced accuracy 0.77-0.87, had read "val is too small to show whether the model learned anything").
    weighted_shown = evidence.class_weights is not None and evidence.balanced_signal_p < signal.alpha
    return not (signal.p_value < signal.alpha or evidence.loss_clearly_below_prior or weighted_shown) and not little



def delivered_lost_it(evidence: RunEvidence) -> bool:
    """True when the best epoch's val accuracy is significantly above the majority baseline but the epoch the run
    delivers (another one) is back within two noise units of it: the model the user gets has lost what it learned (a
    2-layer LSTM at dropout 0.5, val 0.428 at epoch 10 against a baseline of 0.270 and 0.272 at its last, delivered,
    epoch, had read "No problem found" 0.55)."""
    signal, delivered = evidence.signal, evidence.delivered_epoch
    if delivered == evidence.best_epoch or not signal.p_value < signal.alpha:
        return False
    at_end = float(evidence.curves.val_accuracy[delivered - 1])
    noise = float(accuracy_noise(signal.baseline_accuracy, signal.num_samples))
    return bool(np.isfinite(at_end) and at_end - signal.baseline_accuracy < 2 * noise)

def unexplained_unfitted_share(findings, explanations, evidence: RunEvidence) -> float | None:
    """:func:`unfitted_share` where no rule found a cause and no explanation stands, else None. Not under an
    explanation: confidence refinement is a model at its level growing surer of what it gets right, which is the
    article's answer to a plateau."""
    return None if findings or explanations else unfitted_share(evidence)


def unfitted_share(evidence: RunEvidence) -> float | None:
    """The share of its training samples the delivered model gets wrong (1 - balanced train accuracy for a
    class-weighted run), when it is UNFITTED_SHARE or more; None below it or without recorded train accuracy."""
    accuracy = float(evidence.stability_loss[2][evidence.delivered_epoch - 1])
    if not (evidence.fit.train_recorded and np.isfinite(accuracy)) or 1.0 - accuracy < UNFITTED_SHARE:
        return None
    # Train records taken on mixed or augmented inputs (they bounce while val falls smoothly far below them) are not
    # the model's fit: a trial's healthy mixup loop at val 0.981, 61% "wrong" on its mixed batches, had read "No cause
    # found ... the model gets 61% of its own training samples wrong".
    if train_records_only(evidence) is not None:
        return None
    return 1.0 - accuracy


def learned_little(evidence: RunEvidence) -> bool:
    """True when nothing the model learned shows on a val split that could have shown it: its val accuracy not
    significantly above the majority share, its val loss not clearly below the prior's entropy, and the split large
    enough that an accuracy half-way from that share to 1 would have been significant (on 10 val samples only 10
    right are; a GunPoint model at val 0.900 there has not "learned little")."""
    signal = evidence.signal
    if signal.p_value < signal.alpha or evidence.loss_clearly_below_prior:
        return False
    # A class-weighted run aims at balanced accuracy: where no epoch's is significantly above chance either, on a
    # split of SMALL_VAL or more, it learned little whatever its plain accuracy's majority share (85/15 data on random
    # labels, weighted, balanced accuracy 0.500, had read "No problem found" 0.60).
    # Where too few val samples of all but one class leave no balanced test (NaN), plain accuracy is all val shows:
    # a trial's weighted GRU with 3 val samples per rare class had read "learned little" from the untestable balanced
    # accuracy.
    balanced_p = evidence.balanced_signal_p
    if evidence.class_weights is not None and signal.num_samples >= SMALL_VAL and np.isfinite(balanced_p):
        return not balanced_p < signal.alpha
    return val_could_show(evidence)
