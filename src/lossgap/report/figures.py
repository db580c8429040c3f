"""The report's figures, drawn with matplotlib's Agg renderer from a diagnosis's evidence.

Every function returns PNG bytes (about 900 px wide at 100 dpi, so a 100-epoch report stays small) or None
when the run did not record what the figure needs. Figures are built on ``matplotlib.figure.Figure`` directly,
never through pyplot, so no global state is touched and nothing leaks between reports.
"""

from __future__ import annotations

import matplotlib
import numpy as np
from matplotlib.colors import PowerNorm

from lossgap.analysis.calibration import Calibration, calibration
from lossgap.analysis.ledger import LEDGER_GROUPS, ledger_series
from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.evidence import RunEvidence
from lossgap.dynamics import SplitDynamics
from lossgap.report.figure_style import (BEST_COLOUR, GROUP_COLOURS, GROUP_LABELS, LEGEND_ROW, ONSET_COLOUR,
                                         PLATEAU_COLOUR, TRAIN_COLOUR, VAL_COLOUR, Margins, legend_rows, new_figure,
                                         plain_label, styled, to_png)


def _epochs(count: int) -> np.ndarray:
    return np.arange(1, count + 1)


@styled
def curves_figure(evidence: RunEvidence) -> bytes:
    """Loss (top) and accuracy (bottom) of train and val on shared epochs.

    Val plateaus are shaded, the val-loss minimum, the run's best epoch and the overfitting onset are marked,
    val accuracy carries its binomial noise band (+- accuracy_noise), and the majority-class baseline and the
    loss of predicting the class shares are drawn as references. Returns PNG bytes.
    """
    curves = evidence.curves
    epochs = _epochs(curves.num_epochs)
    plateaus = evidence.plateaus.get("val", ())
    entries = 3 + bool(plateaus) + 2 + (evidence.best_epoch != evidence.val_loss_min_epoch) + (
        evidence.generalization.onset_epoch not in (None, evidence.val_loss_min_epoch))
    figure = new_figure(5.4, margins=Margins(top=0.12 + LEGEND_ROW * legend_rows(entries, 4), hspace=0.08))
    loss_axis, accuracy_axis = figure.subplots(2, 1, sharex=True)
    for plateau in plateaus:
        for axis in (loss_axis, accuracy_axis):
            axis.axvspan(plateau.start_epoch - 0.5, plateau.end_epoch + 0.5, color=PLATEAU_COLOUR, alpha=0.3, lw=0,
                         zorder=0, label="val plateau" if axis is loss_axis and plateau is plateaus[0] else None)
    loss_axis.plot(epochs, curves.train_loss, color=TRAIN_COLOUR, lw=1.4, label="train")
    loss_axis.plot(epochs, curves.val_loss, color=VAL_COLOUR, lw=1.6, label="val")
    noise = accuracy_noise(np.nan_to_num(curves.val_accuracy), evidence.val.num_samples)
    accuracy_axis.fill_between(epochs, np.clip(curves.val_accuracy - noise, 0, None),
                               np.clip(curves.val_accuracy + noise, None, 1), color=VAL_COLOUR,
                               alpha=0.18, lw=0, label="val accuracy \u00b1 its noise")
    accuracy_axis.plot(epochs, curves.train_accuracy, color=TRAIN_COLOUR, lw=1.4)
    accuracy_axis.plot(epochs, curves.val_accuracy, color=VAL_COLOUR, lw=1.6)
    _reference_line(loss_axis, evidence.signal.prior_entropy, "predicting the class shares")
    _reference_line(accuracy_axis, evidence.signal.baseline_accuracy, "always the majority class")

    general = evidence.generalization
    lowest = evidence.val_loss_min_epoch
    onset_here = general.onset_epoch == lowest
    label = (f"val-loss minimum = overfitting onset (epoch {lowest})" if onset_here
             else f"val-loss minimum (epoch {lowest})")
    for axis in (loss_axis, accuracy_axis):
        axis.axvline(lowest, color=ONSET_COLOUR if onset_here else BEST_COLOUR, ls="--", lw=1.2,
                     label=label if axis is loss_axis else None)
    if evidence.best_epoch != lowest:
        for axis in (loss_axis, accuracy_axis):
            axis.axvline(evidence.best_epoch, color=BEST_COLOUR, ls="-.", lw=1.2,
                         label=f"best epoch by the run's monitor ({evidence.best_epoch})" if axis is loss_axis else None)
    if general.onset_epoch is not None and general.onset_epoch != lowest:
        for axis in (loss_axis, accuracy_axis):
            axis.axvline(general.onset_epoch, color=ONSET_COLOUR, ls=":", lw=1.5,
                         label=f"overfitting onset (epoch {general.onset_epoch})" if axis is loss_axis else None)
    loss_axis.set_ylabel("mean loss (nats)")
    accuracy_axis.set_ylabel("accuracy")
    accuracy_axis.set_xlabel("epoch")
    accuracy_axis.set_xlim(0.5, max(curves.num_epochs, 2) + 0.5)
    handles, labels = loss_axis.get_legend_handles_labels()
    extra_handles, extra_labels = accuracy_axis.get_legend_handles_labels()
    figure.legend(handles + extra_handles, labels + extra_labels, loc="upper center", bbox_to_anchor=(0.5, 1.0),
                  ncol=4, frameon=False)
    return to_png(figure)


