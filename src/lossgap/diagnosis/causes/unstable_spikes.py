"""unstable_optimization's evidence from spikes and collapses: what the optimiser undid of a model that had learned.

A model that bounces on its way to fitting was not stopped by its optimiser; these are the forms in which it was:
a spike that throws a fitted model back past a constant guess, a collapse to one constant answer, and a spike or a
climb whose damage the delivered model still carries.
"""

from __future__ import annotations

import numpy as np

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.causes.unstable_collapse import learned_before
from lossgap.diagnosis.constraints import regularisation_notes
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.diagnosis.wording import pct

#: A train loss at or below this share of the prior's entropy counts as fitted (see collapse_after_fit).
FITTED_SHARE = 0.25
#: Share of the progress made before a spike that the delivered model has still lost (its train loss against the
#: lowest before the spike, over the fall from the first epoch to that lowest) from which that counts, and fully;
#: and the most it adds: a run ending on an unrecovered spike delivers the damage (an SGD JapaneseVowels run at lr
#: 2, train loss 0.067 -> 0.58 at epoch 18 of 20 and 0.37 at the end, val accuracy 0.944 -> 0.857, had read "No
#: problem found" 0.70: the model had fitted, so its spikes counted for nothing).
UNRECOVERED_START, UNRECOVERED_FULL, UNRECOVERED_CAP = 0.05, 0.25, 0.8
#: The least share of its progress (train loss, or val accuracy's gain over the majority share) a spike must have
#: taken from the delivered model of a run that had learned but not fitted (see unrecovered_spike).
LEARNED_LOST = 0.5
#: Spikes the run outgrew (see outgrown_spikes): the share of the progress before it that a spike must undo to
#: count as large; the fewest epochs without a large spike after the last one up to the delivered epoch, at least
#: and as a share of the delivered epoch; and the weight large outgrown spikes keep.
OUTGROWN_LARGE, OUTGROWN_QUIET, OUTGROWN_QUIET_SHARE, OUTGROWN_WEIGHT = 0.25, 10, 0.5, 0.3
#: Confidence of a spike at a rate far above its optimizer's range after which val accuracy never came back
#: (see memorised_past_spike).
MEMORISED_PAST_SPIKE = 0.7


def progress_lost(train_loss: np.ndarray, spikes, prior_entropy: float | None = None) -> float:
    """Largest share of the loss fall so far that one spike undid (0 without spikes); see :func:`spike_share`."""
    return max((spike_share(train_loss, spike, prior_entropy) for spike in spikes), default=0.0)


def spike_share(train_loss: np.ndarray, spike, prior_entropy: float | None = None) -> float:
    """Share of the loss fall before ``spike`` that its jump undid (at most 1.5). The fall is counted from the first
    epoch's loss, or from ``prior_entropy`` (the loss of knowing nothing) when the first epoch lies above it: a first
    epoch thrown far above it, as a learning rate far too high gives, is no progress (an LSTM-FCN at AdamW 0.3 whose
    first epoch's loss was 440 read "the largest undoing 1% of the progress" of a jump from 0.46 to 2.15)."""
    before = train_loss[: spike.epoch - 1]
    start = float(train_loss[0])
    if prior_entropy is not None and np.isfinite(prior_entropy) and prior_entropy > 0:
        start = min(start, float(prior_entropy))
    # Measured against at least half the starting loss, so a run that barely learned (no signal)
    # does not turn every wiggle into "all progress lost".
    progress = max(start - float(np.nanmin(before)) if before.size else 0.0, 0.5 * start)
    jump = float(train_loss[spike.epoch - 1] - train_loss[spike.epoch - 2])
    return min(1.5, jump / progress) if progress > 0 else 0.0


