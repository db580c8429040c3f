"""Diagnose a run: gather the evidence, apply every cause's rule, discount what deeper causes explain,
calibrate, rank, keep the remedies consistent, say what cannot be shown."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace

import numpy as np

from lossgap.plain import to_plain
from lossgap.diagnosis.calibration import calibrate
from lossgap.diagnosis.causes import REGISTRY
from lossgap.diagnosis.causes.class_imbalance_bias import unresolved_rare_classes, unresolved_rare_note
from lossgap.diagnosis.constraints import fast_learning_rate
from lossgap.diagnosis.evidence import RunEvidence, gather_evidence
from lossgap.diagnosis.split_checks import split_notes
from lossgap.diagnosis.headline import (LEARNED_LITTLE_CAP, MIN_JUDGED_EPOCHS, SMALL_VAL, delivered_lost_it, headline,
                                         learned_little, signal_unshown, unexplained_unfitted_share,
                                         val_train_mode_epochs)
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy_choice import consistent_remedies, offer_more_data
from lossgap.diagnosis.verdict import CONSIDERED_SHOWN, REPORT_THRESHOLD, Diagnosis, Verdict
from lossgap.errors import RunDirError
from lossgap.run.rundir import RunRecord, continue_advice

#: "No problem found" is at most this sure on val splits under SMALL_VAL samples.
SMALL_VAL_HEALTHY_CAP = 0.7
#: ... and at most this sure where rare classes have too few val samples to show a lean (unresolved_rare_classes): of
#: the trials' runs that read "No problem found" so, about 3 in 10 were right (trial 24: ItalyPowerDemand at 34:4, one
#: rare val sample, read 0.70 twice with the rare class recalled 0.70 on test against 0.99; a 5:1 GRU read 0.55).
THIN_RARE_HEALTHY_CAP = 0.55
_ORDER = {cause.code: rank for rank, cause in enumerate(REGISTRY)}
_KIND = {cause.code: cause.kind for cause in REGISTRY}
for _cause in REGISTRY:  # the registry is a DAG in its own order: a cause only explains later ones
    assert all(_ORDER[code] > _ORDER[_cause.code] for code in _cause.explains), _cause.code


def diagnose_run(record: RunRecord, *, split: str = "val") -> Diagnosis:
    """The diagnosis of a run read back from its directory, with its permuted-label control run
    (``RUN/control``) when it has one."""
    from lossgap.run.rundir import CONTROL_DIR, holds_run, read_run

    control_path = record.path / CONTROL_DIR
    control = read_run(control_path) if holds_run(control_path) else None
    return diagnose_record(record, split=split, control=control)


def diagnose_record(record: RunRecord, *, split: str = "val", control: RunRecord | None = None) -> Diagnosis:
    """The diagnosis of a run read back from its directory (and of its permuted-label control, if any)."""
    if "val" not in record.dynamics:
        raise RunDirError(f"{record.path} has no recorded validation split; record one (recorder.update('val', ...)) "
                          "so causes can be told apart")
    if split not in record.dynamics:
        raise RunDirError(f"{record.path} has no '{split}' split; choose one of {', '.join(record.dynamics)}")
    control_accuracy = None
    if control is not None and "val" in control.dynamics:
        control_val = control.dynamics["val"]
        best = int(np.nanargmin(control_val.epoch_loss())) + 1
        control_accuracy = float(control_val.epoch_accuracy()[best - 1])
    # The analyses treat NaN (a diverged run, an unseen sample) on purpose; numpy's warnings about all-NaN
    # slices would only clutter the user's terminal.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        evidence = gather_evidence(record.metrics, record.dynamics, train_config=record.config.get("train"),
                                   settings=record.settings, focus_split=split,
                                   control_val_accuracy=control_accuracy, summary=record.summary,
                                   gradients=gradient_health_of(record),
                                   sequence_length=(record.config.get("data") or {}).get("max_length"),
                                   shared_inputs=(record.config.get("data") or {}).get("shared_inputs"),
                                   input_shift=(record.config.get("data") or {}).get("input_shift"),
                                   length_shortcut=(record.config.get("data") or {}).get("length_shortcut"))
        diagnosis = diagnose_evidence(evidence, run=str(record.path), class_names=record.class_names,
                                      val_is_fixed=bool((record.config.get("data") or {}).get("val_is_fixed")),
                                      threads=(record.config.get("runtime") or {}).get("torch_threads"))
    ended = _ended_early(record)
    return replace(diagnosis, limitations=(*diagnosis.limitations, ended)) if ended else diagnosis


def _ended_early(record: RunRecord) -> str | None:
    """A note for a run that did not finish: a lossgap run killed (no summary.json) or stopped by Ctrl-C/SIGTERM,
    or an own-loop or Lightning fit marked interrupted (``"status": "interrupted"`` with ``epochs_planned``)."""
    train = record.config.get("train")
    status = record.summary.get("status") if record.summary else None
    if not train:
        return _own_loop_ended_early(record, status)
    planned = train.get("epochs")
    if status is None:
        how = "was killed"
    elif status == "interrupted":
        how = "was interrupted"
    else:
        return None
    if planned is not None and record.num_epochs >= planned:
        return (f"the run {how} after its last epoch ({record.num_epochs}) but before it wrote its summary; "
                f"{continue_advice(record.path, record.config)}")
    return (f"the run ended early: it {how} after epoch {record.num_epochs} of {planned}, so what came later is "
            f"unknown; {continue_advice(record.path, record.config)}")


def _own_loop_ended_early(record: RunRecord, status: str | None) -> str | None:
    """The note for an own-loop or Lightning run whose fit was interrupted before its planned epochs, or that was
    recovered from its epoch store after its loop stopped; None otherwise (a run saved by save_recorded_run after
    the loop ended says nothing of what was planned)."""
    if status == "recorded" and record.summary.get("recovered_from_store"):
        return (f"the run was saved from its epoch store (lossgap.recover_recorded_run) after {record.num_epochs} "
                "epochs, as after a loop that was killed: if the loop meant to train longer, what came later is "
                "unknown; record the run again to see it")
    if status != "interrupted":
        return None
    planned = record.summary.get("epochs_planned")
    if isinstance(planned, int) and record.num_epochs >= planned:
        return None  # stopped after its last planned epoch: nothing is missing
    stopped_by = record.summary.get("stopped_by")
    by = f" by {stopped_by}" if stopped_by else ""
    of = f" of {planned}" if isinstance(planned, int) else ""
    return (f"the run ended early: its fit was interrupted{by} after epoch {record.num_epochs}{of}, so what came "
            f"later is unknown; {continue_advice(record.path, record.config)}")


def gradient_health_of(record: RunRecord):
    """The run's GradientHealth when optimisation evidence was recorded (``optimization.csv``), else None.

    The train loss (which the vanishing judgement reads) is passed only when it covers the same epochs.
    """
    observations = getattr(record, "observations", None)
    if observations is None:
        return None
    from lossgap.analysis.gradients import gradient_health

    train_loss = record.metrics.get("train_loss")
    if train_loss is not None and train_loss.shape[0] != observations.num_epochs:
        train_loss = None
    return gradient_health(observations, train_loss=train_loss)


def diagnose_evidence(evidence: RunEvidence, *, run: str = "run", class_names: list[str] | None = None,
                      val_is_fixed: bool = False, threads: int | None = None) -> Diagnosis:
    """Apply every cause's rule to ``evidence`` and assemble the ranked :class:`Diagnosis`; ``class_names`` (the
    run's, by class index) are what the sentences call the classes; ``val_is_fixed`` (the data brought their own
    val split) and ``threads`` (the run's torch thread count) shape the remedies' commands."""
    if class_names is not None:
        evidence = replace(evidence, class_names=tuple(str(name) for name in class_names))
    book = RemedyBook(evidence.train_config, run, settings=evidence.settings, val_is_fixed=val_is_fixed,
                      threads=threads, val_loss=evidence.curves.val_loss)
    verdicts = _discount([cause.rule(evidence, book) for cause in REGISTRY])
    verdicts = [replace(verdict, confidence=calibrate(verdict.cause, verdict.confidence)) for verdict in verdicts]
    verdicts.sort(key=lambda verdict: (-round(verdict.confidence, 2), _ORDER[verdict.cause]))
    faults = [v for v in verdicts if _KIND[v.cause] == "fault"]
    findings = [v for v in faults if v.confidence >= REPORT_THRESHOLD]
    explanations = [v for v in verdicts if _KIND[v.cause] == "explanation" and v.confidence >= REPORT_THRESHOLD]
    considered = [v for v in verdicts if v not in findings and v not in explanations]
    findings, explanations, considered = consistent_remedies(findings, explanations, considered, book)
    explanations = offer_more_data(findings, explanations, evidence, book)
    general = evidence.generalization
    judgeable = evidence.num_epochs >= MIN_JUDGED_EPOCHS
    # A run too short to show a trend is not shown to be healthy either; nor surely on a val split where one
    # sample moves accuracy by several points (a BasicMotions GRU early-stopped on 8 val samples at train 0.72,
    # which reaches 0.85 on test without early stopping, had read "No problem found" 0.92).
    healthy_confidence = 1.0 - max((v.confidence for v in faults), default=0.0) if judgeable else 0.0
    if evidence.val.num_samples < SMALL_VAL:
        healthy_confidence = min(healthy_confidence, SMALL_VAL_HEALTHY_CAP)
    # Nor where rare classes have too few val samples to show a lean on the frequent ones, unless the lean was found
    # (an LSTM-FCN on 85/5/5/5 synthetic data, 3 val samples per rare class and 8 of the 9 right, had read "No problem
    # found" 0.75; 60 held-back samples of those classes were recalled 0.77, against 1.00 for the frequent class).
    thin_rare = ([] if any(verdict.cause == "class_imbalance_bias" for verdict in findings)
                 else unresolved_rare_classes(evidence))
    if thin_rare:
        healthy_confidence = min(healthy_confidence, THIN_RARE_HEALTHY_CAP)
    little = learned_little(evidence)
    unshown = signal_unshown(evidence, little=little)
    # Neither healthy nor faulted where val cannot show what the model learned, nor where a rule saw something on a
    # val whose inputs look unlike train's (ItalyPowerDemand with val shifted 1 standard deviation, val 0.905 -> 0.660,
    # had read "No problem found" 0.70 under the warning; prepared as train, 0.975). A model at val 1.000 on such a val
    # gives no rule anything to read, and stays "No problem found" under the warning.
    val_doubt = any(verdict.evidence.get("val_inputs_differ") and verdict.confidence > 0 for verdict in verdicts)
    lost = delivered_lost_it(evidence)
    unfitted = unexplained_unfitted_share(findings, explanations, evidence)
    no_cause_found = bool(little or unshown or val_doubt or lost or unfitted is not None)
    if no_cause_found:
        healthy_confidence = min(healthy_confidence, LEARNED_LITTLE_CAP)
    return Diagnosis(
        run=run, split=evidence.focus_split,
        headline=headline(findings, explanations, evidence, healthy_confidence, learned=little, unshown=unshown,
                          lost=lost, val_doubt=val_doubt, unfitted=unfitted),
        verdicts=tuple(map(_jsonable, findings)), considered=tuple(map(_jsonable, considered)),
        explanations=tuple(map(_jsonable, explanations)), healthy_confidence=healthy_confidence,
        judgeable=judgeable, best_epoch=evidence.best_epoch,
        plateaus=tuple(to_plain(p.to_dict()) for name in ("train", "val") for p in evidence.plateaus.get(name, ())),
        ledger=to_plain(evidence.focus_ledger.to_dict()) if evidence.focus_ledger is not None else None,
        ledger_sentence=evidence.ledger_sentence,
        overfitting={"onset_epoch": general.onset_epoch, "val_loss_min_epoch": evidence.val_loss_min_epoch,
                     "best_epoch": evidence.best_epoch, "early_stopping_epoch": general.early_stopping_epoch,
                     "strength": round(float(general.overfitting_strength), 3)},
        suspected_mislabeled=tuple(to_plain(list(evidence.suspects.sample_ids)) if evidence.suspects else ()),
        calibration=to_plain(_calibration_summary(evidence)),
        per_class=to_plain(_per_class_summary(evidence, class_names)),
        signal=to_plain(evidence.signal.to_dict()),
        limitations=_limitations(evidence, ungraded_named=any(v.evidence.get("ungraded_named") for v in findings),
                                 thin_rare=thin_rare,
                                 # A finding that already speaks of the rate (unstable weights, or a run stopped while
                                 # still improving at a rate far above range) needs no note repeating it.
                                 rate_named=any(v.cause == "unstable_optimization" or v.evidence.get("fast_learning_rate")
                                                for v in findings),
                                 rate_doubted=any(v.cause == "unstable_optimization" and v.confidence >= CONSIDERED_SHOWN
                                                  for v in considered)),
        extras={"fit": to_plain(evidence.fit.to_dict()), "learned_little": little, "signal_unshown": unshown,
                "val_inputs_differ": val_doubt, "no_cause_found": no_cause_found and not findings},
        evidence=evidence,
    )


def _discount(verdicts: list[Verdict]) -> list[Verdict]:
    """Lower each cause by the deeper causes that explain its evidence, in registry order.

    A cause's confidence is multiplied by (1 - c w(c)) for every earlier cause that explains it, c being that
    cause's own (already discounted) confidence and w(c) = clip((c - 0.25) / 0.5): unstable weights at 0.9
    leave a tenth of label noise, while a cause checked and found unlikely (c below 0.25) explains nothing
    away, so weak doubts do not compound. w is further multiplied by the explained verdict's
    ``explainable_share`` for that cause, when it gives one (overfitting: the share of the val loss's rise
    that the rare classes carry, all class imbalance can explain), and by the explainer's ``explains_share``
    for the explained cause (overfitting found as a train-val accuracy gap explains no refinement).
    """
    by_code = {verdict.cause: verdict for verdict in verdicts}
    for cause in REGISTRY:
        explainer = by_code[cause.code]
        for code in cause.explains:
            explained = by_code[code]
            weight = min(1.0, max(0.0, (explainer.confidence - 0.25) / 0.5))
            # A verdict may say how much of its evidence this explainer can account for at most, and an
            # explainer how much of the other's its own finding accounts for.
            weight *= float(explained.evidence.get("explainable_share", {}).get(cause.code, 1.0))
            weight *= float(explainer.evidence.get("explains_share", {}).get(code, 1.0))
            if weight > 0 and explained.confidence > 0:
                factor = 1.0 - explainer.confidence * weight
                by_code[code] = replace(explained, confidence=explained.confidence * factor,
                                        evidence={**explained.evidence, "explained_by": {
                                            **explained.evidence.get("explained_by", {}),
                                            cause.code: round(explainer.confidence, 3)}})
    return [by_code[cause.code] for cause in REGISTRY]


def _jsonable(verdict: Verdict) -> Verdict:
    return Verdict(verdict.cause, float(verdict.confidence), verdict.summary, to_plain(verdict.evidence),
                   verdict.remedies)


def _monitor_at_ceiling(evidence: RunEvidence) -> str | None:
    """A note when early stopping watched val accuracy, which reached 1.000 at the epoch it delivered and so could
    not improve again, while the val loss fell to under half that epoch's later on: the delivered model is an
    early one (6 val samples at 1.000 from epoch 6 kept epoch 6, val loss 0.274, where epoch 16 reached 0.011)."""
    stopping = (evidence.settings or {}).get("early_stopping") or {}
    delivered = evidence.delivered_epoch
    if stopping.get("monitor") != "val_accuracy" or delivered >= evidence.num_epochs:
        return None
    accuracy, loss = evidence.curves.val_accuracy, evidence.curves.val_loss
    later = loss[delivered:]
    if not (accuracy[delivered - 1] >= 1.0 and np.isfinite(later).any() and np.isfinite(loss[delivered - 1])):
        return None
    lowest = int(np.nanargmin(later)) + delivered + 1
    if not loss[lowest - 1] < 0.5 * loss[delivered - 1]:
        return None
    return (f"early stopping watched val accuracy, which reached 1.000 at epoch {delivered} and could not improve "
            f"on it, so epoch {delivered} was delivered (val loss {loss[delivered - 1]:.3f}) although the val loss "
            f"fell to {loss[lowest - 1]:.3f} by epoch {lowest}: with --monitor val_loss the later model is kept")


def _calibration_summary(evidence: RunEvidence) -> dict | None:
    calibration = evidence.val_calibration
    if calibration is None:
        return None
    out = {"ece": calibration.ece.tolist(), "best_epoch": calibration.best_epoch,
           "final_epoch": calibration.final_epoch, "loss_removed_share": calibration.loss_removed_share}
    for name in ("temperature_best", "temperature_final"):
        fit = getattr(calibration, name)
        out[name] = fit.to_dict() if fit is not None else None
    return out


def _per_class_summary(evidence: RunEvidence, class_names: list[str] | None) -> dict:
    per_class = evidence.val_per_class
    index = evidence.judged_epoch - 1
    names = class_names or [str(c) for c in range(len(per_class.support))]
    return {"epoch": evidence.judged_epoch, "class_names": names, "support": per_class.support.tolist(),
            "recall": per_class.recall[index].tolist(), "final_recall": per_class.recall[-1].tolist(),
            "balanced_accuracy": per_class.balanced_accuracy.tolist(),
            "predicted_share": per_class.predicted_share[index].tolist(), "true_share": per_class.true_share.tolist()}


def _limitations(evidence: RunEvidence, *, ungraded_named: bool = False, thin_rare: list[int] = (),
                 rate_named: bool = False, rate_doubted: bool = False) -> tuple[str, ...]:
    notes = []
    fast = "" if rate_named else fast_learning_rate(evidence.settings)
    if fast:
        # Trial 14's Adam 0.05 run read "No problem found" with nothing on its rate, 1.5 test points under Adam 0.003.
        # Beside unstable optimisation considered, "nothing here shows it hurting" contradicted that paragraph's
        # exploded gradients (trial 24: an LSTM-FCN at AdamW 0.3, test 0.930 against 0.970 at its usual rate).
        hurt = ("the signs of unstable optimisation above fall short of a finding" if rate_doubted
                else "nothing here shows it hurting this run")
        notes.append(f"{fast}; {hurt}, but a run at a rate within that range tells")
    control = evidence.control
    if control is not None:
        # Asked for by the user, so always reported, not only inside a no_signal sentence shown at 0.25 or more.
        outcome = ("the true labels carry signal the shuffled ones do not" if control.significant
                   else "not clearly better than shuffled labels: check that inputs and labels are aligned")
        notes.append(f"permuted-label control: val accuracy {control.control_accuracy:.3f} against "
                     f"{control.real_accuracy:.3f} with the true labels (one-sided Fisher test p={control.p_value:.2g} "
                     f"on {control.num_samples} samples): {outcome}")
    train_mode = val_train_mode_epochs(evidence)
    if train_mode:
        # First: every val figure below is a weakened, noisy model's (see lossgap.training.eval_mode).
        notes.append(f"val was recorded with the model in training mode (dropout or batch norm active) in "
                     f"{train_mode} of {evidence.num_epochs} epochs: its figures are those of a weakened, noisy "
                     "model, so val below train or jumping from epoch to epoch says little here; call model.eval() "
                     "before the val pass and record again")
    if evidence.num_epochs == 1:
        notes.append("one epoch only: trends (plateaus, overfitting, slopes, late learning) need several epochs; "
                     "only the signal test and the class balance are judged")
    elif evidence.num_epochs < 5:
        notes.append(f"{evidence.num_epochs} epochs only: plateaus need at least 5 epochs")
    ceiling = _monitor_at_ceiling(evidence)
    if ceiling:
        notes.append(ceiling)
    notes.extend(split_notes(evidence))
    ungraded = () if evidence.gradients is None else evidence.gradients.ungraded
    if ungraded and not ungraded_named:
        # Said where the model fits too: an own GRU stack detached after its first layer fitted with the second alone,
        # and nothing said its first layer never trained. Not where a finding's sentence already names the modules.
        notes.append(f"no gradient reached {', '.join(ungraded[:4])}{' and more' if len(ungraded) > 4 else ''} in any "
                     "epoch (their gradient hooks never ran): they keep their initial weights; check the forward pass "
                     "for a detach(), torch.no_grad() or a layer the loss does not use")
    if evidence.train is None:
        notes.append("no train split was recorded: suspected mislabeled samples cannot be found")
    if evidence.val.num_samples < SMALL_VAL:
        notes.append(f"{evidence.val.num_samples} val samples: one sample is {100 / evidence.val.num_samples:.1f} points "
                     "of accuracy, so only large effects can be told from noise")
    if thin_rare:
        notes.append(unresolved_rare_note(evidence, thin_rare))
    if evidence.val.logits is None:
        notes.append("val logits were not recorded: calibration cannot be measured")
    if not evidence.fit.train_recorded:
        # Train samples recorded with a NaN or infinite loss in every epoch were recorded: they never had a value.
        what = "no train loss was recorded" if evidence.train is None else "the train loss was never finite"
        notes.append(f"{what}: whether the model fitted its training set (the precondition of no_signal and "
                     "label_noise) cannot be checked")
    elif evidence.train is None:
        notes.append("train samples were not recorded, so whether the model fitted its training set is judged "
                     "from the curves alone")
    elif math.isnan(evidence.fit.moved_z):
        # Recorded, but the lowest-loss epoch saw fewer than two samples or had non-finite losses.
        notes.append(f"the train samples of epoch {evidence.fit.train_loss_min_epoch} (the lowest train loss) "
                     "cannot be tested against the prior, so whether the model fitted its training set is judged "
                     "from the curves alone")
    return tuple(notes)