def _reference_line(axis, value: float, text: str) -> None:
    """A grey dashed horizontal line at ``value``, named at its right end (skipped for non-finite values)."""
    if not np.isfinite(value):
        return
    axis.axhline(value, color="#868e96", ls=(0, (4, 3)), lw=0.9)
    axis.annotate(f"{text} ({value:.3f})", xy=(1.0, value), xycoords=("axes fraction", "data"), xytext=(-3, 3),
                  textcoords="offset points", ha="right", va="bottom", fontsize=7.5, color="#495057",
                  bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})


@styled
def ledger_figure(evidence: RunEvidence) -> bytes | None:
    """The loss ledger of the val split: left, each group's contribution to the change in mean val loss from
    the previous epoch, stacked, with the net change; right, the ledger of the diagnosed window (the main
    plateau, or the whole run). Returns PNG bytes, or None with fewer than two epochs."""
    val = evidence.val
    if val.num_epochs < 2:
        return None
    series = ledger_series(val)
    figure = new_figure(4.0, margins=Margins(top=0.15 + LEGEND_ROW * legend_rows(len(LEDGER_GROUPS) + 1, 3),
                                             wspace=0.08))
    per_epoch, window = figure.subplots(1, 2, gridspec_kw={"width_ratios": [3.0, 1.0]})
    x = series.start_epochs + 1
    rising = np.zeros(len(x))
    falling = np.zeros(len(x))
    # One filled step artist per group instead of one bar per epoch and group: the same stacked picture at a
    # fraction of the drawing cost (hundreds of patches were most of this figure's time).
    edges = np.append(x - 0.5, x[-1] + 0.5)
    for index, name in enumerate(LEDGER_GROUPS):
        values = np.nan_to_num(series.contributions[:, index])
        bottom = np.where(values >= 0, rising, falling)
        per_epoch.stairs(bottom + values, edges, baseline=bottom, fill=True, color=GROUP_COLOURS[name], lw=0,
                         label=GROUP_LABELS[name])
        rising += np.clip(values, 0, None)
        falling += np.clip(values, None, 0)
    per_epoch.plot(x, series.loss_change, color="black", lw=1.0, marker="." if len(x) <= 80 else None, ms=3,
                   label="net change of mean loss")
    per_epoch.axhline(0, color="black", lw=0.6)
    ledger = evidence.ledger
    plateau = evidence.main_plateau
    if (ledger is not None and plateau is not None and ledger.split == val.split
            and (ledger.start_epoch, ledger.end_epoch) == (plateau.start_epoch, plateau.end_epoch)):
        per_epoch.axvspan(ledger.start_epoch + 0.5, ledger.end_epoch + 0.5, color=PLATEAU_COLOUR, alpha=0.25, lw=0,
                          zorder=0)
    per_epoch.set_xlabel("epoch (change since the epoch before)")
    per_epoch.set_ylabel("change of mean val loss (nats)")
    per_epoch.set_xlim(1.5 - 0.5, val.num_epochs + 0.5)
    per_epoch.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=3, frameon=False)

    if ledger is not None and ledger.num_samples > 0:
        contributions = np.array([group.loss_change for group in ledger.groups] + [ledger.loss_change])
        positions = np.arange(len(contributions))[::-1].astype(float)
        positions[-1] -= 0.4  # a gap before the net change
        window.barh(positions, contributions, height=0.7,
                    color=[GROUP_COLOURS[group.name] for group in ledger.groups] + ["black"])
        span = float(np.abs(contributions).max()) or 1.0
        for position, value, text in zip(positions, contributions,
                                         [_count(group.count) for group in ledger.groups] + ["net"]):
            window.annotate(text, xy=(value, position), xytext=(3 if value >= 0 else -3, 0),
                            textcoords="offset points", ha="left" if value >= 0 else "right", va="center",
                            fontsize=7.5)
        window.set_xlim(-1.45 * span, 1.45 * span)
        window.set_yticks([])
        window.axvline(0, color="black", lw=0.6)
        window.set_title(f"{ledger.split}, epoch {ledger.start_epoch} \u2192 {ledger.end_epoch}")
        window.set_xlabel("contribution (nats)")
        window.grid(axis="y", visible=False)
        window.spines["left"].set_visible(False)
    else:
        window.set_axis_off()
    return to_png(figure)