def unrecovered_spike(evidence: RunEvidence, spikes) -> dict | None:
    """The spike (at or before the delivered epoch) whose damage the delivered model keeps most of, or None
    without one: {"epoch", "lowest_before", "spike_loss", "delivered_loss", "share", "val_share", "val_error_share",
    "damage", "val_before", "val_delivered"}, share being the delivered train loss's excess over the lowest before the
    spike, over the progress that lowest stands for: its fall from the prior's entropy, the loss of knowing nothing (a
    first epoch above it, as a learning rate far too high gives, is no progress to lose); val_* the val accuracy in the
    epoch before the spike (before a val spike in the epoch before it) and the delivered one; val_share the val
    accuracy lost, over its gain above the majority baseline before the spike; val_error_share the val accuracy lost
    over the delivered model's val error (the share of its val errors the spike added); damage the largest of the
    three.

    Only a spike that hit a model which had fitted (its train loss once under FITTED_SHARE of the prior's
    entropy: a model that never fitted has its spikes judged with its failure to fit); only the damage the spike
    did (the delivered loss no higher than the spike's own: a loss that goes on climbing after a small spike, as
    weight decay 10 pulls a model back to the constant guess, is a drift, not this); only when the run never won
    that progress back (a jumpy little-data run whose early stopping picked the epoch of a spike, its train loss
    0.07 ten epochs later, delivers a model its val loss chose, not one the spike left behind); and only when the
    delivered val accuracy is below the one just before the spike by more than twice its noise (damage that
    shows). The train loss is the one stability is judged on (:attr:`RunEvidence.stability_loss`)."""
    _, train_loss, _, fit = evidence.stability_loss
    delivered = evidence.delivered_epoch
    val_accuracy = evidence.curves.val_accuracy
    val_spike_epochs = {found.epoch for found in evidence.optimization.spikes if found.split == "val"}
    found = None
    for spike in spikes:
        before = train_loss[: spike.epoch - 1]
        if spike.epoch > delivered or not before.size:
            continue
        lowest = float(np.nanmin(before))
        progress = fit.prior_entropy - lowest
        spike_loss, delivered_loss = float(train_loss[spike.epoch - 1]), float(train_loss[delivered - 1])
        # A model far from fitted counts too once it had clearly learned (see learned_before): a freq task at Adam
        # 0.01, at the prior for 24 epochs, reached train accuracy 0.654 at epoch 26 and was thrown back to the
        # prior at 27, delivering val 0.475 where epoch 26 had 0.667, and had read "No cause found" (unstable 0.41);
        # lr 0.003 reaches test 0.996. Not where heavy regularisation holds the model back: it pulls a model that
        # has just learned back toward the constant guess by design (a suite run at AdamW weight decay 10).
        fitted = lowest <= FITTED_SHARE * fit.prior_entropy
        learned = not fitted and learned_before(evidence, spike.epoch) and not regularisation_notes(evidence.settings)
        if not (progress > 0 and (fitted or learned) and delivered_loss <= spike_loss):
            continue
        if float(np.nanmin(train_loss[spike.epoch - 1:])) <= lowest + UNRECOVERED_START * progress:
            continue  # won back
        # Just before the spike: the val accuracy lost to it, not to overfitting before it. A blow-up late in an epoch
        # reaches the val pass at that epoch's end before it reaches the epoch's mean training loss: a val spike in
        # the epoch before starts the episode (a Lightning run's val loss jumped at epoch 24, its train loss at 25).
        start = spike.epoch - 1 if spike.epoch - 1 in val_spike_epochs else spike.epoch
        if start < 2:
            continue
        val_before, val_delivered = float(val_accuracy[start - 2]), float(val_accuracy[delivered - 1])
        if val_before - val_delivered <= 2 * accuracy_noise(val_before, evidence.val.num_samples):
            continue
        share = (delivered_loss - lowest) / progress
        # The damage as the val accuracy shows it: a train loss that won back most of its level can leave val
        # accuracy far below (0.967 -> 0.858 where the train loss had won back 91%).
        gained = val_before - evidence.signal.baseline_accuracy
        val_share = (val_before - val_delivered) / gained if gained > 0 else 0.0
        # Near a fit the gain over the majority share understates the damage: the share of the delivered model's val
        # errors the spike added says it (trial 27: a GRU at val 0.950 thrown to 0.889 in its last epoch, 9% of its
        # gain but over half of its errors, had read "No problem found" 0.63).
        val_error_share = (val_before - val_delivered) / (1.0 - val_delivered) if val_delivered < 1.0 else 0.0
        if learned and max(share, val_share) < LEARNED_LOST:
            # A model still learning wins back a partial knock in an epoch or two (a sum-sign task stopped at epoch 8,
            # one epoch after a spike that left 11% of its progress lost, is training cut short, not unstable).
            continue
        damage = max(share, val_share, val_error_share)
        if found is None or damage > found["damage"]:
            found = {"epoch": spike.epoch, "lowest_before": lowest, "spike_loss": spike_loss,
                     "delivered_loss": delivered_loss, "share": share, "val_share": val_share,
                     "val_error_share": val_error_share, "damage": damage,
                     "val_before": val_before, "val_delivered": val_delivered}
    return found


