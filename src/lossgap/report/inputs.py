"""The suspects' input sequences for the interactive report, read again from the run's data, and, when they
cannot be, one sentence for the page saying why and how to show them.

A run stores the options of its data (config.json), not the data: the report reads the source again. That fails
for a run recorded from the user's own loop (no source lossgap can read), a data file moved or deleted since,
and a relative path stored by an older lossgap (read against the current directory, not the one the run was
trained in); the page must say which, where the input plot would be, rather than leave the plot out silently.
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lossgap.data.config import is_file_source
from lossgap.errors import LossgapError
from lossgap.run.rundir import CONFIG_FILE, RunRecord

#: How the page starts each sentence about a missing input plot.
NOT_SHOWN = "The input sequence is not shown: "
OWN_LOOP_NOTE = (NOT_SHOWN + "this run was recorded from your own training loop, so it names no data source lossgap "
                 "can read again; look the sample up by its id in your own data.")
NO_SOURCE_NOTE = (NOT_SHOWN + "the run's config.json names no data source to read it from; train the run with "
                  "lossgap train (or lossgap.train) to have its inputs in the report.")


@dataclass(frozen=True)
class SuspectInputs:
    """Input sequences (steps x features, as the model saw them) by sample id text, and the sentence a story
    without one shows (``note``: why none could be read; ``source``: the data read, for a sample not in it)."""

    sequences: dict[str, np.ndarray] = field(default_factory=dict)
    note: str | None = None
    source: str | None = None
    run: Path | None = None

    def note_for(self, key: str) -> str | None:
        """The sentence the story of sample ``key`` shows in place of its input plot (None when it has one)."""
        if key in self.sequences:
            return None
        if self.note is not None:
            return self.note
        return (f"{NOT_SHOWN}sample {key} is not in the run's data {self.source} any more (it changed since the run "
                f"was trained); restore the data the run was trained on and run {_report_command(self.run)} again.")


def read_suspect_inputs(record: RunRecord, sample_ids: list[str]) -> SuspectInputs:
    """The input sequences of the samples ``sample_ids`` (id texts) from the run's training split, read again
    from its data source; the note says why when that is impossible."""
    config = record.config.get("train")
    if not config:
        return SuspectInputs(note=OWN_LOOP_NOTE)
    data_options = config.get("data") if isinstance(config, dict) else None
    if not isinstance(data_options, dict) or not data_options.get("source"):
        return SuspectInputs(note=NO_SOURCE_NOTE)
    from lossgap.data import DataConfig, load_data
    from lossgap.run.data_source import run_train_config, stored_relative

    source = str(data_options["source"])
    try:
        # An older run's relative path is looked up in the current directory and the file found there checked
        # against the run's description: another file of the same name must not lend its inputs to the page.
        data_config = (run_train_config(record.config, record.path).data if stored_relative(source)
                       else DataConfig(**data_options))
        train = load_data(data_config, int(config.get("seed", 0))).splits.train
    except (LossgapError, OSError, TypeError, ValueError, KeyError) as error:
        return SuspectInputs(note=unreadable_note(source, record.path, error))
    wanted = set(sample_ids)
    found = {}
    for position, sample_id in enumerate(train.ids):
        key = id_text(sample_id)
        if key in wanted:
            found[key] = train.features[position, : int(train.lengths[position])]
    return SuspectInputs(found, source=source, run=record.path)


def unreadable_note(source: str, run: Path, error: BaseException) -> str:
    """One sentence: the run's data ``source`` could not be read again (``error``), why, and how to show the
    inputs (put the file back at its path or name its new one in config.json, or run ``lossgap report`` from
    the directory an older run was trained in)."""
    report = _report_command(run)
    # A lossgap error reads "what went wrong; what to do": its fix is for training, the page gives its own.
    reason = str(error).split("; ")[0].rstrip(".") or type(error).__name__
    if not is_file_source(source):
        return (f"{NOT_SHOWN}the run's data source {source} could not be loaded again ({reason}); run {report} "
                "again once it loads.")
    expanded = os.path.expanduser(source)
    path = os.path.abspath(expanded)
    # The report reads train.data.source from config.json: editing it there is the other fix.
    config = Path(run).resolve() / CONFIG_FILE
    if not os.path.isabs(expanded):
        found = "holds other data than the run was trained on" if os.path.exists(path) else "could not be read"
        return (f"{NOT_SHOWN}the run's data file {source} is a path relative to the directory the run was trained "
                f"in (older lossgap versions stored it so), and {path} {found}; run {report} from that "
                f"directory, or set train.data.source in {config} to the file's absolute path.")
    if not os.path.exists(path):
        return (f"{NOT_SHOWN}the run's data file {path} is not there any more (moved or deleted); put it back "
                f"there, or set train.data.source in {config} to where it is now, and run {report} again.")
    return (f"{NOT_SHOWN}the run's data file {path} could not be read again ({reason}); restore the file the run "
            f"was trained on at that path and run {report} again.")


def _report_command(run: Path | None) -> str:
    return f"lossgap report {shlex.quote(str(Path(run).resolve())) if run is not None else 'RUN'}"


def id_text(sample_id) -> str:
    """A sample id (a numpy scalar, int or str) as the text that keys the suspects' inputs and stories."""
    return str(sample_id.item() if hasattr(sample_id, "item") else sample_id)
