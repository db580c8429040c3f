"""unstable_optimization's check of which records to trust: train records whose bounces are not the weights'. The
end-of-epoch evaluation of a batch-norm model can jump while its training pass descends (its running statistics lag
the weights), and train records taken on mixed or augmented inputs can bounce while val, on clean inputs, descends
smoothly; in either case the bounces say nothing about steps too large, nor about the labels of the samples the
jumping records contradict. Split from :mod:`lossgap.diagnosis.causes.unstable_optimization`."""

from __future__ import annotations

import numpy as np

from lossgap.analysis.fit import loss_reversal
from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.evidence import RunEvidence

#: Reversal of a loss curve (prior-entropy units) at which its bounces start to count and count fully (the
#: bounce signal of unstable_optimization, and the records checks here).
BOUNCE_START, BOUNCE_FULL = 0.5, 2.0
#: Epochs a comparison of two loss curves needs.
MIN_EPOCHS_FOR_BOUNCES = 5
#: When the delivered model's evaluated train loss lies within this share of the prior's entropy of the training
#: pass's (or below it), its val accuracy near the run's best, the delivered model is not one of the jumped ones.
DELIVERED_CONSISTENT = 0.05
#: The val loss at the last epoch under this share of the train records' median over the run's last third, with
#: train bouncing and val smooth: the train records are not the weights' (see train_records_only); val smooth means
#: bouncing less than VAL_BOUNCE_SHARE as much (a mixup loop's val loss bounced 0.30 of its train records' at one
#: seed, 0.18 at another; the suite's high-rate and exploding runs bounce alike on both splits). Two thirds, not the
#: half first chosen: a cutmix loop of 2 batches per epoch ended at 0.57 of its records' level.
VAL_BELOW_TRAIN, VAL_BOUNCE_SHARE = 2 / 3, 1 / 3


def evaluation_only_bounces(evidence: RunEvidence) -> dict | None:
    """The train loss of the end-of-epoch evaluation pass bouncing (its reversal at least BOUNCE_START) while the
    loss of the training pass itself (metrics.csv's train_loss_running) bounces far less (its reversal under a
    quarter of the evaluated one's; no absolute bound, since a reversal sums the rises of every epoch and so grows
    with the run's length: an 80-epoch ArrowHead LSTM-FCN, its running loss 1.13 -> 0.08 with a reversal of 1.6
    prior entropies against 15.7 for the evaluated one, had read 0.93 "lower the learning rate" when the bound was
    1.0, where recomputing batch norm's statistics took the verdict to 0), in a model with batch norm
    (:func:`lossgap.diagnosis.constraints.has_batch_norm`):
    {"reversal", "running_reversal", "highest", "running_start", "running_end", "after_delivered" (the
    evaluated loss did not bounce up to the delivered epoch, when that is not the last), "delivered_unaffected"
    (see DELIVERED_CONSISTENT), "delivered_loss", "delivered_running_loss"}, else None. Not for a
    class-weighted run (the running loss is the weighted one) or one without the column (own loops). An
    LSTM-FCN whose training loss fell 0.94 -> 0.38 had its evaluated train loss jump between 0.28 and 2.19 (val
    alike) and read unstable_optimization 1.00, "lower the learning rate", which changed nothing."""
    running = evidence.training_pass_loss
    fit = evidence.fit
    if running is None or not fit.prior_entropy > 0:
        return None
    finite = np.isfinite(running)
    if finite.sum() < MIN_EPOCHS_FOR_BOUNCES or fit.reversal < BOUNCE_START:
        return None
    running_reversal = loss_reversal(running[finite], fit.prior_entropy)
    if running_reversal > fit.reversal / 4:
        return None
    train_loss = evidence.curves.train_loss
    delivered = evidence.delivered_epoch
    after_delivered = (delivered < evidence.num_epochs
                       and loss_reversal(train_loss[:delivered], fit.prior_entropy) < BOUNCE_START)
    # The delivered model is not one of the jumped ones when its evaluated train loss is no higher than the training
    # pass's (dropout makes that one the higher) by more than a small share of the prior's entropy: its statistics
    # fit its weights. Recommended LSTM-FCN runs early-stopped at val accuracy 1.000 (ArrowHead, GunPoint) had read
    # this form at 0.55 as their main cause, and `--ema 0` did not raise their test accuracy.
    # Its val accuracy must not have jumped either: within two noise units of the run's best (a run delivering its
    # last epoch at val 0.500, against 0.800 eight epochs before, had its train statistics fit).
    delivered_gap = float(train_loss[delivered - 1] - running[delivered - 1]) if finite[delivered - 1] else np.inf
    val_accuracy = evidence.curves.val_accuracy
    best_val = float(np.nanmax(val_accuracy[:delivered]))
    val_kept = val_accuracy[delivered - 1] >= best_val - 2 * accuracy_noise(best_val, evidence.val.num_samples)
    delivered_unaffected = delivered_gap <= DELIVERED_CONSISTENT * fit.prior_entropy and bool(val_kept)
    # "Up to" is the highest bounce: a value above the lowest before it, not one of the first descent (epoch 2's
    # 1.717 had been quoted where the bounces reached 0.79).
    lowest_before = np.fmin.accumulate(np.where(np.isfinite(train_loss), train_loss, np.inf))[:-1]
    peaks = train_loss[1:][train_loss[1:] > lowest_before]
    return {"reversal": fit.reversal, "running_reversal": running_reversal,
            "highest": float(np.nanmax(peaks)) if peaks.size else float("nan"),
            "running_start": float(running[finite][0]), "running_end": float(running[finite][-1]),
            "after_delivered": bool(after_delivered), "delivered_unaffected": bool(delivered_unaffected),
            "delivered_loss": float(train_loss[delivered - 1]), "delivered_running_loss": float(running[delivered - 1])}