#: A climb of the train loss from its lowest (see unrecovered_climb): how many of its binomial noise units the train
#: accuracy must have fallen with it.
CLIMB_TRAIN_NOISE = 3.0


def unrecovered_climb(evidence: RunEvidence, *, fast: bool = False) -> dict | None:
    """The damage of a climb, not one spike, that the delivered model carries, or None: the train loss rose from its
    lowest (at or before the delivered epoch, once it had fitted: under FITTED_SHARE of the prior's entropy) to the
    delivered epoch by UNRECOVERED_START or more of the progress that lowest stood for, the train accuracy fell with
    it by more than CLIMB_TRAIN_NOISE of its noise units and the val accuracy by more than two. Descent does not make
    a fitted model worse on its own training samples epoch after epoch, and memorising makes it better: an optimiser
    whose steps are too large does (own loops at Adam 0.3 on JapaneseVowels, train accuracy 0.995 -> 0.917 and val
    0.926 -> 0.833 over their last epochs with no single spike, had read "No problem found"). Not for a model its
    own regularisation holds back: heavy weight decay pulls a fitted model back by design. With ``fast`` (the run's
    learning rate far above its optimizer's usual range: the settings already say why the weights would climb) a val
    accuracy that did not rise is enough (a Lightning JapaneseVowels LSTM at Adam 0.15, train accuracy 0.995 -> 0.944
    over its last seven epochs, had its val accuracy at 0.870 and 0.852 at the two ends, within noise). Returns the keys of
    :func:`unrecovered_spike` but the val shares ("epoch" is the climb's first, "spike_loss" its highest, "damage"
    its share) and "train_before",
    "train_delivered" (train accuracies)."""
    _, train_loss, train_accuracy, fit = evidence.stability_loss
    delivered = evidence.delivered_epoch
    if evidence.train is None or regularisation_notes(evidence.settings):
        return None
    loss = train_loss[:delivered]
    if not np.isfinite(loss).any():
        return None
    low_epoch = delivered - int(np.nanargmin(loss[::-1]))  # the last epoch at the lowest: where the climb began
    lowest, delivered_loss = float(loss[low_epoch - 1]), float(loss[-1])
    progress = fit.prior_entropy - lowest
    if low_epoch == delivered or not (progress > 0 and lowest <= FITTED_SHARE * fit.prior_entropy):
        return None
    share = (delivered_loss - lowest) / progress
    train_before, train_delivered = float(train_accuracy[low_epoch - 1]), float(train_accuracy[delivered - 1])
    val_accuracy = evidence.curves.val_accuracy
    val_before, val_delivered = float(val_accuracy[low_epoch - 1]), float(val_accuracy[delivered - 1])
    val_fell = val_before - val_delivered
    # At a rate far above its range the climb is the overshoot whatever val shows, so long as val did not rise.
    val_shows = val_fell >= 0 if fast else val_fell > 2 * accuracy_noise(val_before, evidence.val.num_samples)
    if (share < UNRECOVERED_START or not val_shows
            or train_before - train_delivered <= CLIMB_TRAIN_NOISE * accuracy_noise(train_before,
                                                                                   evidence.train.num_samples)):
        return None
    return {"epoch": low_epoch + 1, "lowest_before": lowest, "lowest_epoch": low_epoch,
            "spike_loss": float(np.nanmax(loss[low_epoch:])), "delivered_loss": delivered_loss, "share": share,
            "damage": share, "val_before": val_before, "val_delivered": val_delivered, "train_before": train_before,
            "train_delivered": train_delivered}


