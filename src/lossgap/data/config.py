"""The data options: where the data come from and how validation is carved out, declared with their flags."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lossgap.options import option

#: Endings of the sources that are data files (the others, synthetic: and aeon:, name no file).
FILE_SUFFIXES = (".npz", ".csv")


def is_file_source(source: object) -> bool:
    """True when ``source`` names a data file (.npz or .csv), not a ``synthetic:`` or ``aeon:`` data set."""
    return (isinstance(source, str) and source.lower().endswith(FILE_SUFFIXES)
            and not source.startswith(("synthetic:", "aeon:")))


class DataConfig(BaseModel):
    """Where the data come from and how validation is carved out."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str = Field("synthetic:random-labels", description="data source string or file path (a file path is "
                        "stored absolute, so the run's config works from any directory)")
    val_fraction: float = option(0.2, "--val-fraction", "Share of train held out (stratified), in (0, 1).",
                                 always=True, gt=0.0, lt=1.0, allow_inf_nan=False)
    train_fraction: float = option(1.0, "--train-fraction", "Share of the training split trained on, in (0, 1]: "
                                   "stratified and nested by --seed (a smaller share lies inside a larger one); "
                                   "validation is carved out first and does not change.", gt=0.0, le=1.0,
                                   allow_inf_nan=False)
    split_seed: int | None = option(None, "--split-seed", "Seed of the val split and --train-fraction's subset "
                                    "(default: --seed's).", ge=0)
    drop_train_ids: str | None = option(
        None, "--drop-train-ids", "Comma-separated sample ids left out of training (a label_noise verdict's "
        "suspects); ids in val or test stay there.", metavar="IDS")
    standardize: bool | None = option(None, "--standardize/--no-standardize",
                                      "Per-feature standardisation fitted on train. Default: on for real data, off "
                                      "for synthetic.")

    @field_validator("drop_train_ids")
    @classmethod
    def _listed_ids(cls, ids: str | None) -> str | None:
        """``ids`` as comma-separated tokens without spaces or repeats (None stays None)."""
        if ids is None:
            return None
        tokens = [token.strip() for token in str(ids).split(",") if token.strip()]
        if not tokens:
            raise ValueError("give one or more sample ids, comma-separated (e.g. 12,40,7)")
        return ",".join(dict.fromkeys(tokens))

    @field_validator("source")
    @classmethod
    def _absolute_file_path(cls, source: str) -> str:
        """Return ``source`` with a file path made absolute (``~`` expanded, against the current directory).

        config.json stores the source, and ``remedy``, ``train --resume`` and ``report`` read the data again,
        maybe from another directory: a path relative to where the run was trained would then name another file
        or none. Other sources (``synthetic:``, ``aeon:``, or anything not ending in .npz / .csv, which loading
        refuses) are kept as written.
        """
        if not is_file_source(source):
            return source
        return os.path.abspath(os.path.expanduser(source))