def true_probability_shares(dynamics: SplitDynamics, bins: int = 20) -> np.ndarray:
    """float (bins, E): the share of a split's seen samples whose true-class probability falls in each of
    ``bins`` equal bins of [0, 1] (bin b holds [b/bins, (b+1)/bins); 1.0 goes to the last), per epoch.
    Each column sums to 1 (0 in an epoch with no sample seen)."""
    probability = np.where(dynamics.seen, dynamics.true_prob, np.nan)
    index = np.clip(np.floor(np.nan_to_num(probability, nan=-1.0) * bins).astype(np.int64), -1, bins - 1)
    usable = index >= 0
    # One bincount over (epoch, bin) cell numbers; unusable entries go to a spare cell that is dropped.
    cells = np.where(usable, np.arange(dynamics.num_epochs)[:, None] * bins + index, dynamics.num_epochs * bins)
    counts = np.bincount(cells.ravel(), minlength=dynamics.num_epochs * bins + 1)[:-1]
    counts = counts.reshape(dynamics.num_epochs, bins).T.astype(np.float64)
    return counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)


@styled
def true_probability_figure(evidence: RunEvidence, bins: int = 20) -> bytes:
    """Heatmap of the distribution of the val samples' true-class probability per epoch (columns = epochs,
    colour = share of samples in each probability bin), with its median, the 0.5 line and, for C > 2
    classes, the 1/C line. Returns PNG bytes."""
    val = evidence.val
    probability = np.where(val.seen, val.true_prob, np.nan)
    edges = np.linspace(0.0, 1.0, bins + 1)
    share = true_probability_shares(val, bins)
    figure = new_figure(3.8, margins=Margins(top=0.15 + LEGEND_ROW, right=0.05))
    axis = figure.subplots()
    image = axis.imshow(share, origin="lower", aspect="auto", cmap="Blues", interpolation="nearest",
                        norm=PowerNorm(0.5, vmin=0.0, vmax=max(float(share.max()), 1e-9)),
                        extent=(0.5, val.num_epochs + 0.5, edges[0], edges[-1]))
    epochs = _epochs(val.num_epochs)
    with np.errstate(all="ignore"):
        median = np.nanmedian(probability, axis=1) if np.isfinite(probability).any() else np.full(len(epochs), np.nan)
    axis.plot(epochs, median, color=VAL_COLOUR, lw=1.6, label="median val sample")
    if val.num_classes == 2:
        axis.axhline(0.5, color="black", ls="--", lw=1.1, label="0.5: the decision boundary")
    else:
        axis.axhline(0.5, color="black", ls="--", lw=1.1, label="0.5: right for sure above it")
        axis.axhline(1.0 / val.num_classes, color="black", ls=":", lw=1.3,
                     label=f"1/{val.num_classes}: wrong for sure below it")
    axis.set_xlabel("epoch")
    axis.set_ylabel("probability of the true class")
    axis.grid(False)
    axis.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=3, frameon=False)
    figure.colorbar(image, ax=axis, label="share of val samples", pad=0.01)
    return to_png(figure)