def outgrown_spikes(train_loss: np.ndarray, spikes, delivered: int, prior_entropy: float) -> dict | None:
    """The large spikes a run outgrew, or None. Large: undoing OUTGROWN_LARGE or more of the progress before it.
    Outgrown: every large spike came at or before the delivered epoch; at least OUTGROWN_QUIET epochs, and
    OUTGROWN_QUIET_SHARE of the delivered ones, passed after the last without another; and after it the train
    loss fell to new lows, at least as far below its lowest before the first spike as that lowest was below where
    training began (the first epoch's loss or ``prior_entropy``, the larger), the delivered epoch's loss below that
    lowest too. Such spikes threw a model back on its way and cost the run time, not its result: the delivered
    model learned most of what it knows after them (a 4-class LSTM at Adam 0.003 thrown back to the prior's entropy
    at epoch 5, on its way again from epoch 18 and at its task's ceiling by epoch 80, had read unstable 0.59 first,
    over a fall in loss from refinement). A spike that hits a fitted model is never outgrown: no later progress
    can match what it had made. Smaller spikes are judged as they are.
    Returns {"epochs", "first", "last", "quiet_epochs", "lowest_before", "lowest_after"} (epochs 1-based, losses
    in nats)."""
    large = [spike for spike in spikes if spike_share(train_loss, spike, prior_entropy) >= OUTGROWN_LARGE]
    if not large or any(spike.epoch > delivered for spike in large):
        return None
    first, last = min(spike.epoch for spike in large), max(spike.epoch for spike in large)
    before, after = train_loss[: first - 1], train_loss[last:delivered]
    quiet = delivered - last
    if not before.size or not after.size or quiet < max(OUTGROWN_QUIET, OUTGROWN_QUIET_SHARE * delivered):
        return None
    lowest_before, lowest_after = float(np.nanmin(before)), float(np.nanmin(after))
    # At least as much progress again after the spikes as before the first: a model they threw back on its way
    # and that then learned most of what it knows (a jumpy run whose new lows were a few hundredths below the
    # old ones had its spikes called outgrown).
    progress_before = max(float(train_loss[0]), prior_entropy) - lowest_before
    target = lowest_before - progress_before
    if not (lowest_after <= target and float(train_loss[delivered - 1]) < lowest_before):
        return None
    return {"epochs": [spike.epoch for spike in large], "first": first, "last": last, "quiet_epochs": quiet,
            "lowest_before": lowest_before, "lowest_after": lowest_after}


def collapse_after_fit(evidence: RunEvidence, spikes) -> bool:
    """True when a spike carried the train loss above the prior's entropy after it had once been below
    FITTED_SHARE of it (the optimiser threw a model that had fitted back past a constant guess), and the model
    the run delivers is no longer fitted: a run whose early stopping restored a fitted epoch delivers what the
    collapse did not reach."""
    _, train_loss, _, fit = evidence.stability_loss
    entropy = fit.prior_entropy
    delivered = evidence.delivered_epoch
    if not train_loss[delivered - 1] > FITTED_SHARE * entropy:
        return False
    for spike in spikes:
        before = train_loss[: spike.epoch - 1]
        if (spike.epoch <= delivered and before.size and np.nanmin(before) <= FITTED_SHARE * entropy
                and train_loss[spike.epoch - 1] > entropy):
            return True
    return False


