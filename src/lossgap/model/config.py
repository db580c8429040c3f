"""The model's options: family, size and readout, each declared once with its command-line flag."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lossgap.model.registry import MODELS
from lossgap.options import option

#: How the head summarises the recurrent outputs: the last valid step's state, or the mean or max over valid steps.
READOUTS = ("last", "mean", "max")

ModelKind = Literal[tuple(MODELS)]  # type: ignore[valid-type]  # the registry's names, whatever they are
Readout = Literal[(*READOUTS, "auto")]  # type: ignore[valid-type]


class ModelConfig(BaseModel):
    """Family and shape of the sequence classifier."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: ModelKind = option("lstm", "--model", f"Model family: {', '.join(MODELS)} (lstm-fcn: an LSTM beside a "
                             "3-block convolution branch, Karim et al. 2018; strong on long univariate series).")
    hidden_size: int = option(16, "--hidden", "Recurrent hidden units per direction.", always=True, gt=0)
    num_layers: int = option(1, "--layers", "Stacked recurrent layers (the article's MultiLayerLSTM uses 2).",
                             always=True, gt=0)
    dropout: float = option(0.0, "--dropout", "Dropout in [0, 1) between layers and before the head (lstm-fcn: "
                            "on the LSTM branch).", always=True, ge=0.0, lt=1.0, allow_inf_nan=False)
    bidirectional: bool = option(False, "--bidirectional", "Read sequences in both directions.")
    readout: Readout = option("last", "--readout", "What the head reads: last (valid step), mean or max over "
                              "the valid steps; auto: max when --patch merges steps, else last.")
    patch_length: Annotated[int, Field(gt=0)] | Literal["auto"] = option(
        1, "--patch", "Time steps merged into one recurrent step, or auto (at most 32 recurrent steps): faster "
                      "and easier on long series.")
    fcn_width: int = option(128, "--fcn-width", "lstm-fcn: filters of the first and last convolution (the "
                            "middle one has twice as many); 128 as published.", gt=0)

    @field_validator("patch_length", mode="before")
    @classmethod
    def _patch_length_as_typed(cls, value: object) -> object:
        # The command line gives text: "auto" or a whole number; anything else gets one sentence naming both.
        if isinstance(value, str):
            text = value.strip().lower()
            if text == "auto":
                return "auto"
            if not text.isdigit():
                raise ValueError("use a positive integer (steps merged per recurrent step) or auto")
            return int(text)
        return value
