"""One sweep trial: train a sampled configuration on the train split, report val loss every epoch, obey the pruner.

The objective value is the trial's best (lowest) validation loss in nats, over the epochs it ran. The test
split is dropped before training: it never chooses anything. Every trial trains with the base seed (split,
initialisation, shuffling, dropout), as ``lossgap train --seed`` does: trials differ only in their
hyperparameters, and the best configuration's ``lossgap train`` command reproduces its trial exactly.
"""

from __future__ import annotations

import math
import os
import socket
from typing import Any

import optuna

from lossgap.data import load_data
from lossgap.data.sequence import DatasetSplits
from lossgap.sweep.space import SearchSpace, apply_params
from lossgap.training.config import TrainConfig
from lossgap.training.once import train_once
from lossgap.training.recorder import Recorder
from lossgap.training.trainer import val_loss_column

#: Trial user attributes written by the objective (read by the summary and the tests). ``init_seed`` tells a
#: trial of an older lossgap (which initialised trial k with seed + k) from one the best command reproduces.
RUN_ID_ATTR = "run_id"
HOST_ATTR = "host"
PID_ATTR = "pid"
INIT_SEED_ATTR = "init_seed"
#: The torch thread count the trial trained with (a run's numbers depend on it).
THREADS_ATTR = "torch_threads"


class _PruneNow(Exception):
    """Raised inside fit()'s epoch callback to leave training when the pruner says so."""


class StopRequest:
    """A Ctrl-C remembered by a signal handler and acted on at the next epoch end.

    Raising KeyboardInterrupt straight from the handler could land inside Optuna's storage code (SQLAlchemy
    then logs a traceback while resetting its connection); at an epoch end the trial is in lossgap's own
    code, so it is failed and recorded cleanly.
    """

    def __init__(self) -> None:
        self.requested = False

    def request(self, signum: int | None = None, frame: Any = None) -> None:
        """Signal-handler signature: remember that a stop was asked for."""
        self.requested = True


def validation_splits(base: TrainConfig) -> DatasetSplits:
    """The train and val splits every trial uses (made with the base seed), without the test split."""
    splits = load_data(base.data, base.seed).splits
    return DatasetSplits(train=splits.train, val=splits.val, source=splits.source, val_is_fixed=splits.val_is_fixed)


class SweepObjective:
    """The objective of a study: ``objective(trial) -> best val loss (nats)``, lower is better.

    Picklable, so worker processes receive it; the data are loaded once per process on first use (or given
    as ``splits`` when the caller already holds them). ``run_id`` tags each trial with the sweep command that
    ran it, so a run can count its own trials in a study that several machines share.
    """

    def __init__(self, base: TrainConfig, space: SearchSpace, run_id: str = "",
                 splits: DatasetSplits | None = None, stop: StopRequest | None = None) -> None:
        self.base = base
        self.space = space
        self.run_id = run_id
        self._splits = splits
        self.stop = stop

    #: Called after each epoch of a trial as on_epoch(trial number, epoch, planned epochs, val loss): the live
    #: display's per-trial line. Set per process (a worker relays it to the main process).
    on_epoch: Any = None

    def __getstate__(self) -> dict[str, Any]:
        # Workers load the data themselves rather than receiving every array through a pipe, and install
        # their own stop request (signal handlers are per process) and epoch relay.
        return {**self.__dict__, "_splits": None, "stop": None, "on_epoch": None}

    def __call__(self, trial: optuna.Trial) -> float:
        if self.stop is not None and self.stop.requested:
            raise KeyboardInterrupt  # asked to stop while Optuna was starting this trial: fail it before training
        trial.set_user_attr(RUN_ID_ATTR, self.run_id)
        # Where the trial runs: a rerun on this machine can tell a trial whose process was killed at once,
        # without waiting for the heartbeat's grace period.
        trial.set_user_attr(HOST_ATTR, socket.gethostname())
        trial.set_user_attr(PID_ATTR, os.getpid())
        config = apply_params(self.base, self.space.suggest(trial))
        # The base seed, the one `lossgap train --seed` uses for split and initialisation alike: a per-trial
        # seed could not be given to the best command, which then could not reproduce its trial's val loss.
        seed = self.base.seed
        trial.set_user_attr(INIT_SEED_ATTR, seed)
        # Part of the trial's numbers: the best command passes it on (--threads), so that it repeats them.
        import torch

        trial.set_user_attr(THREADS_ATTR, torch.get_num_threads())
        if self._splits is None:
            self._splits = validation_splits(self.base)
        # The search needs only epoch losses: train figures from the training pass spare a second pass.
        fit_config = config.model_copy(update={"record_train": "pass"})
        val_losses: list[float] = []

        column = val_loss_column(config)  # a class-weighted trial is judged on the val loss weighted alike

        def after_epoch(row: dict[str, float]) -> None:
            val_losses.append(row[column])
            # A diverged epoch is reported as +inf, the worst value, so the pruner can compare it.
            trial.report(row[column] if math.isfinite(row[column]) else math.inf, int(row["epoch"]))
            if self.on_epoch is not None:
                self.on_epoch(trial.number, int(row["epoch"]), config.epochs, float(row[column]))
            if trial.should_prune():
                raise _PruneNow
            if self.stop is not None and self.stop.requested:
                raise KeyboardInterrupt  # fit() ends with stop_reason "interrupted"

        try:
            result = train_once(fit_config, self._splits, Recorder(keep_logits=()), seed=seed,
                                on_epoch_end=after_epoch).fit
        except _PruneNow:
            raise optuna.TrialPruned(f"pruned after epoch {len(val_losses)}") from None
        if result.stop_reason == "interrupted":
            # fit() swallows Ctrl-C to keep finished epochs; a sweep must stop rather than start the next trial.
            raise KeyboardInterrupt
        trial.set_user_attr("stop_reason", result.stop_reason)
        finite = [loss for loss in val_losses if math.isfinite(loss)]
        return min(finite) if finite else math.inf
