"""The answer to "would more data help?" read from the learning curves of val accuracy and val loss
(:mod:`lossgap.analysis.learning_curve`): "helps", "little to gain" or "cannot tell", with a sentence.

Pure: curves in, a frozen dataclass out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lossgap.analysis.learning_curve import LearningCurve

#: Smallest gain in val accuracy (fraction) at 2x the data worth collecting it for. "Helps": the fitted gain
#: reaches it and the whole 95% interval of the gain lies above half of it; "little to gain": the whole
#: interval lies below it; anything else: "cannot tell".
MIN_GAIN = 0.02
#: When the accuracy curve cannot tell, a val loss predicted to fall by at least this share at 2x (by half of
#: it at the interval's worst) says more data helps: the loss is a smoother measure of the same predictions,
#: while a small share's accuracy jumps between seeds that learn and seeds that do not.
MIN_LOSS_FALL = 0.05

#: The verdicts, by code.
HELPS, LITTLE, CANNOT_TELL = "helps", "little_to_gain", "cannot_tell"


@dataclass(frozen=True)
class MoreDataVerdict:
    """The answer to "would more data help?": a code (helps, little_to_gain, cannot_tell) and its sentence."""

    code: str
    sentence: str

    def to_dict(self) -> dict:
        """{"code", "sentence"}."""
        return {"code": self.code, "sentence": self.sentence}


def more_data_verdict(accuracy: LearningCurve | None, loss: LearningCurve | None = None, *,
                      min_gain: float = MIN_GAIN, min_loss_fall: float = MIN_LOSS_FALL) -> MoreDataVerdict:
    """Judge the gain at 2x the data. The val-accuracy curve (a fraction) first: "helps" when the fitted gain is
    at least ``min_gain`` and its whole 95% interval above ``min_gain / 2``; "little to gain" when the whole
    interval is below ``min_gain``. Then the val loss: "helps" when its fit, or else each seed's own curve
    (:attr:`LearningCurve.seed_fall`), falls by at least ``min_loss_fall`` at 2x and by half of that at its
    interval's worst; "little to gain" when the seeds' fall is below half of it even at its best and the fitted
    accuracy gain below ``min_gain``. "Cannot tell" otherwise (too noisy) or without a curve."""
    if accuracy is None:
        return MoreDataVerdict(CANNOT_TELL, "cannot tell (fewer than three training-set sizes with a finished run: "
                                            "too few runs finished, or too few samples to cut into shares)")
    at_2x = accuracy.prediction(2.0).estimate
    # The gain is the fitted curve's, from its own value at today's size: beside the measured value alone it
    # read as arithmetic that does not add up ("0.697 at 2x, now 0.637; gain +0.000").
    fitted_now = float(accuracy.fit(accuracy.sizes[-1]))
    figures = (f"predicted val accuracy at 2x: {at_2x.value:.3f} [{at_2x.low:.3f}, {at_2x.high:.3f}], now "
               f"{accuracy.observed_full:.3f} measured and {fitted_now:.3f} on the fitted curve; gain along the "
               f"curve {accuracy.gain.value:+.3f} [{accuracy.gain.low:+.3f}, {accuracy.gain.high:+.3f}]")
    if accuracy.gain.value >= min_gain and accuracy.gain.low >= min_gain / 2:
        return MoreDataVerdict(HELPS, f"more data is likely to help ({figures})")
    if accuracy.gain.high < min_gain:
        return MoreDataVerdict(LITTLE, f"little to gain ({figures}; below {min_gain:.2f} even at the interval's "
                                       "top)")
    if loss is not None:
        now = float(loss.fit(loss.fit.reference))
        fall, low = (loss.gain.value / now, loss.gain.low / now) if now > 0 else (0.0, 0.0)
        if fall >= min_loss_fall and low >= min_loss_fall / 2:
            at = loss.prediction(2.0).estimate
            return MoreDataVerdict(HELPS, f"more data is likely to help ({figures}: too noisy alone, but val loss "
                                          f"at 2x: {at.value:.3f} [{at.low:.3f}, {at.high:.3f}], {fall:.0%} below "
                                          f"its fit now)")
        seeds = loss.seed_fall
        lower = (f"{seeds.value:.1%} [{seeds.low:.1%}, {seeds.high:.1%}] lower at 2x on the seeds' own power "
                 "laws")
        if seeds.value >= min_loss_fall and seeds.low >= min_loss_fall / 2:
            return MoreDataVerdict(HELPS, f"more data is likely to help ({figures}: too noisy alone, but seed by "
                                          f"seed val loss falls with data: {lower})")
        if seeds.high < min_loss_fall / 2 and accuracy.gain.value < min_gain:
            return MoreDataVerdict(LITTLE, f"little to gain ({figures}: too noisy alone, but seed by seed val loss "
                                           f"does not fall with data: {lower})")
    return MoreDataVerdict(CANNOT_TELL, f"cannot tell (curve too noisy: {figures}, an interval that spans "
                                        f"{min_gain:.2f}; more seeds would narrow it)")