@styled
def per_class_figure(evidence: RunEvidence, class_names: list[str]) -> bytes:
    """Left: recall of every val class over epochs, with accuracy and balanced accuracy. Right: the share of
    val samples in each class against the share predicted as it at the best and the final epoch. PNG bytes."""
    per_class = evidence.val_per_class
    epochs = _epochs(per_class.num_epochs)
    num_classes = per_class.recall.shape[1]
    named = int((per_class.support > 0).sum()) if num_classes <= 10 else 0
    rotated = num_classes > 3
    figure = new_figure(4.0, margins=Margins(top=0.15 + LEGEND_ROW * max(3, legend_rows(named + 1, 3)),
                                             bottom=0.85 if rotated else 0.5, wspace=0.25))
    recall_axis, share_axis = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1.0]})
    colours = _class_colours(num_classes)
    for cls in range(num_classes):
        if per_class.support[cls] > 0:
            recall_axis.plot(epochs, per_class.recall[:, cls], color=colours[cls], lw=1.1, alpha=0.9,
                             label=plain_label(_name(class_names, cls)) if num_classes <= 10 else None)
    recall_axis.plot(epochs, per_class.balanced_accuracy, color="black", ls="--", lw=1.3, label="balanced accuracy")
    recall_axis.set_xlabel("epoch")
    recall_axis.set_ylabel("val recall per class")
    recall_axis.set_ylim(-0.03, 1.03)
    recall_axis.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=3, frameon=False)

    positions = np.arange(num_classes)
    best = evidence.best_epoch - 1
    bar = 0.27
    share_axis.bar(positions - bar, per_class.true_share, width=bar, color="#adb5bd", label="true")
    share_axis.bar(positions, per_class.predicted_share[best], width=bar, color=BEST_COLOUR,
                   label=f"predicted at epoch {best + 1}, the best")
    share_axis.bar(positions + bar, per_class.predicted_share[-1], width=bar, color=VAL_COLOUR,
                   label=f"predicted at epoch {per_class.num_epochs}, the last")
    step = max(1, num_classes // 20)
    share_axis.set_xticks(positions[::step], [plain_label(_name(class_names, cls), 14) for cls in positions[::step]],
                          rotation=30 if rotated else 0, ha="right" if rotated else "center")
    share_axis.set_ylabel("share of val samples")
    share_axis.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=1, frameon=False)
    return to_png(figure)


def val_calibration(evidence: RunEvidence) -> Calibration:
    """The evidence's val calibration, or one computed from the stored confidences when no logits were kept."""
    if evidence.val_calibration is not None:
        return evidence.val_calibration
    return calibration(evidence.val, best_epoch=evidence.best_epoch)


@styled
def calibration_figure(evidence: RunEvidence) -> bytes:
    """Left: reliability diagram (accuracy against confidence per confidence bin) at the best and the last
    epoch; right: expected calibration error (15 bins) over epochs. Returns PNG bytes."""
    result = val_calibration(evidence)
    figure = new_figure(3.8, margins=Margins(top=0.15 + 3 * LEGEND_ROW, wspace=0.3))
    reliability_axis, ece_axis = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.0, 1.4]})
    reliability_axis.plot([0, 1], [0, 1], color="#868e96", lw=0.9, ls="--", label="perfect calibration")
    pairs = [(f"epoch {result.best_epoch} (best)", result.reliability_best, BEST_COLOUR),
             (f"epoch {result.final_epoch} (last)", result.reliability_final, VAL_COLOUR)]
    if result.best_epoch == result.final_epoch:
        pairs = pairs[1:]
    for label, bins, colour in pairs:
        if bins is None:
            continue
        used = bins.count > 0
        sizes = 12 + 120 * bins.count[used] / max(int(bins.count.sum()), 1)
        reliability_axis.plot(bins.mean_confidence[used], bins.accuracy[used], color=colour, lw=1.2)
        reliability_axis.scatter(bins.mean_confidence[used], bins.accuracy[used], s=sizes, color=colour, zorder=3,
                                 label=f"{label}, ECE {bins.ece:.3f}")
    # The predicted class's probability is never below 1/C, so the axis starts there.
    lowest = 1.0 / max(evidence.val.num_classes, 2)
    reliability_axis.set(xlim=(lowest - 0.02, 1.01), ylim=(-0.02, 1.02), ylabel="accuracy in the bin",
                         xlabel="confidence (probability of the predicted class)")
    reliability_axis.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncol=1, frameon=False)
    epochs = _epochs(len(result.ece))
    ece_axis.plot(epochs, result.ece, color="#7048e8", lw=1.4)
    if result.best_epoch is not None:
        ece_axis.axvline(result.best_epoch, color=BEST_COLOUR, ls="--", lw=1.1,
                         label=f"best epoch ({result.best_epoch})")
        ece_axis.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), frameon=False)
    ece_axis.set(xlabel="epoch", ylabel="expected calibration error", xlim=(0.5, max(len(epochs), 2) + 0.5))
    ece_axis.set_ylim(bottom=0)
    return to_png(figure)


