"""Remedies that change what the model can fit: its width, its depth, its family, and how long it trains."""

from __future__ import annotations

from typing import Any

from lossgap.analysis.generalization import patience_to_minimum
from lossgap.diagnosis.remedy import Remedy
from lossgap.diagnosis.remedy_core import RemedyBookCore
from lossgap.training.config import change_flags

#: Largest and smallest hidden size a remedy proposes.
MAX_HIDDEN, MIN_HIDDEN = 1024, 4
#: Convolution width of the LSTM-FCN a remedy switches to: the README's recommended configuration's.
RECOMMENDED_FCN_WIDTH = 32
#: Fewest epochs the more-epochs remedy proposes (twice the run's otherwise).
MIN_LONGER = 20
#: Early stopping's patience when a remedy adds it to a run without it (at least; see _patience_past_stalls).
MIN_PATIENCE = 10


class CapacityRemedies(RemedyBookCore):
    """Remedies that change the model's capacity or its training time."""

    def smaller_hidden(self) -> Remedy | None:
        """Half the hidden size (at least MIN_HIDDEN)."""
        hidden = int(self._get("model.hidden_size"))
        if hidden <= MIN_HIDDEN:
            return None
        new = max(MIN_HIDDEN, hidden // 2)
        return self._remedy("smaller_hidden", f"shrink the hidden size from {hidden} to {new}: --hidden {new}",
                            f"use a smaller model (half the {self._width_words()})", {"model.hidden_size": new})

    def larger_hidden(self, factor: int = 2) -> Remedy | None:
        """``factor`` times the hidden size (at least 32 for tiny models), and for an LSTM-FCN whose convolution
        branch is as tiny, that branch's width too; None at MAX_HIDDEN."""
        hidden = int(self._get("model.hidden_size"))
        if hidden >= MAX_HIDDEN:
            return None
        new = min(MAX_HIDDEN, max(hidden * factor, 32 if hidden < 8 else 0))
        changes: dict[str, Any] = {"model.hidden_size": new}
        words = f"grow the hidden size from {hidden} to {new}"
        width = self._get("model.fcn_width")
        if self._get("model.kind") == "lstm-fcn" and width is not None and int(width) < 8:
            # A convolution branch of a few filters holds the model back beside its recurrent layer (trial 24: hidden 1
            # and --fcn-width 1 were told to grow the hidden size alone, the command keeping --fcn-width 1).
            changes["model.fcn_width"] = wider = max(int(width) * factor, RECOMMENDED_FCN_WIDTH)
            words += f" and the convolution width from {int(width)} to {wider}"
        return self._remedy("larger_hidden", f"{words}: {change_flags(changes)}",
                            f"use a larger model (twice the {self._width_words()})", changes)

    def _width_words(self) -> str:
        """What an own loop's model widens by: its recurrent layer's hidden size, or, for a described model
        without one (a CNN, an MLP, a transformer), the units or channels of its layers."""
        return "units or channels of its layers" if self._own_kind == "other" else "hidden size"

    def fewer_layers(self) -> Remedy | None:
        """One layer fewer; None for a single-layer model."""
        layers = int(self._get("model.num_layers"))
        if layers <= 1:
            return None
        return self._remedy("fewer_layers", f"use {layers - 1} LSTM layer(s) instead of {layers}: --layers {layers - 1}",
                            "use one recurrent layer fewer", {"model.num_layers": layers - 1})

    def more_epochs(self, epochs_run: int, *, through: bool = False) -> Remedy:
        """Twice the epochs (with early stopping so the extra epochs cannot hurt); when early stopping ended
        the run before its planned epochs, twice its patience instead (more epochs would change nothing), or with
        ``through`` a patience of all its planned epochs (on a run without early stopping, of all the longer run's):
        it then trains every one of them and still delivers its best."""
        epochs = int(self._get("epochs")) if self.has_config else epochs_run
        patience = self._get("early_stopping.patience")
        if through and patience is not None and epochs_run < epochs:
            # A val loss that never improved after the first epochs stops the run again after any doubled patience,
            # before the model fits train, which is what tells a rule it has not found from labels without one.
            return self._remedy("more_epochs", f"let it train all {epochs} epochs: --early-stopping {epochs} (it "
                                f"stopped at epoch {epochs_run}, before the model fitted its training set; the best "
                                "epoch is still the one delivered)",
                                "let it train all its planned epochs before early stopping can end it",
                                {"early_stopping.patience": epochs})
        if patience is not None and epochs_run < epochs:
            longer = int(patience) * 2
            # Early stopping fires after `patience` epochs without a new best: the val loss was not falling then,
            # and the sentence must not say it was; waiting longer lets a slow or jittery descent resume.
            return self._remedy("more_epochs", f"let early stopping wait longer: --early-stopping {longer} (it "
                                f"ended the run at epoch {epochs_run} of {epochs}, after {int(patience)} epochs "
                                "without a new best)",
                                "let early stopping wait longer before it stops",
                                {"early_stopping.patience": longer})
        # At least MIN_LONGER epochs: a run of 3 told "--epochs 6" had needed about 150.
        longer = max(epochs * 2, MIN_LONGER)
        if through and patience is None:
            # Early stopping that watches the whole run still delivers its best epoch, and cannot end it first.
            return self._remedy("more_epochs", f"train longer: --epochs {longer} --early-stopping {longer} (every "
                                "epoch runs, and the best is the one delivered)",
                                "train for more epochs, delivering the best", {"epochs": longer,
                                                                               "early_stopping.patience": longer})
        changes: dict[str, Any] = {"epochs": longer}
        if patience is None:
            changes["early_stopping.patience"] = self._patience_past_stalls()
        return self._remedy("more_epochs", f"train longer: --epochs {longer}"
                            + (f" with --early-stopping {changes['early_stopping.patience']} so the extra epochs "
                               "cannot hurt" if patience is None else ""),
                            "train for more epochs (with early stopping)", changes)

    def _patience_past_stalls(self) -> int:
        """Early stopping's patience for a run that had none: MIN_PATIENCE, or the patience that still reaches the
        run's own lowest val loss when that is more. The same seed retraces the run, so a patience shorter than a
        stall it came through stops it there (trial 16: a model that plateaued on a merged pair of classes before it
        told them apart was told "--early-stopping 10", stopped on the plateau, and lost 0.28 of test accuracy)."""
        if self._val_loss is None:
            return MIN_PATIENCE
        _, needed = patience_to_minimum(self._val_loss)
        return max(MIN_PATIENCE, needed or 0)

    def bidirectional(self) -> Remedy | None:
        """A recurrent layer read in both directions, so that the last-step readout also carries the first steps;
        None for own loops (lossgap cannot tell how their head reads the layer), for LSTM-FCN, and when the model
        already reads both directions or pools over the steps."""
        if (not self.has_config or self._get("model.kind") not in ("lstm", "gru") or self._get("model.bidirectional")
                or self._get("model.readout") != "last"):
            return None
        return self._remedy("bidirectional", "read the sequences in both directions: --bidirectional",
                            "read the sequences in both directions", {"model.bidirectional": True})

    def reach_far(self) -> tuple[Remedy | None, Remedy | None]:
        """(the switch to LSTM-FCN, reading both directions), each None where it does not apply: the models that reach
        what a recurrent layer read at its last step may not carry over long sequences. The switch comes first: on real
        data it did better each time the two were tried (trial 31: GunPoint at hidden 9, test 0.580, went to 0.907 as
        an LSTM-FCN and to 0.493 read both ways; OSULeaf at Adam 3e-5, 0.42 against 0.20; the bidirectional LSTM
        recommended before model families reached 0.646 on ArrowHead, the LSTM-FCN 0.752)."""
        return self.switch_model("lstm-fcn"), self.bidirectional()

    def switch_model(self, kind: str = "lstm-fcn") -> Remedy | None:
        """Another model family (default LSTM-FCN: a convolution branch beside the LSTM, which reads shapes
        over hundreds of steps that a recurrent layer alone struggles to carry); None when already that one."""
        current = self._get("model.kind")
        if current == kind:
            return None
        changes: dict[str, Any] = {"model.kind": kind}
        if kind == "lstm-fcn":
            # The README's recommended LSTM-FCN, not the published width: 128 filters took 209 s per ACSF1 run.
            changes["model.fcn_width"] = RECOMMENDED_FCN_WIDTH
            if self._get("model.patch_length") == 1:
                changes.update({"model.patch_length": "auto", "model.readout": "auto"})
        return self._remedy("switch_model", f"switch the model from {current} to {kind}: {change_flags(changes)}",
                            f"try a {kind} model (a convolution branch beside the recurrent layer)"
                            if kind == "lstm-fcn" else f"try a {kind} model", changes)
