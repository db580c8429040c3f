"""Checks of the splits themselves, beside the causes: val that is the training set again, val labels that
contradict what the model learned, and train and val drawn from different mixes of classes. None is a cause of a
plateau; each changes how every val figure reads, so each puts a warning before the headline (or a clause in it)
and a note among the limitations, and no verdict reads them. The measurements are in
:mod:`lossgap.analysis.label_coding` and :mod:`lossgap.analysis.class_shares`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lossgap.analysis.class_shares import ClassShareShift, class_share_shift
from lossgap.analysis.label_coding import LabelBlindShortfall, SharedSamples, label_blind_shortfall, shared_samples

if TYPE_CHECKING:  # pragma: no cover - for type checkers only: evidence imports this module
    from lossgap.diagnosis.evidence import RunEvidence

#: A model "learned" train at an epoch when its train accuracy there lies this far above val's label-blind level.
LEARNED_MARGIN = 0.2


@dataclass(frozen=True)
class SplitChecks:
    """What the checks found: ``same_split`` (val samples carrying training ids and labels, when val looks like the
    training set again), ``contradicted`` (val accuracy far below label-blind predictions while train is learned)
    and ``shift`` (the splits' class mixes, when clearly different); None where the check found nothing."""

    same_split: SharedSamples | None
    contradicted: LabelBlindShortfall | None
    shift: ClassShareShift | None


def check_splits(evidence: RunEvidence) -> SplitChecks:
    """The three checks on ``evidence``'s recorded splits (each needs the train split's records)."""
    if evidence.train is None:
        return SplitChecks(None, None, None)
    shared = shared_samples(evidence.train, evidence.val)
    shortfall = label_blind_shortfall(evidence.val)
    # An evaluated model that misses train and val alike in its last epoch has jumped, which says nothing about
    # the labels: the model must get train right at that epoch.
    if shortfall is not None and (not shortfall.contradicted or float(
            evidence.curves.train_accuracy[shortfall.epoch - 1]) < shortfall.expected + LEARNED_MARGIN):
        shortfall = None
    shift = class_share_shift(evidence.train_class_counts, evidence.val_per_class.support)
    return SplitChecks(shared if shared.same_split else None, shortfall,
                       shift if shift is not None and shift.shifted else None)


def split_warnings(evidence: RunEvidence) -> str:
    """The warnings that go before the headline ("" without any)."""
    checks = evidence.split_checks
    warning = ""
    if checks.same_split is not None:
        # The article's flaw: an own loop whose val pass iterated the training data read "No problem found" 0.95 on
        # random labels.
        warning += (f"Val looks like the training set: {checks.same_split.same_label} of its "
                    f"{checks.same_split.num_val} samples carry a training sample's id and label (see the note); hold "
                    "out a val split the model never trains on; read the rest with that in mind: ")
    shortfall = checks.contradicted
    if shortfall is not None:
        # A val split whose classes were rotated read overfitting 1.00 at val accuracy 0.000 on four classes.
        warning += (f"Val labels contradict what the model learned: val accuracy {shortfall.accuracy:.3f} at epoch "
                    f"{shortfall.epoch} is far below the {shortfall.expected:.3f} that guesses ignoring the labels get "
                    "(see the note); check that val's labels are coded as train's; read the rest with that in mind: ")
    return warning


def mix_clause(evidence: RunEvidence) -> str:
    """"; val holds another mix of classes ..." for the "No problem found" headline when val accuracy trails val's
    majority share and the splits' class mixes clearly differ ("" otherwise): a model trained on 50/50 and judged on
    85/15 had read "No problem found (0.91): val accuracy 0.810 at epoch 3 (majority baseline 0.850)" without a
    word on why it sat below that baseline."""
    signal = evidence.signal
    if evidence.split_checks.shift is None or not signal.accuracy < signal.baseline_accuracy:
        return ""
    balanced = evidence.val_per_class.balanced_accuracy[evidence.best_epoch - 1]
    return (f"; val holds another mix of classes than train, so that baseline is no fair bar: balanced accuracy "
            f"{balanced:.3f}, see the note")


def split_notes(evidence: RunEvidence) -> list[str]:
    """The notes on what the checks found, for the diagnosis's limitations."""
    checks, notes = evidence.split_checks, []
    shift = checks.shift
    if shift is not None:
        differences = np.abs(np.subtract(shift.train_shares, shift.val_shares))
        largest = [int(index) for index in np.argsort(-differences, kind="stable")[:3] if differences[index] >= 0.02]
        shares = ", ".join(f"class {evidence.class_label(index)} {shift.train_shares[index]:.0%} of train and "
                           f"{shift.val_shares[index]:.0%} of val" for index in largest)
        epoch = evidence.best_epoch
        balanced = evidence.val_per_class.balanced_accuracy[epoch - 1]
        notes.append(f"train and val hold different mixes of classes ({shares}; chi-square test p={shift.p_value:.1g}): "
                     "val accuracy and its majority baseline are measured on another mix than the model trained on, so "
                     f"accuracy below val's majority share need not be a fault of training; balanced accuracy "
                     f"({balanced:.3f} at epoch {epoch}) compares across the mixes. Check how val was drawn, and "
                     "whether training labels were moved from one class to another (label noise that favours one "
                     "class shifts the mix the same way)")
    shared = checks.same_split
    if shared is not None:
        notes.append(f"{shared.same_label} of the {shared.num_val} val samples carry the id and the label of a "
                     "training sample, and their losses move with those samples' (two different splits of these "
                     "classes would share a label on far fewer of them): val looks like the training set, so every "
                     "val figure measures how well the model fits data it trained on, not how it generalises (check "
                     "that the val pass iterates the val data)")
    shortfall = checks.contradicted
    if shortfall is not None:
        notes.append(f"val accuracy {shortfall.accuracy:.3f} at epoch {shortfall.epoch} lies far below the "
                     f"{shortfall.expected:.3f} that predictions ignoring the labels get on this mix of classes and "
                     f"predictions (one-sided binomial test p={shortfall.p_value:.1g} on {shortfall.num_samples} "
                     "samples): overfitting, noise or labels without signal bring a model down to that level, not "
                     "far below it; the model picks another class than val's label consistently, so val's labels "
                     "look coded differently from train's (another label mapping, classes rotated, rows and labels "
                     "shifted when joining files), and every val figure above measures that mismatch")
    return notes
