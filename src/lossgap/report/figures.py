"""The report's figures, drawn with matplotlib (Agg) from a diagnosis's evidence; each returns PNG bytes."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lossgap.analysis.ledger import LEDGER_GROUPS, ledger_series  # noqa: E402
from lossgap.analysis.plateaus import accuracy_noise  # noqa: E402
from lossgap.diagnosis.evidence import RunEvidence  # noqa: E402

DPI = 100
GROUP_COLOURS = {"stayed_correct": "#2b8cbe", "stayed_wrong_closer": "#a6bddb", "stayed_wrong_further": "#fdae6b",
                 "became_correct": "#31a354", "became_wrong": "#de2d26"}


def to_png(figure) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def curves_figure(evidence: RunEvidence) -> bytes:
    """Loss and accuracy of train and val on shared epochs: plateaus shaded, best epoch and onset marked,
    val accuracy's binomial noise band drawn."""
    curves = evidence.curves
    epochs = np.arange(1, curves.num_epochs + 1)
    figure, (loss_axis, accuracy_axis) = plt.subplots(2, 1, figsize=(8, 5.5), sharex=True)
    loss_axis.plot(epochs, curves.train_loss, label="train loss", color="#555555")
    loss_axis.plot(epochs, curves.val_loss, label="val loss", color="#d95f02")
    accuracy_axis.plot(epochs, curves.train_accuracy, label="train accuracy", color="#555555")
    accuracy_axis.plot(epochs, curves.val_accuracy, label="val accuracy", color="#1b9e77")
    noise = accuracy_noise(curves.val_accuracy, evidence.val.num_samples)
    accuracy_axis.fill_between(epochs, curves.val_accuracy - noise, curves.val_accuracy + noise, color="#1b9e77",
                               alpha=0.15, label="val accuracy noise")
    for plateau in evidence.plateaus.get("val", ()):
        for axis in (loss_axis, accuracy_axis):
            axis.axvspan(plateau.start_epoch, plateau.end_epoch, color="#fee391", alpha=0.45, lw=0)
    general = evidence.generalization
    if general.best_epoch:
        for axis in (loss_axis, accuracy_axis):
            axis.axvline(general.best_epoch, color="#1f78b4", ls="--", lw=1)
        loss_axis.annotate("best epoch", (general.best_epoch, np.nanmax(curves.val_loss)), fontsize=8, color="#1f78b4")
    if general.onset_epoch:
        loss_axis.axvline(general.onset_epoch, color="#e31a1c", ls=":", lw=1.5, label="overfitting onset")
    loss_axis.set_ylabel("loss (nats)")
    accuracy_axis.set_ylabel("accuracy")
    accuracy_axis.set_xlabel("epoch")
    loss_axis.legend(fontsize=8, loc="upper right")
    accuracy_axis.legend(fontsize=8, loc="lower right")
    return to_png(figure)


def ledger_figure(evidence: RunEvidence) -> bytes:
    """Each ledger group's contribution to the change in mean val loss, per epoch, with the net change."""
    series = ledger_series(evidence.val)
    figure, axis = plt.subplots(figsize=(8, 3.8))
    x = series.start_epochs + 1
    positive = np.zeros(len(x))
    negative = np.zeros(len(x))
    for index, name in enumerate(LEDGER_GROUPS):
        values = np.nan_to_num(series.contributions[:, index])
        bottom = np.where(values >= 0, positive, negative)
        axis.bar(x, values, bottom=bottom, color=GROUP_COLOURS[name], label=name.replace("_", " "), width=0.85)
        positive += np.clip(values, 0, None)
        negative += np.clip(values, None, 0)
    axis.plot(x, series.loss_change, color="black", marker=".", lw=1, label="net change")
    axis.axhline(0, color="black", lw=0.5)
    axis.set_xlabel("epoch (change from the previous one)")
    axis.set_ylabel("change in mean val loss (nats)")
    axis.legend(fontsize=7, ncol=3)
    return to_png(figure)


def probability_figure(evidence: RunEvidence) -> bytes:
    """Distribution of the val samples' true-class probability per epoch (heatmap), with 0.5 and 1/C marked."""
    probability = evidence.val.true_prob
    bins = np.linspace(0, 1, 26)
    counts = np.stack([np.histogram(row[np.isfinite(row)], bins=bins)[0] for row in probability], axis=1)
    share = counts / np.maximum(counts.sum(axis=0, keepdims=True), 1)
    figure, axis = plt.subplots(figsize=(8, 3.8))
    image = axis.imshow(share, origin="lower", aspect="auto", cmap="viridis",
                        extent=(0.5, probability.shape[0] + 0.5, 0, 1))
    axis.axhline(0.5, color="white", ls="--", lw=1)
    classes = evidence.val.num_classes
    if classes > 2:
        axis.axhline(1 / classes, color="white", ls=":", lw=1)
    axis.set_xlabel("epoch")
    axis.set_ylabel("true-class probability")
    figure.colorbar(image, ax=axis, label="share of val samples")
    return to_png(figure)


