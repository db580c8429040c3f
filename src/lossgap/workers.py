"""The worker side of :mod:`lossgap.parallel`: what runs inside each spawned process, and a job run here.

A worker imports torch once (warm-up), then trains the jobs it is handed with one torch thread, sending every
finished epoch's metrics row to the main process. Its first SIGINT or SIGTERM interrupts the running job the
way Ctrl-C interrupts ``lossgap train`` (the batch finishes and the finished epochs are written); later ones
are ignored, so a second signal cannot cut that writing short, and no new job starts.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lossgap.signals import die_with_parent, unblock_stop_signals
from lossgap.training.config import TrainConfig


@dataclass(frozen=True)
class TrainJob:
    """One training: a label for the display, the configuration, and where its run directory goes."""

    label: str
    config: TrainConfig
    out: Path
    permute_labels: bool = False
    diagnose_run: bool = True
    overwrite: bool = True


@dataclass(frozen=True)
class JobOutcome:
    """What a finished (or interrupted) job left: its run directory, summary and per-epoch metrics rows."""

    label: str
    run_dir: Path
    summary: dict
    history: tuple[dict, ...]
    best_epoch: int | None
    delivered_epoch: int | None
    stop_reason: str
    #: The diagnosis headline, when the job diagnosed its run.
    headline: str | None = None

    @property
    def delivered_row(self) -> dict:
        """The metrics row of the epoch whose model the run delivers (the restored best, or the last)."""
        return self.history[(self.delivered_epoch or len(self.history)) - 1]


def outcome_of(label: str, result) -> JobOutcome:
    """The picklable part of a :class:`lossgap.api.TrainResult`."""
    fit = result.fit
    return JobOutcome(label=label, run_dir=Path(result.run_dir), summary=dict(result.summary),
                      history=tuple(dict(row) for row in fit.history), best_epoch=fit.best_epoch,
                      delivered_epoch=fit.delivered_epoch, stop_reason=fit.stop_reason,
                      headline=result.diagnosis.headline if result.diagnosis is not None else None)


def train(job: TrainJob, on_epoch_end: Callable[[dict], None] | None) -> JobOutcome:
    """Run one job with :func:`lossgap.api.train`; returns its outcome."""
    from lossgap import api

    result = api.train(job.config, job.out, overwrite=job.overwrite, on_epoch_end=on_epoch_end,
                       permute_labels=job.permute_labels, diagnose_run=job.diagnose_run)
    return outcome_of(job.label, result)


class _WorkerState:
    """What a worker process keeps between jobs: the queue to the main process and whether it is stopping.
    Set once per worker process by its initializer (the pool's only way to hand a worker its queue)."""

    messages = None
    working = False
    stopping = False
    parent: int | None = None


def start_worker(messages, threads: int) -> None:
    """The pool's initializer: one torch thread count, the stop handlers, then signals unblocked."""
    import torch

    _WorkerState.messages = messages
    _WorkerState.parent = os.getppid()
    torch.set_num_threads(threads)
    signal.signal(signal.SIGINT, _stop_worker)
    signal.signal(signal.SIGTERM, _stop_worker)
    die_with_parent()
    # Registered last, so it runs first among the exit handlers, after multiprocessing's own exit has flushed the
    # queues and the standard streams: what is left is tearing down torch's modules, about 0.9 s per worker on this
    # machine, which the pool's shutdown and so every parallel command (the demo, remedy) waited for.
    atexit.register(_leave_now)
    messages.put(("started", os.getpid()))
    unblock_stop_signals()   # a stop that came while the worker started arrives now


def _leave_now() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def warm_up() -> None:
    """Import what every training needs before the first job arrives (creating a torch optimiser pulls in
    torch._dynamo: about a second)."""
    import torch

    from lossgap import api  # noqa: F401

    torch.optim.Adam([torch.zeros(1, requires_grad=True)])


def _orphaned() -> bool:
    return _WorkerState.parent is not None and os.getppid() != _WorkerState.parent


def _stop_worker(signum, frame) -> None:
    first = not _WorkerState.stopping
    _WorkerState.stopping = True
    if first and _WorkerState.working:
        raise KeyboardInterrupt
    if not _WorkerState.working and _orphaned():
        # The main process is gone (killed): nobody will hand out a job or read a result again.
        os._exit(1)


def run_job(index: int, job: TrainJob) -> JobOutcome | None:
    """Body of one job in a worker: None when a stop came before it began (or cut it before fit() ran)."""
    messages = _WorkerState.messages
    return _interruptible(lambda: train(job, lambda row: messages.put(("epoch", index, row))))


def report_run(run_dir: Path) -> str | None:
    """Diagnose and report a run a job trained, in a worker (:func:`lossgap.api.report`): its diagnosis headline, or
    None when a stop came before or during it (the run stays on disk for ``lossgap report``)."""
    from lossgap import api

    return _interruptible(lambda: api.report(run_dir)[0].headline)


def _interruptible(work: Callable[[], object]):
    """``work()``, stopped by the worker's first SIGINT or SIGTERM: None when one came before or during it."""
    if _WorkerState.stopping:
        return None
    _WorkerState.working = True
    try:
        return work()
    except KeyboardInterrupt:
        return None
    finally:
        _WorkerState.working = False
        if _orphaned():
            os._exit(1)   # what the work finished is written; its main process is gone
