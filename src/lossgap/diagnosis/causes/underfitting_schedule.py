"""underfitting's ``frozen_schedule`` form: a learning-rate schedule brought the rate to almost nothing while the
model was still learning, so the weights stopped moving short of a fit.

The capacity form reads a model that levels off far from fitting as too small or too regularised; when the rate
that moves the weights has vanished, the level is where the schedule froze it, and growing the model changes
nothing (an own loop whose cosine schedule reached 0 at epoch 5 of 30, train accuracy 0.76 from then on, had been
told "too small", grow 32 -> 64; the same model with its StepLR lengthened from 2 to 15 epochs reached test 0.959
against 0.827).
"""

from __future__ import annotations

import numpy as np

from lossgap.diagnosis.constraints import rate_and_range
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import val_shows_learning
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import present
from lossgap.diagnosis.verdict import Verdict
from lossgap.diagnosis.wording import pct

#: A rate at or below this share of the run's largest has vanished.
VANISHED_SHARE = 0.01
#: Without a recorded rate per epoch, the described one (read when the loop described its optimizer, usually at the
#: end) has vanished when it is 0 or below the bottom of its optimizer family's usual range over this factor.
VANISHED_BELOW_RANGE = 1000.0
#: The train loss counts as still learning when the rate vanished if it fell by this share of the prior's entropy
#: or more over the epochs just before (a reduce-on-plateau schedule lowers the rate because the loss has stopped
#: falling: its small rate is the consequence of a level, not its cause).
STILL_LEARNING_FALL = 0.05
#: ... over this many epochs before the rate vanished.
FALL_EPOCHS = 3
#: Share of the run within which a rate that vanished before the model learned anything was frozen by its schedule.
EARLY_SHARE = 0.2
#: Confidence of the form: the rate is a setting, read from the run.
CONFIDENCE = 0.85
#: Factor on it when the model fitted its training set while nothing it learned shows on val: the schedule froze a
#: memorisation, and a longer one would fit more of train without helping val (trial 22: a Transformer on shuffled
#: labels, its cosine schedule at 0 by the end and train accuracy 0.76, read no signal 0.95 "Also: underfitting 0.85,
#: lengthen the learning-rate schedule").
MEMORISED_FACTOR = 0.3
#: The train loss has not moved since the rate vanished when its range stays within FROZEN_RANGE of the prior's entropy,
#: or, where a training pass's batches make it jitter (batch norm's batch statistics, dropout), its first and last
#: thirds' medians stay within FROZEN_RANGE of each other and its range within FROZEN_JITTER (trial 21: a Lightning CNN
#: with batch norm, its rate taken to 3e-9 by epoch 8 by a reduce-on-plateau watching accuracy in "min" mode, its
#: training-pass loss 1.363-1.390 ever since, had read "No problem found" 0.63; without the schedule, test 0.973
#: against 0.859).
FROZEN_RANGE, FROZEN_JITTER = 0.01, 0.05
#: A rate that climbs back from at most RESTART_LOW of the run's largest to at least RESTART_HIGH of it restarts; at
#: least RESTARTS of them, RESTART_PERIOD epochs apart or less on average, are a schedule cycling far faster than any
#: run is planned for (a cosine schedule stepped every batch with its period counted in epochs: a Lightning run's rate
#: went to ~0 every 3 epochs, and it read "too small, grow 32 -> 64", where the same schedule stepped per epoch reached
#: val 0.907 against 0.66). Warm restarts planned in epochs come 10 or more epochs apart.
RESTART_LOW, RESTART_HIGH, RESTARTS, RESTART_PERIOD = 0.1, 0.5, 3, 5.0
#: Confidence of the cycling form.
CYCLING_CONFIDENCE = 0.75