def per_class_figure(evidence: RunEvidence, class_names: list[str]) -> bytes:
    """Recall of every class over epochs, and predicted vs true class shares at the judged epoch."""
    per_class = evidence.val_per_class
    figure, (recall_axis, share_axis) = plt.subplots(1, 2, figsize=(9, 3.6), gridspec_kw={"width_ratios": [2, 1]})
    epochs = np.arange(1, per_class.recall.shape[0] + 1)
    for index in range(per_class.recall.shape[1]):
        if per_class.support[index] > 0:
            recall_axis.plot(epochs, per_class.recall[:, index], label=_name(class_names, index))
    recall_axis.set_xlabel("epoch")
    recall_axis.set_ylabel("val recall")
    recall_axis.set_ylim(-0.03, 1.03)
    if per_class.recall.shape[1] <= 12:
        recall_axis.legend(fontsize=7)
    positions = np.arange(per_class.recall.shape[1])
    judged = evidence.judged_epoch - 1
    share_axis.bar(positions - 0.2, per_class.true_share, width=0.4, label="true", color="#999999")
    share_axis.bar(positions + 0.2, per_class.predicted_share[judged], width=0.4, label="predicted", color="#1b9e77")
    share_axis.set_xticks(positions, [_name(class_names, i) for i in positions], rotation=45, ha="right", fontsize=7)
    share_axis.set_title(f"class shares at epoch {evidence.judged_epoch}", fontsize=9)
    share_axis.legend(fontsize=7)
    return to_png(figure)


def calibration_figure(evidence: RunEvidence) -> bytes | None:
    """Reliability diagrams at the best and last epoch, and ECE over epochs (None without val logits)."""
    calibration = evidence.val_calibration
    if calibration is None:
        return None
    figure, (reliability_axis, ece_axis) = plt.subplots(1, 2, figsize=(9, 3.6))
    reliability_axis.plot([0, 1], [0, 1], color="#999999", lw=0.8, ls="--")
    for label, reliability, colour in (("best", calibration.reliability_best, "#1f78b4"),
                                       ("last", calibration.reliability_final, "#d95f02")):
        if reliability is not None:
            used = reliability.count > 0
            reliability_axis.plot(reliability.mean_confidence[used], reliability.accuracy[used], marker="o",
                                  color=colour, label=f"{label} epoch (ECE {reliability.ece:.3f})")
    reliability_axis.set_xlabel("confidence")
    reliability_axis.set_ylabel("accuracy")
    reliability_axis.legend(fontsize=7)
    ece_axis.plot(np.arange(1, len(calibration.ece) + 1), calibration.ece, color="#7570b3")
    ece_axis.set_xlabel("epoch")
    ece_axis.set_ylabel("ECE (15 bins)")
    return to_png(figure)


def data_map_figure(evidence: RunEvidence) -> bytes | None:
    """Train samples by confidence and variability, coloured by correctness, suspected mislabeled circled."""
    samples = evidence.train_samples
    if samples is None:
        return None
    figure, axis = plt.subplots(figsize=(7, 4.5))
    points = axis.scatter(samples.variability, samples.confidence, c=samples.correctness, cmap="RdYlGn", s=8,
                          vmin=0, vmax=1, alpha=0.8)
    if evidence.suspects is not None and len(evidence.suspects.indices):
        chosen = evidence.suspects.indices
        axis.scatter(samples.variability[chosen], samples.confidence[chosen], facecolors="none",
                     edgecolors="black", s=30, lw=0.8, label="suspected mislabeled")
        axis.legend(fontsize=8, loc="upper right")
    axis.set_xlabel("variability (std of true-class probability)")
    axis.set_ylabel("confidence (mean true-class probability)")
    figure.colorbar(points, ax=axis, label="correctness")
    return to_png(figure)


def _name(class_names: list[str], index: int) -> str:
    return class_names[index] if index < len(class_names) else str(index)


def remedy_figure(rows: list[dict], metric: str) -> bytes:
    """Mean and 95% interval of ``metric`` per configuration (rows from remedy.json), baseline first."""
    figure, axis = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
    positions = np.arange(len(rows))[::-1]
    for position, row in zip(positions, rows):
        value = row[metric]
        low, high = value["low"], value["high"]
        error = [[value["mean"] - low], [high - value["mean"]]] if low is not None and high is not None else None
        colour = "#555555" if row["name"] == "baseline" else ("#1b9e77" if row.get("beats_baseline") else "#d95f02")
        axis.errorbar(value["mean"], position, xerr=error, fmt="o", color=colour, capsize=4)
    axis.axvline(rows[0][metric]["mean"], color="#555555", ls="--", lw=0.8)
    axis.set_yticks(positions, [row["name"] for row in rows], fontsize=8)
    axis.set_xlabel(f"{metric.replace('_', ' ')} of the delivered model (mean, 95% interval)")
    return to_png(figure)
