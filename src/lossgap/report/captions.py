"""Plain-words captions of the report's figures, with the run's own numbers in them.

Each function takes the diagnosis's evidence and returns one paragraph (plain text; the template escapes it).
"""

from __future__ import annotations

import math

import numpy as np

from lossgap.analysis.calibration import Calibration
from lossgap.diagnosis.evidence import RunEvidence


def _number(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if value is not None and math.isfinite(value) else "n/a"


def _samples(count: int) -> str:
    return f"{count} sample" if count == 1 else f"{count} samples"


def curves_caption(evidence: RunEvidence) -> str:
    """Caption of the loss and accuracy figure: noise band, plateaus, best epoch and onset, references."""
    curves = evidence.curves
    n = evidence.val.num_samples
    floor = 2.0 / n
    parts = [
        "Loss (top) and accuracy (bottom) per epoch, train in blue and val in orange, on the same epochs.",
        f"The orange band is val accuracy \u00b1 its noise: the binomial standard error on {n} val samples, never "
        f"less than two samples' worth ({floor:.3f}). A move inside the band is not a real change.",
    ]
    plateaus = evidence.plateaus.get("val", ())
    if plateaus:
        windows = "; ".join(
            f"epochs {p.start_epoch}\u2013{p.end_epoch}: val loss {'fell' if p.loss_change < 0 else 'rose'} by "
            f"{abs(p.loss_change):.3f} while val accuracy changed by {p.accuracy_change:+.3f} "
            f"(noise {p.accuracy_noise:.3f})" for p in sorted(plateaus, key=lambda p: p.start_epoch))
        parts.append(f"Shaded yellow: the plateaus, where val accuracy stayed within its noise while val loss "
                     f"moved clearly ({windows}).")
    else:
        parts.append("No plateau was found: nowhere did val accuracy stay within its noise for five epochs or "
                     "more while val loss moved clearly.")
    general = evidence.generalization
    lowest = evidence.val_loss_min_epoch
    index = lowest - 1
    text = (f"The dashed line marks the lowest val loss, at epoch {lowest}: val loss "
            f"{_number(curves.val_loss[index])}, val accuracy {_number(curves.val_accuracy[index])}.")
    if evidence.best_epoch != lowest:
        text += (f" The run's best epoch by its own monitor is epoch {evidence.best_epoch} (dash-dotted): that is the "
                 "epoch the diagnosis and the summary call best.")
    if general.onset_epoch is not None:
        text += (f" After the minimum, val loss rose by {_number(float(curves.val_loss[-1] - curves.val_loss[index]))} "
                 f"while train loss kept falling: overfitting (its onset, on val loss smoothed over three epochs, at "
                 f"epoch {general.onset_epoch}), and the gap between them went from {_number(general.gap[index])} to "
                 f"{_number(general.gap_at_end)}.")
    parts.append(text)
    parts.append(f"The grey dashed lines are what a model that learned nothing reaches: the loss of predicting the "
                 f"class shares ({_number(evidence.signal.prior_entropy)}) and the accuracy of always answering the "
                 f"majority class ({_number(evidence.signal.baseline_accuracy)}).")
    return " ".join(parts)


def ledger_caption(evidence: RunEvidence) -> str:
    """Caption of the loss-ledger figure, ending with the ledger sentence of the diagnosed window."""
    parts = [
        "Each bar splits the change of the mean val loss from the epoch before among five groups of val samples: "
        "right at both epochs (dark blue), wrong at both but moved toward the true class (light blue) or away "
        "from it (orange), and those that crossed over (green: wrong to right, red: right to wrong). The groups "
        "add up exactly to the net change (black line). Accuracy changes only through the green and red groups, "
        "so where the blue bars carry a fall, the loss falls while accuracy stands still.",
    ]
    ledger = evidence.ledger
    if ledger is not None and ledger.num_samples:
        plateau = evidence.main_plateau
        on_plateau = (plateau is not None and ledger.start_epoch == plateau.start_epoch
                      and ledger.end_epoch == plateau.end_epoch)
        window = (f"the plateau, epoch {ledger.start_epoch} to {ledger.end_epoch} (shaded on the left)" if on_plateau
                  else f"the whole run, epoch {ledger.start_epoch} to {ledger.end_epoch}")
        parts.append(f"Right: the same ledger over {window}"
                     + (f": {evidence.ledger_sentence}." if evidence.ledger_sentence else "."))
    return " ".join(parts)


def true_probability_caption(evidence: RunEvidence) -> str:
    """Caption of the true-class probability heatmap; says which lines are drawn and why (2 vs C classes)."""
    val = evidence.val
    classes = val.num_classes
    probability = np.where(val.seen, val.true_prob, np.nan)
    usable = np.isfinite(probability)
    with np.errstate(invalid="ignore"):
        above = np.nansum(probability > 0.5, axis=1) / np.maximum(usable.sum(axis=1), 1)
        median = np.nanmedian(np.where(usable, probability, np.nan), axis=1) if usable.any() else None
    parts = [f"Each column is one epoch; the colour shows the share of the {val.num_samples} val samples whose "
             "probability for their true class lies in each band of width 0.05. The orange line is the median "
             "sample."]
    if classes == 2:
        parts.append("With two classes a sample is predicted right exactly when that probability is above 0.5 "
                     "(dashed line).")
    else:
        parts.append(f"With {classes} classes a sample is predicted right when its true class gets the largest "
                     "probability: surely so above 0.5 (dashed line), surely not below "
                     f"1/{classes} = {1 / classes:.3f} (dotted line), and in between it depends on how the rest "
                     "is spread over the other classes.")
    parts.append("Mass moving up inside the upper region (right answers growing more confident) or inside the lower "
                 "one (wrong answers getting closer without crossing) lowers the loss without changing accuracy.")
    if median is not None and val.num_epochs >= 2:
        parts.append(f"The median went from {_number(median[0])} at epoch 1 to {_number(median[-1])} at epoch "
                     f"{val.num_epochs}; the share above 0.5 from {above[0]:.1%} to {above[-1]:.1%}.")
    return " ".join(parts)


def per_class_caption(evidence: RunEvidence, class_names: list[str]) -> str:
    """Caption of the per-class figure, naming rare and never-predicted classes."""
    per_class = evidence.val_per_class

    def names(indices) -> str:
        return ", ".join(str(class_names[i]) if i < len(class_names) else str(i) for i in indices)

    parts = ["Left: the share of each val class that was predicted right, per epoch (recall); the dashed line is "
             "their mean, the balanced accuracy. Right: each class's share of the val samples against the share of "
             "the predictions that went to it at the best and at the last epoch. A model that leans on the frequent "
             "classes shows rare classes with recall near 0 and a predicted share far below their true share."]
    final = per_class.num_epochs
    parts.append(f"At the last epoch, accuracy {_number(per_class.accuracy[-1])} and balanced accuracy "
                 f"{_number(per_class.balanced_accuracy[-1])}.")
    if per_class.minority:
        parts.append(f"Rare classes in val: {names(per_class.minority)}.")
    if per_class.never_predicted:
        parts.append(f"Never predicted at epoch {final}: {names(per_class.never_predicted)}.")
    return " ".join(parts)


def calibration_caption(calibration: Calibration, num_samples: int) -> str:
    """Caption of the calibration figure: ECE at the best and last epoch and what temperature scaling removes."""
    parts = [f"Left: the {num_samples} val predictions grouped by confidence (15 bins; dot size = how many); a "
             "calibrated model lies on the diagonal, one below it is overconfident. Right: the expected calibration "
             "error per epoch, the mean gap between confidence and accuracy."]
    if calibration.reliability_best is not None and calibration.best_epoch is not None:
        parts.append(f"ECE {_number(calibration.reliability_best.ece)} at epoch {calibration.best_epoch} (best) and "
                     f"{_number(calibration.reliability_final.ece)} at epoch {calibration.final_epoch} (last).")
    fit = calibration.temperature_final
    if fit is not None and calibration.loss_removed_share is not None and fit.loss_before > 0:
        parts.append(f"Dividing the last epoch's logits by one temperature T = {fit.temperature:.2f} would lower the "
                     f"val loss from {_number(fit.loss_before)} to {_number(fit.loss_after)} "
                     f"({calibration.loss_removed_share:.0%} of it) without changing a single prediction: that part "
                     "of the loss is about confidence, not about being right.")
    return " ".join(parts)


def data_map_caption(evidence: RunEvidence) -> str:
    """Caption of the data map: the epochs averaged and the suspect rule."""
    samples = evidence.train_samples
    if samples is None:
        return ""
    window = f"epochs {samples.burn_in + 1}\u2013{samples.until_epoch}"
    # The window ends at the smoothed val-loss minimum, which may be the last epoch of a flat tail.
    why = ("the whole run: its val loss, smoothed over 3 epochs, was lowest at the end"
           if samples.until_epoch >= samples.num_epochs else
           f"up to epoch {samples.until_epoch}, where its val loss smoothed over 3 epochs was lowest, before "
           "memorisation can lift mislabeled samples")
    parts = [f"Each dot is one of the {samples.num_samples} training samples: how sure the model was of its given "
             f"label on average over {window} ({why}) against how much that changed, coloured by the share of those "
             "epochs it was predicted "
             "right. Easy samples sit at the top, ambiguous ones in the middle with high variability, and samples "
             "the model kept contradicting at the bottom."]
    suspects = evidence.suspects
    if suspects is not None and len(suspects.indices):
        parts.append(f"Ringed: {_samples(len(suspects.indices))} ({suspects.fraction:.1%} of the training set) "
                     f"suspected mislabeled, because another class beat the given label on average (area under the "
                     f"margin below {suspects.threshold:.2f})"
                     + ("; so many that the model more likely just has not learned the task." if suspects.capped
                        else "."))
    else:
        parts.append("No sample is suspected mislabeled: the given label won on average for every sample.")
    return " ".join(parts)

