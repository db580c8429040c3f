"""The data options: where the data come from and how validation is carved out, declared with their flags."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from lossgap.options import option


class DataConfig(BaseModel):
    """Where the data come from and how validation is carved out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field("synthetic:random-labels", description="data source string or file path")
    val_fraction: float = option(0.2, "--val-fraction", "Share of train held out (stratified), in (0, 1).",
                                 always=True, gt=0.0, lt=1.0, allow_inf_nan=False)
    train_fraction: float = option(1.0, "--train-fraction", "Share of the training split trained on, in (0, 1]: "
                                   "stratified and nested by --seed (a smaller share lies inside a larger one); "
                                   "validation is carved out first and does not change.", gt=0.0, le=1.0,
                                   allow_inf_nan=False)
    standardize: bool | None = option(None, "--standardize/--no-standardize",
                                      "Per-feature standardisation fitted on train. Default: on for real data, off "
                                      "for synthetic.")