def evaluation_only_words(jumping: dict, delivered_epoch: int, unit: str, steps_too_large: bool) -> str:
    """The sentence on :func:`evaluation_only_bounces`'s finding ``jumping``; ``unit`` names the prior's entropy, and
    ``steps_too_large`` says the run's own steps (their size, its rate) outweigh the evaluated model's jumps."""
    if jumping["after_delivered"]:
        delivered = f"; only after epoch {delivered_epoch}, whose model the run delivers, so that model is not affected"
    elif jumping["delivered_unaffected"]:
        delivered = (f"; the model the run delivers (epoch {delivered_epoch}) is not one of the jumped ones: its "
                     f"evaluated train loss, {jumping['delivered_loss']:.3f}, is no higher than the training pass's "
                     f"({jumping['delivered_running_loss']:.3f}) by more than {DELIVERED_CONSISTENT:.0%} of {unit} and "
                     "its val accuracy is within its noise of the run's best, so its statistics fit its weights")
    else:
        delivered = ("; the other causes are judged on that jumping model too, so judge them again once the statistics "
                     "are recomputed")
    whose = ("much of the jumping is the model as evaluated, as when batch norm's running statistics lag behind the "
             "weights, but the steps themselves are too large (below)" if steps_too_large else
             "the weights are not jumping, the model as evaluated is, as when batch norm's running statistics lag "
             "behind the weights")
    return (f"the end-of-epoch pass over the training set jumps (its loss bounced by {jumping['reversal']:.1f}x {unit} "
            f"in all, up to {jumping['highest']:.3f}) while the loss during training fell with far smaller bounces "
            f"({jumping['running_start']:.3f} -> {jumping['running_end']:.3f}, bouncing "
            f"{jumping['running_reversal']:.2f}x): {whose}; val is evaluated the same way and jumps with it{delivered}")


def delivered_model_jumps(jumping: dict | None) -> bool:
    """True when ``jumping`` (an :func:`evaluation_only_bounces` answer) reaches the model the run delivers: the
    evaluated loss bounced up to the delivered epoch and the delivered model's evaluated loss is not consistent with its
    training pass's."""
    return jumping is not None and not (jumping["after_delivered"] or jumping["delivered_unaffected"])


def train_records_only(evidence: RunEvidence) -> dict | None:
    """The train records bouncing (their reversal at least BOUNCE_START) while the val loss falls smoothly (its
    reversal under VAL_BOUNCE_SHARE of theirs) and ends under VAL_BELOW_TRAIN times the train loss's median over the
    last third of the run, at a val accuracy significantly above the majority share: {"train_reversal",
    "val_reversal", "train_end" (that median), "val_end"}, else None.
    Weights that jump move the val loss with the train loss; train records on mixed or augmented inputs bounce alone
    (an own loop with mixup, val loss 1.10 -> 0.18 while its recorded train loss bounced between 0.87 and 1.35, had
    read unstable_optimization 1.00, "lower the learning rate", where it beat the same loop without mixup). Not for a
    class-weighted run, whose train records are the weighted loss and val's the plain one."""
    if evidence.objective is not None:
        return None
    fit, train_loss, val_loss = evidence.fit, evidence.curves.train_loss, evidence.curves.val_loss
    finite = np.isfinite(val_loss) & np.isfinite(train_loss)
    if finite.sum() < MIN_EPOCHS_FOR_BOUNCES or not fit.prior_entropy > 0 or fit.reversal < BOUNCE_START:
        return None
    if not evidence.signal.p_value < evidence.signal.alpha:
        return None
    val_reversal = loss_reversal(val_loss[finite], fit.prior_entropy)
    last = int(np.flatnonzero(finite)[-1])
    # Against the train records' level over the last third, not their last epoch, which bounces (a cutmix loop of 2
    # batches per epoch ended on a low one, 0.77x its val loss, and kept reading unstable 1.00).
    epochs = np.flatnonzero(finite)
    level = float(np.median(train_loss[epochs[-max(3, epochs.size // 3):]]))
    if val_reversal > VAL_BOUNCE_SHARE * fit.reversal or not val_loss[last] < VAL_BELOW_TRAIN * level:
        return None
    return {"train_reversal": fit.reversal, "val_reversal": val_reversal, "train_end": level,
            "val_end": float(val_loss[last])}
