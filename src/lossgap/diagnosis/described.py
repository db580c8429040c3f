"""An own loop's described settings as the remedy book reads them: the values lossgap's configuration also has,
and how a remedy names each setting it changes (``"weight decay 10 -> 0.02"``)."""

from __future__ import annotations


#: How an own loop's remedy names each setting it changes (see lossgap.diagnosis.remedies.RemedyBook).
DESCRIBED_LABELS = {"model.hidden_size": "hidden size", "model.num_layers": "recurrent layers",
                    "model.dropout": "dropout", "optimizer.lr": "learning rate",
                    "optimizer.weight_decay": "weight decay"}


def known_settings(settings: dict | None) -> dict:
    """The values of an own loop's described settings (:func:`lossgap.training.settings.describe_training`)
    that lossgap's configuration also has, by section; unknown ones (None) are left out."""
    sections = {"model": ("hidden_size", "num_layers", "dropout"),
                "optimizer": ("name", "lr", "weight_decay", "decoupled_weight_decay", "clip_grad"),
                "early_stopping": ("patience", "monitor")}
    known = {}
    for section, keys in sections.items():
        values = (settings or {}).get(section) or {}
        kept = {key: values[key] for key in keys if values.get(key) is not None}
        if kept:
            known[section] = kept
    return known


def merged_settings(defaults: dict, values: dict) -> dict:
    """``defaults`` with ``values`` laid over them, section by section."""
    merged = dict(defaults)
    for key, value in values.items():
        nested = isinstance(value, dict) and isinstance(defaults.get(key), dict)
        merged[key] = merged_settings(defaults[key], value) if nested else value
    return merged


def described_changes(described: dict, changes: dict) -> str:
    """``"weight decay 10 -> 0.02, dropout 0.5 -> 0"`` for ``changes`` (dotted paths to new values) to settings an
    own loop ``described`` (by section, as :func:`known_settings` gives them), or "" when any change is to a setting
    it did not describe (its value would be lossgap's default, not the loop's)."""
    parts = []
    for path, new in changes.items():
        section, _, key = path.partition(".")
        old = (described.get(section) or {}).get(key)
        if path not in DESCRIBED_LABELS or old is None:
            return ""
        parts.append(f"{DESCRIBED_LABELS[path]} {old:g} -> {new:g}")
    return ", ".join(parts)