@styled
def data_map_figure(evidence: RunEvidence) -> bytes | None:
    """The data map of the train split: each sample's mean true-class probability (confidence) against its
    spread over epochs (variability), coloured by the share of epochs it was right; suspected mislabeled
    samples ringed. Returns PNG bytes, or None when no train split was recorded over two epochs or more."""
    samples = evidence.train_samples
    if samples is None:
        return None
    figure = new_figure(4.4, margins=Margins(top=0.15, right=0.05))
    axis = figure.subplots()
    order = np.argsort(-np.nan_to_num(samples.correctness))  # draw the wrong ones last, on top
    points = axis.scatter(samples.variability[order], samples.confidence[order], c=samples.correctness[order],
                          cmap="RdYlGn", vmin=0, vmax=1, s=9 if samples.num_samples < 5000 else 3, alpha=0.85, lw=0,
                          rasterized=True)
    suspects = evidence.suspects
    if suspects is not None and len(suspects.indices):
        chosen = suspects.indices
        axis.scatter(samples.variability[chosen], samples.confidence[chosen], facecolors="none", edgecolors="black",
                     s=34, lw=0.8, label=f"suspected mislabeled ({len(chosen)})")
        axis.legend(loc="upper right", frameon=True, framealpha=0.9)
    axis.set_xlabel("variability (standard deviation of the true-class probability over epochs)")
    axis.set_ylabel("confidence (mean true-class probability)")
    axis.set_ylim(-0.02, 1.02)
    axis.set_xlim(left=0)
    figure.colorbar(points, ax=axis, label="correctness (share of epochs right)", pad=0.01)
    return to_png(figure)


@styled
def remedy_figure(rows: list[dict], metric: str) -> bytes:
    """Mean and 95% interval of ``metric`` for each configuration (rows as in remedy.json, baseline first):
    grey the baseline, green the ones that beat it beyond noise, orange the rest. Returns PNG bytes."""
    figure = new_figure(0.42 * len(rows) + 1.3, margins=Margins(left=2.0, top=0.15, right=0.3))
    axis = figure.subplots()
    positions = np.arange(len(rows))[::-1]
    for position, row in zip(positions, rows):
        value = row.get(metric)
        if not isinstance(value, dict) or value.get("mean") is None:
            continue  # a configuration that did not finish has no figure to draw
        low, high = value.get("low"), value.get("high")
        error = [[value["mean"] - low], [high - value["mean"]]] if low is not None and high is not None else None
        colour = "#495057" if row["name"] == "baseline" else (BEST_COLOUR if row.get("beats_baseline") else VAL_COLOUR)
        axis.errorbar(value["mean"], position, xerr=error, fmt="o", color=colour, capsize=4)
    baseline = rows[0].get(metric) if rows else None
    if isinstance(baseline, dict) and baseline.get("mean") is not None:
        axis.axvline(baseline["mean"], color="#495057", ls="--", lw=0.8)
    axis.set_yticks(positions, [plain_label(row["name"], 30) for row in rows])
    axis.set_xlabel(f"{metric.replace('_', ' ')} of the delivered model (mean and 95% interval over seeds)")
    return to_png(figure)


def _class_colours(count: int) -> list:
    palette = matplotlib.colormaps["tab10" if count <= 10 else "tab20"]
    return [palette(index % palette.N) for index in range(count)]


def _count(count: int) -> str:
    return f"{count} sample" if count == 1 else f"{count} samples"


def _name(class_names: list[str], index: int) -> str:
    return str(class_names[index]) if index < len(class_names) else str(index)