def vanished_rate(evidence: RunEvidence) -> dict | None:
    """When the run's learning rate vanished: {"epoch" (first epoch at or below VANISHED_SHARE of the largest rate,
    staying there; None when only the described rate is known), "rate" (the last one), "largest" (None likewise),
    "at_epoch" (the rate in that epoch; only with a recorded rate)},
    else None. From the recorded per-epoch rate (metrics.csv's ``lr``) when there is one, else from the described
    optimizer's rate."""
    curve = evidence.curves.lr
    rates = None if curve is None else np.asarray(curve, dtype=np.float64)
    if rates is not None and np.isfinite(rates).sum() >= 2:
        largest = float(np.nanmax(rates))
        low = np.where(np.isfinite(rates), rates <= VANISHED_SHARE * largest, True)
        if not largest > 0 or not low[-1]:
            return None
        # The first epoch of the run's last stretch at the vanished rate.
        epoch = len(low) - int(np.argmin(low[::-1])) + 1 if not low.all() else 1
        return {"epoch": epoch, "rate": float(rates[np.isfinite(rates)][-1]), "largest": largest,
                "at_epoch": float(rates[epoch - 1])}
    _, rate, (bottom, _) = rate_and_range(evidence.settings)
    optimizer = (evidence.settings or {}).get("optimizer") or {}
    if optimizer.get("lr") is None or not bottom or rate > bottom / VANISHED_BELOW_RANGE:
        return None
    return {"epoch": None, "rate": rate, "largest": None}


def _froze_before_learning(evidence: RunEvidence, vanished: dict) -> bool:
    """True when a recorded rate that started at or above its optimizer family's usual range vanished within the run's
    first EARLY_SHARE (and by epoch FALL_EPOCHS + 2 at the least) while the model never left the prior: too early for
    a reduce-on-plateau schedule, which lowers the rate a step per patience window, to have got there."""
    _, _, (bottom, _) = rate_and_range(evidence.settings)
    early = vanished["epoch"] <= max(FALL_EPOCHS + 2, EARLY_SHARE * evidence.num_epochs)
    return bool(bottom) and vanished["largest"] >= bottom and early and not evidence.fit.train_moved


def _fast_cut(evidence: RunEvidence, epoch: int) -> int | None:
    """The 1-based first epoch of the rate's uninterrupted fall that reached the vanished rate at ``epoch``, when that
    fall took FALL_EPOCHS + 1 epochs or fewer; else None."""
    rates = np.asarray(evidence.curves.lr, dtype=np.float64)
    start = epoch - 1
    while start > 0 and np.isfinite(rates[start - 1]) and rates[start - 1] > rates[start]:
        start -= 1
    first_cut = start + 2   # start is the 0-based epoch still at the rate the fall began from
    return first_cut if first_cut <= epoch and epoch - first_cut <= FALL_EPOCHS else None


