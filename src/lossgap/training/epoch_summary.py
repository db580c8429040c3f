"""One split's figures for one epoch, computed from exactly the samples a Recorder recorded in it, and the
per-sample figures themselves, computed from the epoch's batches."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class EpochSummary:
    """One split's figures for one epoch, computed from exactly the recorded samples.

    ``loss`` is the mean cross-entropy over samples (nats); ``balanced_loss`` the mean over the classes present of
    each class's mean cross-entropy (nats): the loss weighted by balanced class weights, what ``--class-weights
    balanced`` minimises; accuracies are fractions in [0, 1].
    """

    split: str
    loss: float
    accuracy: float
    balanced_accuracy: float
    num_samples: int
    balanced_loss: float = float("nan")


def summarise_epoch(split: str, labels: np.ndarray, values: np.ndarray) -> EpochSummary:
    """The EpochSummary of ``split`` from its samples' ``labels`` (int, N) and recorded ``values`` (N, 4: true-class
    log-probability, predicted class, max probability, margin): mean loss and balanced loss (mean per-class loss
    over the classes present) in nats, accuracy and balanced accuracy (mean per-class recall) as fractions."""
    correct = values[:, 1].astype(np.int64) == labels
    classes = np.unique(labels)
    recalls = [correct[labels == cls].mean() for cls in classes]
    losses = 0.0 - values[:, 0].astype(np.float64)  # never -0.0 (see SplitDynamics.loss)
    return EpochSummary(
        split=split,
        loss=float(losses.mean()),
        accuracy=float(correct.mean()),
        balanced_accuracy=float(np.mean(recalls)),
        num_samples=int(labels.shape[0]),
        balanced_loss=float(np.mean([losses[labels == cls].mean() for cls in classes])),
    )


@torch.no_grad()
def per_sample_values(split: str, chunks: list, *,
                      keep_logits: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Labels (N,), the (N, 4) per-sample figures (true log-probability in nats, prediction, max probability,
    margin in logits) and, with ``keep_logits``, float16 logits (N, C) of one split's epoch: ``chunks`` are its
    batches' (ids, logits, targets). ValueError (one line) when the logits look like softmax probabilities."""
    device = chunks[0][1].device
    logits = torch.cat([chunk[1].to(device) for chunk in chunks])
    targets = torch.cat([chunk[2].to(device) for chunk in chunks])
    values_float = logits.float()
    log_probs = torch.log_softmax(values_float, dim=1)
    true_log_prob = log_probs.gather(1, targets[:, None]).squeeze(1)
    max_log_prob, predicted = log_probs.max(dim=1)
    true_logit = values_float.gather(1, targets[:, None]).squeeze(1)
    others = values_float.scatter(1, targets[:, None], float("-inf"))
    margin = true_logit - others.max(dim=1).values
    # Rows that look like probabilities (none negative, summing to 1): softmax outputs passed as logits. Hand-made
    # one-hot logits look so too, so at least one row must hold a fraction (2: probability-like with a fraction).
    probability_like = ((values_float.min(dim=1).values >= 0) & ((values_float.sum(dim=1) - 1).abs() < 1e-3)).float()
    probability_like = probability_like * (1 + ((values_float > 0) & (values_float < 1)).any(dim=1).float())
    # One device-to-host copy: everything per sample packed in one (N, 6) tensor.
    packed = torch.stack(
        [true_log_prob, predicted.float(), max_log_prob.exp(), margin, targets.float(), probability_like],
        dim=1).cpu().numpy()
    if values_float.shape[1] > 1 and packed.shape[0] > 1 and packed[:, 5].all() and (packed[:, 5] == 2).any():
        raise ValueError(f"Recorder.end_epoch ({split!r}): every row of the logits is in [0, 1] and sums to 1, "
                         "so they look like softmax probabilities; pass the model's raw outputs (before softmax), "
                         "or torch.log(probabilities)")
    kept_logits = logits.to("cpu", torch.float16).numpy() if keep_logits else None
    return packed[:, 4].astype(np.int64), packed[:, :4], kept_logits
