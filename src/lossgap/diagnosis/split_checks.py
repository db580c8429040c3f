"""Checks of the splits themselves, beside the causes: val that is the training set again, val samples whose inputs
are copies of training samples', val labels that contradict what the model learned, val that trails train from the
first epoch, and train and val drawn from different mixes of classes. None is a cause of a
plateau; each changes how every val figure reads, so each puts a warning before the headline (or a clause in it)
and a note among the limitations, and no verdict reads them. The measurements are in
:mod:`lossgap.analysis.label_coding`, :mod:`lossgap.analysis.shared_inputs` and :mod:`lossgap.analysis.class_shares`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lossgap.analysis.class_shares import ClassShareShift, PredictedMixShift, class_share_shift, predicted_mix_shift
from lossgap.analysis.label_coding import LabelBlindShortfall, SharedSamples, label_blind_shortfall, shared_samples
from lossgap.analysis.plateaus import accuracy_noise
from lossgap.analysis.shared_inputs import CopiedValSamples, copied_val_samples
from lossgap.diagnosis.constraints import resampled_classes
from lossgap.diagnosis.length_checks import length_shortcut_of, length_warning
from lossgap.plain import to_plain

if TYPE_CHECKING:  # pragma: no cover - for type checkers only: evidence imports this module
    from lossgap.diagnosis.evidence import RunEvidence

#: Samples that repeat another sample's inputs in their own split (train, val) get a note from this share of it on.
REPEATED_SHARE = 0.05
#: A model "learned" train at an epoch when its train accuracy there lies this far above val's label-blind level.
LEARNED_MARGIN = 0.2


#: Train-minus-val accuracy at epoch 1 (and three noise units) from which val's errors count as there from the start,
#: when the val loss was lowest at epoch 1 and val accuracy did not fall afterwards by HELD_NOISE noise units.
FIRST_EPOCH_GAP, HELD_NOISE = 0.1, 2.0
#: Val samples listed (most surely wrong first) in the warning.
LISTED_WRONG = 5


@dataclass(frozen=True)
class WrongFromTheStart:
    """Val accuracy trailing train's from the first epoch: accuracies at epoch 1 and at the delivered epoch, and the
    val samples wrong at both (``wrong_ids``, the most surely wrong at the delivered epoch first, at most
    LISTED_WRONG; ``wrong_count`` in all)."""

    train_accuracy: float
    val_accuracy: float
    delivered_epoch: int
    delivered_val_accuracy: float
    wrong_ids: tuple
    wrong_count: int


@dataclass(frozen=True)
class SplitChecks:
    """What the checks found: ``same_split`` (val samples carrying training ids and labels, when val looks like the
    training set again), ``contradicted`` (val accuracy far below label-blind predictions while train is learned),
    ``shift`` (the splits' class mixes, when clearly different) and ``copied`` (val accuracy with and without the
    val samples whose inputs are copies of training samples'); None where the check found nothing."""

    same_split: SharedSamples | None
    contradicted: LabelBlindShortfall | None
    shift: ClassShareShift | None
    copied: CopiedValSamples | None = None
    wrong_from_start: WrongFromTheStart | None = None
    #: Classes with val samples but no training sample: {class index: its val samples} (empty when none).
    untrained: dict = dataclasses.field(default_factory=dict)
    #: The model fits train yet spreads its val predictions over the classes unlike train's and val's labels: it sees
    #: val's inputs as unlike its training inputs (None otherwise).
    predicted_mix: PredictedMixShift | None = None


def check_splits(evidence: RunEvidence) -> SplitChecks:
    """The checks on ``evidence``'s recorded splits (all but ``copied`` need the train split's records)."""
    copied = _copied(evidence)
    untrained = _untrained(evidence)
    if evidence.train is None:
        return SplitChecks(None, None, None, copied, untrained=untrained)
    shared = shared_samples(evidence.train, evidence.val)
    shortfall = label_blind_shortfall(evidence.val)
    # An evaluated model that misses train and val alike in its last epoch has jumped, which says nothing about
    # the labels: the model must get train right at that epoch.
    if shortfall is not None and (not shortfall.contradicted or float(
            evidence.curves.train_accuracy[shortfall.epoch - 1]) < shortfall.expected + LEARNED_MARGIN):
        shortfall = None
    shift = class_share_shift(evidence.train_class_counts, evidence.val_per_class.support)
    # The predicted mix stands in for input statistics a run did not record (own loops without inputs=): where they
    # were recorded and show val like train, a lopsided mix is the model's own (a trial's batch-norm model memorising
    # shuffled labels put 53% of val and 54% of the clean test split, both prepared as train, into one class, and the
    # run read "Val inputs look unlike train's" over its recorded, unshifted input statistics).
    predicted = predicted_mix_shift(evidence.train, evidence.val) if not _recorded_inputs(evidence, "val") else None
    return SplitChecks(shared if shared.same_split else None, shortfall,
                       shift if shift is not None and shift.shifted else None, copied,
                       None if shortfall is not None else _wrong_from_the_start(evidence), untrained,
                       predicted if predicted is not None and predicted.shifted else None)


def _untrained(evidence: RunEvidence) -> dict:
    """{class index: val samples} of the classes val holds and train does not: the model cannot learn them (an own loop
    whose train loader coded class 3 as 4 had read overfitting 0.94 from those val samples growing surer wrong)."""
    support = evidence.val_per_class.support
    counts = np.asarray(evidence.train_class_counts)
    return {int(cls): int(support[cls]) for cls in np.flatnonzero((support > 0) & (counts[:support.size] == 0))}


def _wrong_from_the_start(evidence: RunEvidence) -> WrongFromTheStart | None:
    """Val accuracy trailing train's by FIRST_EPOCH_GAP and three noise units at epoch 1, where the val loss was lowest,
    and not falling afterwards: one epoch is too soon to have memorised the training set, so the val samples the
    model gets wrong were wrong from the start, as wrong val labels or val inputs unlike train's make them (a quarter
    of the val labels flipped, train 0.944 against val 0.710 at epoch 1, had read overfitting 1.00 with "stop at
    epoch 1" first; on the true val labels the model rose 0.93 -> 0.965 after it). None otherwise."""
    delivered = evidence.delivered_epoch
    if evidence.val_loss_min_epoch != 1 or delivered <= 1:
        return None
    curves, val = evidence.curves, evidence.val
    train_accuracy, val_accuracy = float(curves.train_accuracy[0]), float(curves.val_accuracy[0])
    noise = float(np.hypot(accuracy_noise(train_accuracy, evidence.train_count),
                           accuracy_noise(val_accuracy, val.num_samples)))
    at_delivered = float(curves.val_accuracy[delivered - 1])
    held = val_accuracy - at_delivered <= HELD_NOISE * accuracy_noise(val_accuracy, val.num_samples)
    if not (train_accuracy - val_accuracy >= max(FIRST_EPOCH_GAP, 3 * noise) and held):
        return None
    wrong = np.flatnonzero(val.seen[0] & val.seen[delivered - 1] & ~val.correct[0] & ~val.correct[delivered - 1])
    order = wrong[np.argsort(val.true_log_prob[delivered - 1][wrong], kind="stable")]
    return WrongFromTheStart(train_accuracy, val_accuracy, delivered, at_delivered,
                             tuple(to_plain(sample) for sample in val.sample_ids[order[:LISTED_WRONG]]), int(wrong.size))


def _copied(evidence: RunEvidence) -> CopiedValSamples | None:
    """Val accuracy at the best epoch with and without the val samples config.json lists as copies of training
    inputs; None without any (or for a run that did not record them)."""
    shared = (evidence.shared_inputs or {}).get("val") or {}
    if not shared.get("ids"):
        return None
    return copied_val_samples(evidence.val, shared["ids"], int(shared.get("same_label", 0)), evidence.best_epoch,
                              evidence.train_class_counts)


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
    shift = _shifted(evidence, "val")
    if shift is not None:
        # A val split shifted by 1.5 standard deviations read no signal 0.95 without a word on its inputs.
        warning += (f"Val inputs differ from train's: {_shift_words(evidence, shift)} (see the note); read the rest "
                    "with that in mind: ")
    elif checks.predicted_mix is not None:
        # Own loops record no inputs: one that fed val unstandardised (train standardised) read no signal 0.95, the
        # recorded test split, prepared as train, at 0.98.
        warning += (f"Val inputs look unlike train's to the model: {_predicted_mix_words(evidence)} (see the note); "
                    "check that val is prepared as train is; read the rest with that in mind: ")
    warning += length_warning(evidence)
    copied = checks.copied
    if copied is not None and copied.warns:
        # A data file whose val rows repeated 60 training rows on random labels read overfitting 1.00 at val 0.79,
        # while the model was at chance on the other 60.
        warning += (f"Val shares inputs with training (see the note): {_copies(copied)}, and val accuracy "
                    f"{copied.accuracy:.3f} at epoch {copied.epoch} counts them: {copied.copies_accuracy:.3f} on them, "
                    f"{_fresh_words(copied)}; drop them from val (remove duplicate rows before splitting); read the "
                    "rest with that in mind: ")
    start = checks.wrong_from_start
    if start is not None:
        shown = ", ".join(str(sample) for sample in start.wrong_ids)
        more = ", ..." if start.wrong_count > len(start.wrong_ids) else ""
        warning += (f"Val trails train from the first epoch: val accuracy {start.val_accuracy:.3f} against train's "
                    f"{start.train_accuracy:.3f} at epoch 1, too soon for the model to have memorised its training "
                    f"set, and {start.delivered_val_accuracy:.3f} at epoch {start.delivered_epoch}; "
                    f"{start.wrong_count} val samples were wrong from the start ({shown}{more}): check their labels "
                    "and how val was drawn; read the rest with that in mind: ")
    if checks.untrained:
        warning += (f"Val holds {_untrained_words(evidence)} with no training sample: the model cannot predict "
                    f"{'it' if len(checks.untrained) == 1 else 'them'}, so those val samples stay wrong and grow surer "
                    "of other classes; check that both splits code their labels alike (a mapping off by one moves a "
                    "class) and how val was drawn; read the rest with that in mind: ")
    shortfall = checks.contradicted
    if shortfall is not None:
        # A val split whose classes were rotated read overfitting 1.00 at val accuracy 0.000 on four classes.
        warning += (f"Val labels contradict what the model learned: val accuracy {shortfall.accuracy:.3f} at epoch "
                    f"{shortfall.epoch} is far below the {shortfall.expected:.3f} that guesses ignoring the labels get "
                    "(see the note); check that val's labels are coded as train's; read the rest with that in mind: ")
    return warning


def val_inputs_differ(evidence: RunEvidence) -> str:
    """What shows val's inputs unlike train's, for a sentence: their feature statistics (config.json's input shift,
    runs lossgap loaded), sequence lengths that give train's labels away and not val's (config.json's length
    shortcut), or the mix of classes the model predicts on them; "" when none does."""
    shift = _shifted(evidence, "val")
    if shift is not None:
        return _shift_words(evidence, shift)
    lengths = length_shortcut_of(evidence)
    if lengths is not None and not lengths.in_split:
        return lengths.words()
    return _predicted_mix_words(evidence) if evidence.split_checks.predicted_mix is not None else ""


def _predicted_mix_words(evidence: RunEvidence) -> str:
    """"it puts 90% of val into class '0' against 52% of train (and 56% of val's labels) over epochs 11-20"."""
    mix = evidence.split_checks.predicted_mix
    over = mix.over_predicted
    return (f"it puts {mix.val_shares[over]:.0%} of val into class {evidence.class_label(over)} against "
            f"{mix.train_shares[over]:.0%} of train (and {mix.val_label_shares[over]:.0%} of val's labels) over "
            f"epochs {mix.first_epoch}-{mix.last_epoch}, while it gets {mix.train_accuracy:.0%} of train right")


def _untrained_words(evidence: RunEvidence) -> str:
    """"class '3' (5 val samples)", or "classes '3' (5 val samples) and '7' (2)" for the untrained classes."""
    named = [f"{evidence.class_label(cls)} ({count}{' val samples' if not index else ''})"
             for index, (cls, count) in enumerate(evidence.split_checks.untrained.items())]
    if len(named) == 1:
        return f"class {named[0]}"
    return f"classes {', '.join(named[:-1])} and {named[-1]}"


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


#: Median share of the training samples recorded over the run that one epoch's train records hold, below which the
#: records are partial (see partial_train_records).
PARTIAL_TRAIN_SHARE = 0.5


def partial_train_records(evidence: RunEvidence) -> tuple[int, int] | None:
    """(median samples per epoch, samples recorded over the run) when each epoch's train records hold under
    PARTIAL_TRAIN_SHARE of the training samples recorded over the run, else None: an own loop that called
    recorder.update("train", ...) once after its batch loop recorded 17 of its 657 samples per epoch, and its train
    accuracy of 1.000 from them went without a word (trial 19)."""
    train = evidence.train
    if train is None or train.num_epochs < 2:
        return None
    seen = np.asarray(train.seen, dtype=bool)
    total = int(seen.any(axis=0).sum())
    per_epoch = int(np.median(seen.sum(axis=1)))
    return (per_epoch, total) if total and per_epoch < PARTIAL_TRAIN_SHARE * total else None


def split_notes(evidence: RunEvidence) -> list[str]:
    """The notes on what the checks found, for the diagnosis's limitations."""
    checks, notes = evidence.split_checks, []
    partial = partial_train_records(evidence)
    if partial is not None:
        # A sampler that draws with replacement to balance the classes leaves samples out of each epoch whatever the
        # loop records: a trial's own loops with a WeightedRandomSampler, recording every batch, drew about 421 of 924
        # ids per epoch and had been told to record inside the batch loop, which they did.
        fix = ("its sampler draws with replacement, so each epoch leaves the rest out, and a sample's epochs are the "
               "ones it was drawn in" if resampled_classes(evidence.settings) else
               "record every training batch (recorder.update(\"train\", ...) inside the batch loop)")
        notes.append(f"each epoch's train records hold about {partial[0]} of the {partial[1]} training samples recorded "
                     "over the run: train loss and accuracy, and every rule that reads the training samples, see only "
                     f"those; {fix}")
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
    copied = checks.copied
    if copied is not None:
        # "Answers those from memory" had been said of copies it got less often right than the rest (0.933 against
        # 0.957): the model trained on them, whatever it made of them.
        notes.append(f"{_copies(copied)}: the model trained on those very inputs, so val accuracy ({copied.accuracy:.3f} "
                     f"at epoch {copied.epoch}) mixes what it fitted with how it generalises, and every val figure "
                     f"above does too ({copied.copies_accuracy:.3f} on the copies); {_fresh_words(copied)}. Duplicate rows in the data land on both sides of a "
                     "split: remove them before splitting, or drop the copies from val")
    for split in ("val", "test"):
        shift = _shifted(evidence, split)
        if shift is not None:
            notes.append(f"{split}'s inputs differ from train's: {_shift_words(evidence, shift)}. A model learns the "
                         f"ranges of its training inputs, so {split} figures measure this difference too; check that "
                         f"{split} was recorded and preprocessed as train was (scaled with train's statistics, the "
                         "same units, sensors and order of features)")
    mix = checks.predicted_mix
    if mix is not None:
        notes.append(f"the model sees val's inputs as unlike its training inputs: {_predicted_mix_words(evidence)} "
                     f"(chi-square test of the predicted classes, p={mix.p_value:.1g} at the median epoch); a model that "
                     "fits train spreads fresh inputs from the same source over the classes much as it spreads train, "
                     "whether or not it generalises (shuffled labels included). Check that val is preprocessed as "
                     "train is (scaled with train's statistics, in the same units and order of features) and drawn "
                     "from the same source; until then val figures measure that difference too")
    repeated = (evidence.shared_inputs or {}).get("train") or {}
    if repeated.get("count", 0) >= REPEATED_SHARE * evidence.train_count:
        # 40 distinct rows, each 5 times, had read overfitting 1.00 with "collect more data" and no word that the
        # model had seen only 40 examples.
        notes.append(f"{repeated['count']} of the {evidence.train_count} training samples repeat another training "
                     f"sample's inputs exactly ({repeated['distinct']} distinct inputs in all): the model learns from "
                     "fewer examples than the count says, and memorises the repeated ones sooner")
    repeated_val = (evidence.shared_inputs or {}).get("val") or {}
    if repeated_val.get("repeated", 0) >= REPEATED_SHARE * evidence.val.num_samples:
        # A val split of 183 rows held 61 distinct inputs, and every test counted 183.
        notes.append(f"{repeated_val['repeated']} of the {evidence.val.num_samples} val samples repeat another val "
                     f"sample's inputs exactly ({repeated_val['distinct']} distinct inputs in all): val accuracy counts "
                     "each repeat as its own test, so its figures are less precise than the count suggests")
    test = (evidence.shared_inputs or {}).get("test") or {}
    if test.get("count"):
        notes.append(f"{test['count']} test sample(s) are exact copies of a training sample's inputs "
                     f"({test.get('same_label', 0)} with its label too): test accuracy counts what the model memorised "
                     "of them")
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


def _copies(copied: CopiedValSamples) -> str:
    """"60 of the 120 val samples are exact copies of a training sample's inputs (all with its label too)"."""
    labels = ("all with its label too" if copied.same_label == copied.copies
              else f"{copied.same_label} with its label too, {copied.copies - copied.same_label} with another label")
    return (f"{copied.copies} of the {copied.num_val} val samples are exact copies of a training sample's inputs "
            f"({labels})")


def _fresh_words(copied: CopiedValSamples) -> str:
    """What val accuracy is on the samples that are not copies, against their majority baseline."""
    fresh = copied.fresh
    if fresh is None or fresh.num_samples == 0:
        return "no val sample is left to measure how the model generalises"
    verdict = (f"significantly above it, p={fresh.p_value:.1g}" if fresh.significant
               else "not significantly above it")
    return (f"{fresh.accuracy:.3f} on the other {fresh.num_samples} (their majority baseline "
            f"{fresh.baseline_accuracy:.3f}, {verdict})")


def _recorded_inputs(evidence: RunEvidence, split: str) -> bool:
    """True when config.json holds the input statistics of ``split`` (shifted or not)."""
    return bool((evidence.input_shift or {}).get(split))


def _shifted(evidence: RunEvidence, split: str) -> dict | None:
    """config.json's input shift of ``split`` when it counts as shifted, else None."""
    shift = (evidence.input_shift or {}).get(split) or {}
    return shift if shift.get("shifted") else None


def _shift_words(evidence: RunEvidence, shift: dict) -> str:
    """"feature 0's mean lies 1.50 training standard deviations from train's, its spread 1.00x train's", or for a
    feature train holds at one value, "feature 3 is 1 throughout train but averages 5 here"."""
    if shift.get("train_constant"):
        return (f"feature {shift['feature']} is {shift['train_mean']:.4g} throughout train but averages "
                f"{shift['mean']:.4g} here")
    spread = shift.get("scale_ratio")
    return (f"feature {shift['feature']}'s mean lies {shift['mean_shift']:.2f} training standard deviations from "
            f"train's" + (f", its spread {spread:.2f}x train's" if spread is not None else ""))
