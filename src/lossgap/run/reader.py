"""Reading a run directory back (:func:`read_run`), and what to tell a user about a run that is damaged or did not
finish: the file at fault and the fix that works (:func:`continue_advice`, :func:`retrain_advice`).

A run killed while training is read from its epoch store. A kill can leave only the epoch file being written
damaged, so a damaged last file is left out with a one-line warning and the epochs before it are read; damage
anywhere else is refused in one line naming the file. :mod:`lossgap.run.rundir` owns the entry names and
re-exports these functions.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lossgap.dynamics import SplitDynamics, load_dynamics
from lossgap.epoch_store import EPOCHS_DIR, DamagedEpoch, dynamics_from_store, read_epoch, stored_epochs
from lossgap.errors import RunDirError, warn
from lossgap.observations import OptimizationObservations, load_observations
from lossgap.run.rundir import (CONFIG_FILE, DYNAMICS_FILE, LAST_CHECKPOINT, METRICS_FILE, OPTIMIZATION_FILE,
                                PREVIOUS_DIR, SUMMARY_FILE, checkpoint_path, read_config, read_metrics, read_summary)


#: The fix for a path that is no run directory, from Python and from the command line.
PASS_A_RUN = "pass the directory a run was written to (the out of lossgap.train or lossgap.save_recorded_run)"
PASS_A_RUN_CLI = "pass the --out directory of a training run"


@dataclass(frozen=True, eq=False)
class RunRecord:
    """A run directory read back: its config, metrics columns, summary, recorded dynamics and, when the run
    recorded them, its optimisation observations (None otherwise, e.g. for runs from before they existed)."""

    path: Path
    config: dict
    metrics: dict[str, np.ndarray]
    summary: dict
    dynamics: dict[str, SplitDynamics]
    observations: OptimizationObservations | None = None

    @property
    def class_names(self) -> list[str]:
        """Class names in index order."""
        return list(self.config.get("data", {}).get("class_names", []))

    @property
    def settings(self) -> dict | None:
        """The model and optimizer settings the run was trained with: lossgap's training configuration
        (config.json's ``"train"``), else what an own loop's Recorder described (``"settings"``), else None."""
        return self.config.get("train") or self.config.get("settings")

    @property
    def num_epochs(self) -> int:
        """Epochs recorded."""
        return next(iter(self.dynamics.values())).num_epochs if self.dynamics else 0


def delivered_epoch(summary: dict | None, num_epochs: int) -> int:
    """The 1-based epoch whose model the run delivered: summary.json's ``delivered_epoch`` when it is one of the
    run's ``num_epochs`` recorded epochs, else the last (a loop that keeps its last weights; 0 without epochs)."""
    delivered = (summary or {}).get("delivered_epoch")
    if isinstance(delivered, (int, float)) and not isinstance(delivered, bool) and 1 <= int(delivered) <= num_epochs:
        return int(delivered)
    return num_epochs


def require_run_dir(path: str | Path) -> Path:
    """``path`` as a Path when it is a directory holding a run's config.json; RunDirError (one line, naming the fix)
    when it is missing, a file, a run being replaced, or a directory without a run."""
    run = Path(path)
    if not run.is_dir():
        what = "is a file, not a run directory" if run.exists() else "does not exist"
        raise RunDirError(f"{run} {what}; {PASS_A_RUN}", cli=f"{run} {what}; {PASS_A_RUN_CLI}")
    if not (run / CONFIG_FILE).exists():
        if (run / PREVIOUS_DIR).is_dir():
            raise _replaced_error(run)
        store_error = _store_error(run)
        if store_error is not None:
            raise store_error
        raise RunDirError(f"{run} holds no run (no {CONFIG_FILE}); {PASS_A_RUN}",
                          cli=f"{run} holds no run (no {CONFIG_FILE}); {PASS_A_RUN_CLI}")
    return run


def read_run(path: str | Path) -> RunRecord:
    """Read a run directory; RunDirError (one line) when missing, incomplete or from a newer lossgap.

    A run killed while training is read from its epoch store; when the store's last epoch file is damaged
    (the one being written at the kill), the epochs before it are read and a one-line LossgapWarning says so.
    """
    run = require_run_dir(path)
    config = read_config(run)
    summary = read_summary(run) if (run / SUMMARY_FILE).exists() else {}
    notes: list[str] = []
    stored = stored_epochs(run / EPOCHS_DIR)
    has_metrics, has_dynamics = (run / METRICS_FILE).exists(), (run / DYNAMICS_FILE).exists()
    if not has_metrics and not has_dynamics and not stored:
        if (run / PREVIOUS_DIR).is_dir():
            raise _replaced_error(run)
        raise RunDirError(f"{run} is incomplete: training ended before its first epoch finished; "
                          f"{continue_advice(run, config)}")
    if not has_metrics:
        raise RunDirError(f"{run / METRICS_FILE} is missing; the run directory is damaged: put the file back, or "
                          f"{retrain_advice(run, config)}")
    if not has_dynamics and not stored:
        raise RunDirError(f"{run / DYNAMICS_FILE} is missing: {_holder_note(summary)}; put the file back, or "
                          f"{retrain_advice(run, config)}")
    metrics = read_metrics(run, notes)
    rows = len(next(iter(metrics.values()))) if metrics else 0
    try:
        if has_dynamics:
            if not zipfile.is_zipfile(run / DYNAMICS_FILE):
                raise RunDirError(f"{run / DYNAMICS_FILE} is corrupt (not an npz archive); "
                                  f"{retrain_advice(run, config)}")
            dynamics = load_dynamics(run / DYNAMICS_FILE)
            recorded = max((split.num_epochs for split in dynamics.values()), default=0)
            if rows != recorded:
                raise RunDirError(f"{run / METRICS_FILE} has {rows} epochs but {DYNAMICS_FILE} {recorded}; the run "
                                  "directory is damaged, train the run again")
        else:
            # Killed while training: its finished epochs are in the epoch store. A kill between writing an
            # epoch's dynamics and its metrics row leaves one more of the former: the two are cut alike.
            epochs = _whole_store_epochs(run, config, min(len(stored), rows), notes)
            dynamics = dynamics_from_store(run / EPOCHS_DIR, limit=epochs) if epochs else {}
            metrics = {name: column[:epochs] for name, column in metrics.items()}
    except RunDirError:
        raise
    except DamagedEpoch as damaged:
        raise RunDirError(_damaged_epoch_message(run, config, damaged)) from None
    except ValueError as error:
        raise RunDirError(f"{run}: {error}; train again, or resume it with lossgap train --resume {run}") from None
    except Exception as error:
        raise RunDirError(f"{run / DYNAMICS_FILE} is unreadable ({type(error).__name__}); "
                          f"{retrain_advice(run, config)}") from None
    if not metrics or not dynamics:
        raise RunDirError(f"{run} is incomplete: no epoch was recorded; {continue_advice(run, config)}")
    observations = read_observations(run, notes)
    if summary.get("status") in (None, "interrupted") and config.get("train"):
        blocker = resume_blocker(run)
        if blocker:
            notes.append(blocker)
    for note in notes:
        warn(note)
    return RunRecord(path=run, config=config, metrics=metrics, summary=summary, dynamics=dynamics,
                     observations=observations)


def _whole_store_epochs(run: Path, config: dict, epochs: int, notes: list[str]) -> int:
    """How many of the stored epochs 1..``epochs`` to read: all, or all but the last when the last file is
    damaged (a note says so; a kill while it was written can leave it so, never an earlier one)."""
    if not epochs:
        return 0
    try:
        read_epoch(run / EPOCHS_DIR, epochs)
    except DamagedEpoch as damaged:
        if epochs == 1:
            raise RunDirError(f"{damaged.path} is damaged ({damaged.reason}), and it is the run's only epoch; "
                              f"{retrain_advice(run, config)}") from None
        notes.append(f"{damaged.path} is damaged ({damaged.reason}) and left out: reading epochs 1-{epochs - 1}, "
                     "which are whole")
        return epochs - 1
    return epochs


def _damaged_epoch_message(run: Path, config: dict, damaged: DamagedEpoch) -> str:
    """An epoch file other than the last is damaged: the whole epochs end before it."""
    before = (f"epochs 1-{damaged.epoch - 1} are whole: to diagnose them, move {damaged.path.name} and the files "
              f"after it out of {run / EPOCHS_DIR}; or ") if damaged.epoch > 1 else ""
    return f"{damaged.path} is damaged ({damaged.reason}); {before}{retrain_advice(run, config)}"


def _holder_note(summary: dict) -> str:
    status, epochs = summary.get("status"), summary.get("epochs_run")
    if status is None or status == "interrupted" or epochs is None:
        return f"it and {EPOCHS_DIR}/ hold the per-sample records the diagnosis reads, and neither is there"
    return f"the run finished its {epochs} epochs and keeps their per-sample records only there"


def retrain_advice(run: Path, config: dict) -> str:
    """What trains the run in ``run`` again: its own command into ``run`` with --overwrite (own loops: record
    it again)."""
    if not config.get("train"):
        return "record the run again"
    try:
        from lossgap.training.config import TrainConfig

        from lossgap.run.data_source import command_as_stored

        built = TrainConfig.from_dict(config["train"])
        command = command_as_stored(built.command(run, val_is_fixed=bool((config.get("data") or {}).get(
            "val_is_fixed")), threads=(config.get("runtime") or {}).get("torch_threads")), built, config["train"])
    except Exception:  # options this lossgap cannot rebuild: the command config.json keeps, with the run's --out
        return f"train it again: lossgap train with the options of {run / CONFIG_FILE}, --out {run} --overwrite"
    return f"train it again: {command} --overwrite"


def continue_advice(run: str | Path, config: dict | None = None) -> str:
    """The advice that works for a lossgap run that did not finish: continue it with --resume when it can be
    (its training state is whole), else train it again. (Own-loop runs cannot be resumed: record them again.)"""
    run = Path(run)
    config = read_config(run) if config is None else config
    if not config.get("train"):
        return retrain_advice(run, config)
    if resume_blocker(run):
        return (f"it cannot be resumed ({checkpoint_path(run, LAST_CHECKPOINT)} is truncated or damaged); "
                f"{retrain_advice(run, config)}")
    return f"continue it with lossgap train --resume {run}"


def resume_blocker(run: str | Path) -> str | None:
    """Why ``lossgap train --resume`` cannot continue the run in ``run``, by a cheap look at its training state
    (``checkpoints/last.pt`` cut short or not a checkpoint: a one-line note with the fix), or None. A missing
    last.pt is no blocker (the run is then started again from epoch 1)."""
    target = checkpoint_path(run, LAST_CHECKPOINT)
    if target.exists() and not zipfile.is_zipfile(target):
        return (f"{target} is truncated or damaged, so the run cannot be resumed (the file holds its training "
                f"state); its finished epochs are read; to finish it, {retrain_advice(Path(run), read_config(run))}")
    return None


def read_observations(path: str | Path, notes: list[str] | None = None) -> OptimizationObservations | None:
    """The run's ``optimization.csv`` as :class:`OptimizationObservations`, or None when the run has none.

    A last row cut short (fewer fields than the header, or no line end) is left out, with a note appended to
    ``notes`` (a warning when ``notes`` is None). Raises RunDirError (one line) when the file exists but cannot
    be read.
    """
    target = Path(path) / OPTIMIZATION_FILE
    if not target.exists():
        return None
    try:
        observations, cut = load_observations(target, with_cut=True)
        if cut:
            note = (f"{target} ends in a row cut short; it is left out (the optimisation evidence covers "
                    f"{observations.num_epochs} epochs)")
            notes.append(note) if notes is not None else warn(note)
        return observations
    except (OSError, ValueError, KeyError) as error:
        raise RunDirError(f"{target} is unreadable ({error}); delete it to diagnose the run without it, "
                          "or train again") from None


def _replaced_error(run: Path) -> RunDirError:
    def message(option: str) -> str:
        return (f"{run} is incomplete: the run started with {option} ended before its first epoch finished; the run "
                f"it replaced is kept in {run / PREVIOUS_DIR} (move its files back to use it)")

    return RunDirError(message("overwrite=True"), cli=message("--overwrite"))


def _store_error(path: Path) -> RunDirError | None:
    """The error for ``path`` with no config.json when it is an epoch store or holds only one (an own loop's
    ``Recorder(store=...)``, e.g. killed before its run was saved), naming the call that saves its run; else None."""
    for store, out in ((path / EPOCHS_DIR, path), (path, path.parent)):
        held = len(stored_epochs(store))
        if not held:
            continue
        if (out / CONFIG_FILE).exists():  # the epoch store of a run (trained by lossgap or saved): read the run
            return RunDirError(f"{path} is the epoch store of the run in {out}; pass {out}")
        what = (f"is an epoch store ({held} epochs)" if store == path
                else f"holds only an epoch store ({store}, {held} epochs)")
        call = f"lossgap.recover_recorded_run({str(store)!r}, {str(out)!r})"
        message = f"{path} {what}, not a run: what an own loop's Recorder(store=...) leaves; save its run with {call}"
        return RunDirError(message, cli=f"{message} (from Python), then diagnose {out}")
    return None
