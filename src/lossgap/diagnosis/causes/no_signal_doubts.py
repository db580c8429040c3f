"""Doubts that keep no_signal low although train was fitted and val sits at chance: runs whose curves look like
shuffled labels' while the labels do carry signal. Each doubt caps the confidence, gives the verdict its own title
and clause, and puts the check that tells the two apart before the permuted-label control (which sits at chance in
these runs too, and so would seem to confirm what it cannot show)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.learning_state import ended_by_early_stopping, fitted_little, val_could_show
from lossgap.diagnosis.remedies import RemedyBook
from lossgap.diagnosis.remedy import Remedy, present
from lossgap.diagnosis.split_checks import val_inputs_differ
from lossgap.diagnosis.wording import pct

#: On long sequences (RunEvidence.long_sequences) a recurrent model that fitted less than LONG_REACH_FIT of its
#: training set (train loss that share below the prior's entropy), or got more than LONG_REACH_ERROR of its training
#: samples wrong at its best epoch, may simply not reach the signal: a label
#: written in the first 10 of 300 steps read no signal 0.81 with the last-step readout and val 1.000 with the
#: mean readout. Its curves are those of shuffled labels, so no signal stays at or below LONG_REACH_CAP there,
#: and the convolution branch is offered first.
LONG_REACH_FIT, LONG_REACH_ERROR, LONG_REACH_CAP = 0.2, 0.2, 0.6
#: A model that gets SHORTCUT_ACCURACY of its training samples right, its train loss under SHORTCUT_LOSS x the prior's
#: entropy, in its first epoch did not memorise them (GunPoint with a train-only leak: train accuracy 1.000 and loss
#: 0.32 x the prior's at epoch 1): labels the inputs do not predict take many passes to memorise,
#: so something in the training inputs gave them away, and with val at chance val's inputs lack it (a leak, or
#: splits drawn from different sources). No signal stays at most SHORTCUT_CAP there and the giveaway is looked for
#: first (a CSV whose feature f1 equalled the label in train and was random in val, the real signal in f0, read no
#: signal 0.95, and 1.00 with a permuted-label control; without f1 the same model reached val 0.933).
SHORTCUT_ACCURACY, SHORTCUT_LOSS, SHORTCUT_CAP = 0.95, 0.5, 0.6
#: Share below the prior's entropy the first epoch's train loss must reach for val trailing train from that epoch to
#: doubt no signal (see val_trails_doubt).
FIRST_EPOCH_FIT = 0.05
#: The headline's title for val trailing train from the first epoch (see val_trails_doubt).
VAL_TRAILS_TITLE = ("val sits at chance, but it trailed train from the first epoch: its labels may not belong to its "
                    "inputs")
#: The headline's title then.
SHORTCUT_TITLE = ("val stays at chance although the model fitted its training set in its first epoch: something "
                  "in the training inputs gives their labels away that val's inputs lack")
#: Most no_signal reaches when val's inputs look unlike train's (their feature statistics, or the mix of classes
#: the model predicts on them: :func:`lossgap.diagnosis.split_checks.val_inputs_differ`): val prepared otherwise than
#: train sits at chance whatever the labels. Three trials' runs with val left unstandardised or shifted by 1.5
#: standard deviations had read no signal 0.95; prepared as train, the same data reach 0.98-0.99. Below the 0.5 a
#: main cause needs, so "No cause found" leads with the check.
VAL_INPUTS_CAP = 0.4
#: The headline's title then.
VAL_INPUTS_TITLE = ("val stays at chance, but its inputs look unlike train's: val may be prepared or drawn otherwise "
                    "than train")


#: A model whose train accuracy at the judged epoch leads the train majority share by KEPT_TRAIN_LEAD or more, and whose
#: val accuracy keeps KEPT_SHARE of that lead over val's baseline and KEPT_NOISE of val's noise units above it, has
#: carried some of what it learned over to val, which a val split too small for the significance test cannot confirm:
#: shuffled labels leave the lead a model memorises on train no echo on val (trial 11's weak real signal, 4000 training
#: samples at 0.719 against 0.503 and 80 val samples at 0.675 against 0.588, p=0.07, had read no signal 0.95; its clean
#: test split gives 0.714 against 0.52). No signal stays at most KEPT_CAP there. Of the suite's shuffled-label runs
#: none leads train by 0.1 at its judged epoch with val kept so; one little-data overfit did (truth overfitting).
#: The train lead must be one the model holds: its train loss KEPT_FIT or more below the prior's entropy (a model 7%
#: below it, its right answers barely surer than chance, holds a lead as fragile as val's: a hand-made random-label
#: run so, train 0.665 and val 0.555 on 200 samples, had this doubt where it is no signal by construction).
KEPT_TRAIN_LEAD, KEPT_SHARE, KEPT_NOISE, KEPT_FIT, KEPT_CAP = 0.1, 0.3, 1.5, 0.2, 0.45
#: The headline's title then.
KEPT_TITLE = ("the labels may not be predictable from the inputs, but val kept part of the lead the model has on "
              "train: a weak signal this val split is too small to confirm looks the same")

#: A model that fitted little of its training set (:func:`lossgap.diagnosis.learning_state.fitted_little`) cannot show that
#: the labels carry no signal: a model too small or too slow for the rule the labels follow sits at chance on val just
#: as shuffled labels do (trial 14's GRU of 10 units on a 3-bit parity, train 0.575 and val 0.524, had read no signal
#: 0.71 where 64 units reached val 0.914; trial 2's LSTM on one informative feature, train 0.433 against 0.349, read 0.82
#: where an LSTM-FCN reached val 1.000). No signal stays at most FIT_LITTLE_CAP, under the 0.5 a main cause needs: the
#: precondition the cause needs (a model that fits train) failed.
FIT_LITTLE_CAP = 0.45
#: The headline's title then.
FIT_LITTLE_TITLE = ("val stays at chance, but the model fitted little of its training set too: a model too small or "
                    "too slow for the rule looks the same")

#: Records of the first epoch's training pass predict each sample before the model has trained on it (progressive
#: validation): train accuracy there significantly above the majority share (one-sided binomial test at the signal
#: test's alpha) shows the training labels are predictable from the training inputs, which no memorising can fake.
#: Val at chance then says val differs from train, not that the labels carry no signal; no signal stays at most
#: VAL_INPUTS_CAP and the checks of val's preparation and labels come first (trial 32: an own loop whose val series were
#: each z-normalised on their own, which deletes the sum its labels follow, read no signal 0.95 with "a larger model"
#: first; its training pass was at 0.620 against a majority share of 0.510 on 750 samples in epoch 1, 0.841 in epoch 2,
#: and val prepared as train reaches 0.920).
FIRST_PASS_TITLE = ("val stays at chance, but the model predicted its training samples above chance in its first "
                    "epoch, before it had trained on them: the labels carry signal, which val does not show")


@dataclass(frozen=True)
class Doubt:
    """What a doubt does to the verdict: ``cap`` on its confidence (0-1), ``title`` for the headline (None keeps the
    one before), ``clause`` appended to the sentence, ``remedies`` the new list, ``facts`` added to its evidence."""

    cap: float
    title: str | None
    clause: str
    remedies: tuple[Remedy, ...]
    facts: dict


def long_reach_doubt(evidence: RunEvidence, book: RemedyBook, remedies: tuple[Remedy, ...]) -> Doubt | None:
    """A recurrent model on long sequences that fitted little of its training set may not reach the signal (see
    LONG_REACH_CAP); None otherwise."""
    # Reading the recurrent layer both ways brings the first steps to a last-step readout (a label in steps 4-9 of
    # 150 read no signal 0.60 at hidden 32; --bidirectional reached val 0.893).
    # The loss alone can hide it: PickupGestureWiimoteZ's 361 steps, an LSTM 35% below the prior's loss on its 40
    # training series but never more than 52.5% of them right, read "No cause found" with no remedy, where reading
    # them in patches reached test 0.66 against 0.28.
    fit = evidence.objective_fit
    fitted_little = fit.moved_share < LONG_REACH_FIT or 1.0 - fit.train_accuracy_max > LONG_REACH_ERROR
    if not (evidence.long_sequences and fitted_little):
        return None
    reach = present(*book.reach_far())
    if not reach:
        return None
    fitted = ("fitted little of its training set" if fit.moved_share < LONG_REACH_FIT else
              f"got only {fit.train_accuracy_max:.0%} of its training samples right at best")
    # The cause's own title ("the labels are not predictable") had stood over a label a bidirectional reading of
    # the same 80-step sequences found (val 0.950).
    title = (f"val stays at the majority baseline, but a recurrent model that did not fit its training "
             f"set, on sequences {evidence.sequence_length} steps long, may not reach the signal")
    clause = (f"; but the sequences are {evidence.sequence_length} steps long and the model {fitted}: a "
              "recurrent layer that cannot carry the label over so many steps looks just "
              "the same, so try a model that can before concluding that the labels carry no signal")
    # A permuted-label control cannot confirm anything here: a model that cannot reach the signal does no
    # better on the true labels than on shuffled ones either.
    return Doubt(LONG_REACH_CAP, title, clause, (*reach, *_without(remedies, "permuted_control")), {})


def fitted_little_doubt(evidence: RunEvidence, book: RemedyBook, remedies: tuple[Remedy, ...]) -> Doubt | None:
    """A model that fitted little of its training set cannot show that the labels carry no signal (see
    FIT_LITTLE_CAP); None otherwise."""
    way = fitted_little(evidence)
    if way is None:
        return None
    fit = evidence.objective_fit
    accuracy = "balanced train accuracy" if evidence.objective is not None else "train accuracy"
    clause = (f"; but the model fitted little of its training set too ({accuracy} at best "
              f"{fit.train_accuracy_max:.3f} against {fit.train_baseline:.3f} for a constant answer, "
              f"{pct(way)} of the way to all right): a model too small or too slow for the rule the labels follow "
              "looks just the same, so try one that fits train before concluding that the labels carry no signal")
    # A permuted-label control cannot tell here either: a model that cannot learn the rule does no better on the
    # true labels than on shuffled ones. A wider layer, the first steps read from both ends (trial 15's label in steps 1
    # and 40, which a last-step LSTM never learned and a bidirectional GRU solved at test 0.985), more epochs.
    # Where early stopping ended the run before its planned epochs, training through them comes first: grown 4x under the
    # same patience, the model stops as early again (a later trial's product rule at 16 units, early stopping 5, was
    # told 16 -> 64 -> 256 while training through reached val 0.971; its shuffled labels looped alike).
    fits = (present(book.more_epochs(evidence.num_epochs, through=True), book.larger_hidden(4), book.bidirectional())
            if ended_by_early_stopping(evidence)
            else present(book.larger_hidden(4), book.bidirectional(), book.more_epochs(evidence.num_epochs)))
    return Doubt(FIT_LITTLE_CAP, FIT_LITTLE_TITLE, clause, (*fits, *_without(remedies, "permuted_control")),
                 {"fitted_little": True, "train_fit_way": way})


def val_inputs_doubt(evidence: RunEvidence, book: RemedyBook, remedies: tuple[Remedy, ...]) -> Doubt | None:
    """Val's inputs unlike train's (see VAL_INPUTS_CAP); None otherwise."""
    words = val_inputs_differ(evidence)
    if not words:
        return None
    clause = (f"; but val's inputs look unlike train's ({words}): val prepared or drawn otherwise than train sits at "
              "chance whatever the labels, so check how val was prepared before concluding that the labels carry no "
              "signal")
    return Doubt(VAL_INPUTS_CAP, VAL_INPUTS_TITLE, clause,
                 (book.check_val_inputs(), *_without(remedies, "permuted_control")), {"val_inputs_differ": True})


def val_trails_doubt(evidence: RunEvidence, book: RemedyBook, remedies: tuple[Remedy, ...]) -> Doubt | None:
    """Val trailing train from the first epoch (:attr:`SplitChecks.wrong_from_start`): val labels that do not belong
    to their inputs sit at chance (or below it) whatever the model; at most VAL_INPUTS_CAP, the val labels checked
    first and no permuted-label control; None otherwise. Trial 19: an own loop whose val labels were misaligned with
    their inputs, val 0.093 against train 0.420 at epoch 1 and under the majority share of 0.186, read no signal 0.95
    with the permuted-label control first beside the warning to check them; on the aligned labels it reaches 0.984."""
    start = evidence.split_checks.wrong_from_start
    # Only from a first epoch that learned something real: accuracy above chance on margins of a hair, the train loss
    # at the prior's, is no lead (shuffled labels whose train samples all moved a little read so).
    first_loss = float(evidence.curves.train_loss[0])
    if start is None or not first_loss <= (1.0 - FIRST_EPOCH_FIT) * evidence.fit.prior_entropy:
        return None
    clause = (f"; but val trailed train from the first epoch ({start.val_accuracy:.3f} against "
              f"{start.train_accuracy:.3f}), too soon for the model to have memorised anything: val labels that do not "
              "belong to their inputs (misaligned, shifted or drawn otherwise) sit at chance whatever the model, so "
              "check them before concluding that the labels carry no signal")
    check = _check_val_labels(book)
    return Doubt(VAL_INPUTS_CAP, VAL_TRAILS_TITLE, clause, (check, *_without(remedies, "permuted_control")),
                 {"val_trails_from_the_start": True})


def first_pass_doubt(evidence: RunEvidence, book: RemedyBook, remedies: tuple[Remedy, ...]) -> Doubt | None:
    """The first epoch's training pass predicted train above chance (see FIRST_PASS_TITLE): at most VAL_INPUTS_CAP and
    no permuted-label control, the checks of val's inputs and labels first where val could have shown the signal;
    None where train was recorded by an exact evaluation pass (``--record-train eval``, which has trained on every
    sample first) or the lead is not significant."""
    lead = evidence.first_pass_lead
    if lead is None:
        return None
    accuracy, baseline, count, p_value = lead
    shown = val_could_show(evidence)
    why = ("val at chance says val differs from train (its inputs prepared, scaled or drawn otherwise, or its labels "
           "not its own), not that the labels carry no signal" if shown else
           "val is too small to show what the model learned, not proof that the labels carry no signal")
    clause = (f"; but in its first epoch, before it had trained on them, the model got {accuracy:.3f} of its {count} "
              f"training samples right against a majority share of {baseline:.3f} (one-sided binomial test "
              f"p={p_value:.2g}): the training labels are predictable from the training inputs, so {why}")
    # Val's preparation is in question only where val could have shown the signal.
    checks = (book.check_val_inputs(), _check_val_labels(book)) if shown else ()
    return Doubt(VAL_INPUTS_CAP, FIRST_PASS_TITLE, clause, present(*checks, *_without(remedies, "permuted_control")),
                 {"first_pass_lead": round(accuracy - baseline, 4)})


def shortcut_doubt(evidence: RunEvidence, book: RemedyBook, remedies: tuple[Remedy, ...]) -> Doubt | None:
    """A model that fitted its training set in its first epoch found a giveaway val lacks (see SHORTCUT_CAP); None
    otherwise."""
    if not fitted_at_once(evidence):
        return None
    clause = (f"; but it got {pct(evidence.curves.train_accuracy[0])} of its training samples right in its "
              f"first epoch (train loss {evidence.curves.train_loss[0]:.3f}), far faster than a model memorises "
              "labels its inputs do not predict: the training inputs hold something that gives the labels away "
              "and val's do not (a leak, or splits drawn from different sources)")
    # A permuted-label control breaks the giveaway too, and then "confirms" what it does not show.
    leak = book.advice("check_leak", "look for what gives the training labels away: a feature (or an id, an order, a "
                       "recording setup) that matches the label in train but not in val; drop it or draw both splits "
                       "from one source")
    return Doubt(SHORTCUT_CAP, SHORTCUT_TITLE, clause,
                 present(leak, *_without(remedies, "permuted_control", "check_data")), {"fitted_at_once": True})


def kept_lead_doubt(evidence: RunEvidence, book: RemedyBook, remedies: tuple[Remedy, ...]) -> Doubt | None:
    """Val kept part of the model's lead on train (see KEPT_CAP); None otherwise."""
    signal, index = evidence.signal, evidence.judged_epoch - 1
    train_accuracy = float(evidence.curves.train_accuracy[index])
    train_lead = train_accuracy - evidence.fit.train_baseline
    val_lead = signal.accuracy - signal.baseline_accuracy
    noise = float(accuracy_noise(signal.baseline_accuracy, signal.num_samples))
    if not (np.isfinite(train_lead) and train_lead >= KEPT_TRAIN_LEAD and val_lead >= KEPT_SHARE * train_lead
            and val_lead >= KEPT_NOISE * noise and evidence.objective_fit.moved_share >= KEPT_FIT):
        return None
    clause = (f"; but val kept {pct(val_lead / train_lead)} of the lead the model has on train at epoch "
              f"{evidence.judged_epoch} ({train_accuracy:.3f} against a majority share of "
              f"{evidence.fit.train_baseline:.3f} on train, {signal.accuracy:.3f} against "
              f"{signal.baseline_accuracy:.3f} on val, {val_lead / noise:.1f} "
              f"noise units above it): shuffled labels leave a model's lead on train no such echo on val, so a weak "
              f"signal that {signal.num_samples} val samples cannot confirm is as likely; a larger val split tells")
    return Doubt(KEPT_CAP, KEPT_TITLE, clause, remedies, {"kept_lead": True})


def fitted_at_once(evidence: RunEvidence) -> bool:
    """True when the first epoch's train accuracy is at least SHORTCUT_ACCURACY and its train loss under
    SHORTCUT_LOSS x the prior's entropy (see SHORTCUT_CAP)."""
    curves = evidence.curves
    if not evidence.fit.train_recorded or curves.num_epochs < 1:
        return False
    accuracy, loss = float(curves.train_accuracy[0]), float(curves.train_loss[0])
    return bool(np.isfinite(loss) and accuracy >= SHORTCUT_ACCURACY
                and loss <= SHORTCUT_LOSS * evidence.fit.prior_entropy)


def _check_val_labels(book: RemedyBook) -> Remedy:
    """Advice to check that each val sample carries its own label (no setting changes)."""
    return book.advice("check_val_labels", "check that each val sample carries its own label: the val inputs and "
                       "labels built in the same order, from the same rows, with the same class coding as train")


def _without(remedies: tuple[Remedy, ...], *names: str) -> tuple[Remedy, ...]:
    return tuple(remedy for remedy in remedies if remedy.name not in names)
