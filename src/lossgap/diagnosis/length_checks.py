"""Sequence lengths that give the labels away (config.json's ``data.length_shortcut``, measured by
:func:`lossgap.data.lengths.length_shortcut` when the run was written): in train and not in val, the model can learn
the length instead of the signal and val measures only what is left; in both, val cannot show it. Like the other
split checks, each puts a warning before the headline; the first also counts as val's inputs looking unlike train's
(:func:`lossgap.diagnosis.split_checks.val_inputs_differ`), which the rules that val's inputs can mislead read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lossgap.analysis.plateaus import accuracy_noise
from lossgap.diagnosis.wording import way_to_one

if TYPE_CHECKING:  # pragma: no cover - for type checkers only
    from lossgap.diagnosis.evidence import RunEvidence

#: The length-only rule gives train's labels away when it goes LENGTH_FIT of the way from train's majority share to all
#: right, and LENGTH_GAIN or more above that share. JapaneseVowels, whose speakers differ in how long they speak, gets
#: 0.31 against 0.11 on train (22% of the way) and 0.19 on val: information, not a giveaway. A trial's leak (one class
#: 10-59 steps long in train, the other 150-200) got 0.97 against 0.52 (94%); a partial one 0.79 against 0.50 (57%).
LENGTH_FIT, LENGTH_GAIN = 0.5, 0.25
#: ... and it does so in val as well when it goes LENGTH_BOTH of the way in train and in val (lengths that decide the
#: class up to a 10-bin rule's resolution: 0.95 against 0.51 is 90%; lengths that only lean, 0.88 against 0.51, 75%).
LENGTH_BOTH = 0.85
#: Noise units (of the split's accuracy) by which the split's gain over its majority share must fall short of train's
#: gain, beside LENGTH_GAIN itself, for the lengths to count as not carrying over.
SHORT_NOISE = 3.0


@dataclass(frozen=True)
class LengthShortcut:
    """A length-only rule that predicts train's labels: ``in_split`` False when ``split`` does not share it (its gain
    over the majority share falls LENGTH_GAIN and SHORT_NOISE noise units short of train's), True when ``split`` is
    predicted by it as well (LENGTH_BOTH of the way to all right in both). Accuracies and majority shares are 0-1."""

    split: str
    in_split: bool
    train_accuracy: float
    train_majority: float
    accuracy: float
    majority: float

    def words(self) -> str:
        """"a rule on sequence length alone gets 0.969 of train right (majority share 0.520) but 0.510 of val
        (0.525)"."""
        if self.in_split:
            return (f"a rule on sequence length alone gets {self.train_accuracy:.3f} of train and {self.accuracy:.3f} "
                    f"of {self.split} right (majority shares {self.train_majority:.3f} and {self.majority:.3f})")
        return (f"a rule on sequence length alone gets {self.train_accuracy:.3f} of train right (majority share "
                f"{self.train_majority:.3f}) but {self.accuracy:.3f} of {self.split} ({self.majority:.3f})")


def length_shortcut_of(evidence: RunEvidence, split: str = "val") -> LengthShortcut | None:
    """The :class:`LengthShortcut` of ``split`` against train, or None: no giveaway in train, ``split`` in between
    (sharing part of it), or nothing measured (own loops, older runs, lengths that do not vary)."""
    payload = evidence.length_shortcut or {}
    train, other = payload.get("train"), payload.get(split)
    if not train or not other:
        return None
    train_gain = train["accuracy"] - train["majority"]
    if _way(train) < LENGTH_FIT or train_gain < LENGTH_GAIN:
        return None
    gain = other["accuracy"] - other["majority"]
    noise = accuracy_noise(other["accuracy"], other["samples"])
    if gain <= train_gain - max(LENGTH_GAIN, SHORT_NOISE * noise):
        in_split = False
    elif _way(train) >= LENGTH_BOTH and _way(other) >= LENGTH_BOTH:
        in_split = True
    else:
        return None
    return LengthShortcut(split, in_split, float(train["accuracy"]), float(train["majority"]),
                          float(other["accuracy"]), float(other["majority"]))


def _way(split: dict) -> float:
    """How far the length-only rule's accuracy goes from the split's majority share towards all right (0-1)."""
    return way_to_one(split["accuracy"], split["majority"])


def length_warning(evidence: RunEvidence) -> str:
    """The warning before the headline when sequence lengths give the labels away ("" otherwise)."""
    found = length_shortcut_of(evidence)
    if found is None:
        return ""
    if not found.in_split:
        # A trial's train lengths said the class (10-59 steps against 150-200), val's did not: overfitting 0.75,
        # "raise dropout", where no dropout helps a model that learned the length.
        return (f"Val's sequence lengths do not carry train's labels: {found.words()}; a model can learn the length "
                "instead of the signal, and val then measures only what is left: draw both splits from one source, or "
                "cut the sequences to lengths that say nothing of the class; read the rest with that in mind: ")
    # The same leak drawn into val as well: val 1.000 and "No problem found" 0.95, test (lengths unrelated) 0.513.
    return (f"Sequence length alone predicts the labels: {found.words()}; the model may score by the length, which "
            "data recorded otherwise will not share: check that the lengths come from what is measured, not from how "
            "each class was recorded; read the rest with that in mind: ")