def _unmoved(after: np.ndarray, prior: float) -> bool:
    """True when the train loss ``after`` (per epoch, since the rate vanished) has not moved: see FROZEN_RANGE."""
    if not np.isfinite(after).all():
        return False
    spread = float(np.max(after) - np.min(after))
    if spread <= FROZEN_RANGE * prior:
        return True
    third = max(1, len(after) // 3)
    drift = abs(float(np.median(after[:third]) - np.median(after[-third:])))
    return len(after) >= 3 and drift <= FROZEN_RANGE * prior and spread <= FROZEN_JITTER * prior


def frozen_schedule(evidence: RunEvidence, book: RemedyBook, facts: dict) -> Verdict | None:
    """The frozen-schedule verdict, or None: the learning rate vanished (:func:`vanished_rate`) while the train loss
    was still falling (STILL_LEARNING_FALL of the prior's entropy over the FALL_EPOCHS before; without a recorded
    rate, the train loss lay flat in the run's second half, after falling that much in its first or below a rate a
    torch scheduler started from: the weights no longer move), and the model the run delivers gets more of its
    training samples wrong than 3% and two samples' worth."""
    vanished = vanished_rate(evidence)
    if vanished is None:
        return None
    train_loss = evidence.curves.train_loss
    prior = evidence.fit.prior_entropy
    epoch = vanished["epoch"]
    unbegun = False
    if epoch is not None:
        if epoch >= evidence.num_epochs or epoch <= 1:
            return None
        before = train_loss[max(0, epoch - 1 - FALL_EPOCHS):epoch]
        # A rate cut to nothing within a few epochs froze the model where the cut began: the window is read before it
        # (trial 21: a Lightning GRU whose reduce-on-plateau took 0.003 to 3e-9 tenfold per epoch from epoch 3, its
        # train loss 2.199 -> 2.070 over epochs 1-3 and 2.056 ever since, had read "raise the learning rate 3e-09 ->
        # 0.001"); a schedule that decays over the run, or steps down after a level, is read as before.
        cut = _fast_cut(evidence, epoch)
        if cut is not None and not float(before[0] - before[-1]) >= STILL_LEARNING_FALL * prior:
            before = train_loss[max(0, cut - 1 - FALL_EPOCHS):cut]
        if not before.size or not float(before[0] - before[-1]) >= STILL_LEARNING_FALL * prior:
            # Or the schedule took a useful rate to nothing before the model learned anything: a Lightning StepLR
            # stepped every batch (0.005 -> 4e-5 by epoch 5) had read "raise the learning rate 3e-10 -> 0.001".
            unbegun = _froze_before_learning(evidence, vanished)
            if not unbegun:
                return None
        after = train_loss[epoch - 1:]
    else:
        after = train_loss[len(train_loss) // 2:]
        # A rate that was that small from the start froze nothing: the model never learned (an own loop at lr 0 or
        # 1e-7 without any scheduler had read "the learning-rate schedule stopped the model learning", its fix
        # "lengthen the schedule"). The no_fit form names such a rate, or outputs that never changed.
        # Unless a torch scheduler took the rate down from where it began (the described ``initial_lr``): a StepLR of
        # gamma 0.05 per epoch leaves the model at the prior, and the schedule is still what froze it.
        started = ((evidence.settings or {}).get("optimizer") or {}).get("initial_lr")
        scheduled = started is not None and float(started) > vanished["rate"] * VANISHED_BELOW_RANGE
        first = train_loss[:len(train_loss) // 2 + 1]
        learned = np.isfinite(first).all() and float(first[0] - np.min(first)) >= STILL_LEARNING_FALL * prior
        if evidence.outputs_unchanged or not (scheduled or learned):
            return None
    if not _unmoved(after, prior):
        return None
    train_error = _short_of_fit(evidence)
    if train_error is None:
        return None
    # The rate in the epoch it vanished, and where it ended when it went on falling ("by epoch 5 ... to 3e-09" had been
    # said of a rate at 3e-06 in epoch 5 and 3e-09 from epoch 8).
    then = vanished.get("at_epoch", vanished["rate"])
    ended = f"; {vanished['rate']:.3g} at the end" if f"{then:.3g}" != f"{vanished['rate']:.3g}" else ""
    when = (f"by epoch {epoch} the schedule had brought the learning rate to {then:.3g} (from "
            f"{vanished['largest']:.3g}{ended}) " + ("before the model had learned anything" if unbegun
                                               else "while the train loss was still falling")
            + f", and the train loss has not moved since ({float(after[0]):.3f} -> {float(after[-1]):.3f})"
            if epoch is not None
            else f"the learning rate ended at {vanished['rate']:.3g}, far below any useful step, and the train loss "
                 f"did not move over the second half of the run ({float(after[0]):.3f} -> {float(after[-1]):.3f})")
    summary = (f"{when}: the model stopped learning where the schedule froze it, getting {pct(train_error)} of its "
               f"training samples wrong at epoch {evidence.delivered_epoch}; the schedule, not the model's size, ended "
               "the learning")
    memorised = not unbegun and evidence.objective_fit.train_moved and not val_shows_learning(evidence)
    if memorised:
        summary += ("; but nothing it learned shows on val, so a longer schedule would fit more of its training set "
                    "without helping val")
    details = {**facts, "form": "frozen_schedule", "vanished_epoch": epoch, "vanished_rate": vanished["rate"],
               "memorised": memorised,
               "largest_rate": vanished["largest"], "title": "the learning-rate schedule stopped the model learning "
               "before it fitted its training set"}
    remedies = present(book.advice("longer_schedule", "lengthen the learning-rate schedule (or drop it) so the rate "
                                   "stays useful while the model is still learning"),
                       book.more_epochs(evidence.num_epochs))
    return Verdict("underfitting", CONFIDENCE * (MEMORISED_FACTOR if memorised else 1.0), summary, details, remedies)


def _short_of_fit(evidence: RunEvidence) -> float | None:
    """The share (0..1) of its training samples the model the run delivers gets wrong, or None when that is within its
    fitted floor: counted on the whole training set, so the floor alone applies (no sampling error)."""
    train_error = 1.0 - float(evidence.curves.train_accuracy[evidence.delivered_epoch - 1])
    return train_error if train_error > evidence.train_error_floor else None


def restarts(rates) -> list[int]:
    """1-based epochs at which a recorded per-epoch learning rate climbed back to RESTART_HIGH of the run's largest
    after falling to RESTART_LOW of it or below (see RESTART_LOW); [] without a recorded rate."""
    if rates is None:
        return []
    rates = np.asarray(rates, dtype=np.float64)
    finite = np.isfinite(rates)
    if finite.sum() < 2 or not np.nanmax(rates) > 0:
        return []
    largest = float(np.nanmax(rates))
    epochs, low = [], False
    for epoch, rate in enumerate(rates, start=1):
        if not np.isfinite(rate):
            continue
        if rate <= RESTART_LOW * largest:
            low = True
        elif rate >= RESTART_HIGH * largest and low:
            epochs.append(epoch)
            low = False
    return epochs


def cycling_schedule(evidence: RunEvidence, book: RemedyBook, facts: dict) -> Verdict | None:
    """The cycling-schedule verdict, or None: the recorded learning rate restarted (:func:`restarts`) at least
    RESTARTS times, RESTART_PERIOD epochs apart or less on average, and the model the run delivers gets more of its
    training samples wrong than its fitted floor: its rate spent much of the run near zero and threw the progress of
    each cycle back at the next."""
    climbs = restarts(evidence.curves.lr)
    if len(climbs) < RESTARTS or (climbs[-1] - climbs[0]) / (len(climbs) - 1) > RESTART_PERIOD:
        return None
    train_error = _short_of_fit(evidence)
    if train_error is None:
        return None
    rates = np.asarray(evidence.curves.lr, dtype=np.float64)
    shown = ", ".join(str(epoch) for epoch in climbs[:6]) + (", ..." if len(climbs) > 6 else "")
    summary = (f"the learning rate fell to {np.nanmin(rates):.3g} and climbed back to its top {np.nanmax(rates):.3g} "
               f"{len(climbs)} times (epochs {shown}): a schedule cycling every few epochs, as a cosine or one-cycle "
               "schedule stepped every batch with its period counted in epochs does, spends much of the run at a rate "
               f"too small to learn; the model gets {pct(train_error)} of its training samples wrong at epoch "
               f"{evidence.delivered_epoch}, and the schedule, not the model's size, holds it there")
    details = {**facts, "form": "cycling_schedule", "restart_epochs": climbs, "title": "the learning-rate schedule "
               "cycles every few epochs, which keeps the model from fitting its training set"}
    remedies = present(book.advice("check_schedule_step", "check where the scheduler steps: a period counted in "
                                   "epochs needs scheduler.step() once per epoch, or give it the number of steps"))
    return Verdict("underfitting", CYCLING_CONFIDENCE, summary, details, remedies)