def memorised_past_spike(evidence: RunEvidence, spikes, *, fast: bool) -> dict | None:
    """A spike whose damage the delivered model carries on val though its train loss won the progress back, at a rate
    far above its optimizer's usual range (``fast``), or None: the first spike (at or before the delivered epoch, after
    the model had fitted: its train loss once under FITTED_SHARE of the prior's entropy, and followed by a new lowest
    train loss) after which val accuracy never came back within two noise units of its level just before it, the
    delivered one included. {"epoch", "lr" (the
    epoch's rate, when recorded), "val_before", "val_after" (the spike epoch's), "val_best_after", "val_delivered"}.

    A rate that large throws the model out of where it was learning; a schedule that then lowers it lets the model
    memorise its training set from where it landed, so the train loss reaches new lows and reads as recovered (trial
    11's 20-class LSTM at Adam 0.05 with reduce-on-plateau: val 0.807 before a spike at epoch 6, never above 0.752
    after it, train accuracy 0.98 at the end, had read overfitting 0.90; Adam at 0.01 with the same schedule reaches
    val 0.950)."""
    if not fast:
        return None
    _, train_loss, _, fit = evidence.stability_loss
    delivered = evidence.delivered_epoch
    val_accuracy = evidence.curves.val_accuracy
    lr = evidence.curves.lr
    for spike in sorted(spikes, key=lambda found: found.epoch):
        before = train_loss[: spike.epoch - 1]
        if spike.epoch > delivered or spike.epoch < 2 or not before.size:
            continue
        lowest = float(np.nanmin(before))
        # Fitted before it, and a new low after it (a last-epoch spike is the unrecovered forms' case, not this).
        later = train_loss[spike.epoch:delivered]
        if not (lowest <= FITTED_SHARE * fit.prior_entropy and np.isfinite(later).any()
                and float(np.nanmin(later)) < lowest):
            continue
        val_before = float(val_accuracy[spike.epoch - 2])
        after = val_accuracy[spike.epoch - 1:delivered]
        if not np.isfinite(after).any():
            continue
        best_after = float(np.nanmax(after))
        if val_before - best_after <= 2 * accuracy_noise(val_before, evidence.val.num_samples):
            continue
        rate = float(lr[spike.epoch - 1]) if lr is not None and np.isfinite(lr[spike.epoch - 1]) else None
        return {"epoch": spike.epoch, "lr": rate, "val_before": val_before,
                "val_after": float(val_accuracy[spike.epoch - 1]), "val_best_after": best_after,
                "val_delivered": float(val_accuracy[delivered - 1])}
    return None


def delivered_intact_words(evidence: RunEvidence) -> str:
    """"; early stopping delivered epoch 11, whose val accuracy 0.997 is within its noise of the run's best: ..." when
    early stopping restored an epoch from before the run's end whose val accuracy is within one noise unit of the
    run's best, else "". Jumping weights are still the curves' cause, but the model the run delivers came through
    them (trial 25: LSTM-FCN runs at AdamW 1.0, early-stopped, tested 0.997-0.998 and read unstable 0.85-0.94 with
    no word that the delivered model was fine)."""
    delivered, epochs = evidence.delivered_epoch, evidence.num_epochs
    if evidence.patience is None or delivered >= epochs or delivered != evidence.best_epoch:
        return ""
    accuracy = evidence.curves.val_accuracy
    at_delivered, best = float(accuracy[delivered - 1]), float(np.nanmax(accuracy))
    if not np.isfinite(at_delivered) or at_delivered < best - accuracy_noise(best, evidence.val.num_samples):
        return ""
    return (f"; early stopping delivered epoch {delivered}, whose val accuracy {at_delivered:.3f} is within its noise "
            "of the run's best: the delivered model came through the jumps on val, but with steps this large another "
            "seed or split may not")


def unrecovered_val_words(unrecovered: dict, baseline: float) -> str:
    """The clause on the val accuracy's gain over the majority share that a spike took, or on the share of the delivered
    model's val errors it added where that is larger, when either exceeds the train loss's share: all of the gain once
    the delivered val accuracy is at or below the majority share (a share over 100% says nothing a reader can use)."""
    val_share, error_share = unrecovered.get("val_share", 0.0), unrecovered.get("val_error_share", 0.0)
    if max(val_share, error_share) <= unrecovered["share"]:
        return ""
    if error_share > val_share:
        return f" ({pct(error_share)} of the delivered model's val errors came with it)"
    if val_share >= 1.0:
        return f" (the majority share is {baseline:.3f}: all of its gain over it lost)"
    return f" ({pct(val_share)} of its gain over the majority share lost)"
