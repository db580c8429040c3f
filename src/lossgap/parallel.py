"""Independent trainings side by side: the remedies' configurations x seeds, the demo's three experiments.

Each job is one :func:`lossgap.api.train` call. With one worker they run here, one after another; with K workers
each runs in a spawned process, and a job that diagnoses its run has its diagnosis and report written by a task
of its own once it is trained (the same files, while another worker takes the next training). Every job uses one
torch thread unless told otherwise (K processes x 1 thread keep K cores busy without one run's threads spinning
against another's), and that is also what makes the results independent of K: a run's numbers depend on torch's
thread count (summation order changes the last bits, and training amplifies them: two runs of the same seed with
1 and 2 threads part visibly by the third epoch), never on which process ran it. Epoch rows come back through a
queue for the progress display.

Ctrl-C (SIGINT to the whole process group, as a terminal sends it) or SIGTERM to this process stops every
job: a running one finishes its batch and writes what it finished (as ``lossgap train`` does on Ctrl-C),
jobs not started never start, and the result says which finished.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue as queue_module
import signal
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace

from lossgap.errors import ConfigError, LossgapError
from lossgap.signals import handled_by, ignoring_sigint, raise_interrupt, stops_deferred
from lossgap.workers import JobOutcome, TrainJob, report_run, run_job, start_worker, train, warm_up

#: Seconds stopped workers get to write their finished epochs before they are killed.
STOP_GRACE_SECONDS = 60.0
#: Seconds idle workers get to leave once the pool closes (they take well under one) before they are killed: every
#: result is in by then, and a worker that cannot leave must not hold the command open (a stopped remedy's main process
#: and one worker once waited on locks past two minutes at this point).
LEAVE_GRACE_SECONDS = 20.0


@dataclass(frozen=True)
class JobsResult:
    """The outcomes in job order (None for a job that never ran) and whether a stop cut the jobs short."""

    outcomes: tuple[JobOutcome | None, ...]
    interrupted: bool = False
    workers: int = 1
    seconds: float = 0.0
    threads: int = 1


__all__ = ["EpochHook", "JobHook", "JobOutcome", "JobsResult", "TrainJob", "TrainingPool", "available_cores",
           "check_counts", "train_jobs"]

EpochHook = Callable[[TrainJob, dict], None]
JobHook = Callable[[TrainJob, JobOutcome], None]


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it, else the machine's count)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def check_counts(workers: int | None, threads: int | None = None) -> None:
    """ConfigError (one line) for a worker or thread count under 1; None (the default) passes."""
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")


def train_jobs(jobs: list[TrainJob], *, workers: int | None = None, threads: int | None = None,
               on_epoch_end: EpochHook | None = None, on_job_end: JobHook | None = None) -> JobsResult:
    """Train ``jobs`` with ``workers`` processes (default: one per available core); returns a JobsResult.

    ``threads`` is torch's thread count per job (default 1, whatever ``workers``: the same jobs give the same
    numbers with any number of workers). ``on_epoch_end(job, row)`` and ``on_job_end(job, outcome)`` are called
    in this process. A job's LossgapError stops the others and is raised here once they have written what
    they finished.
    """
    with TrainingPool(workers, threads, expected_jobs=len(jobs)) as pool:
        return pool.run(jobs, on_epoch_end=on_epoch_end, on_job_end=on_job_end)


class TrainingPool:
    """Worker processes for :meth:`run`, started on entering: a caller with work to do before it knows its jobs
    (``lossgap remedy`` diagnoses the run first) lets the workers import torch meanwhile.

    ``workers`` defaults to one per available core (at most ``expected_jobs`` when given); with one, jobs
    run in this process.
    """

    def __init__(self, workers: int | None = None, threads: int | None = None, *,
                 expected_jobs: int | None = None) -> None:
        # Read here rather than through training.distributed.launched_world_size, which would import torch
        # into this process (the workers import it; remedy's own process need not).
        if os.environ.get("WORLD_SIZE", "1") not in ("", "1"):
            # Under torchrun every rank would run every job (or its workers would inherit the rank and join
            # the job's process group twice): independent trainings are this pool's own parallelism.
            raise ConfigError("remedy, demo and other multi-run commands train independent runs in their own "
                              "processes; start them without torchrun (only 'lossgap train' runs data-parallel)")
        workers = available_cores() if workers is None else workers
        check_counts(workers, threads)
        self.workers = max(1, min(workers, expected_jobs)) if expected_jobs else workers
        self.threads = threads or 1
        self._executor: ProcessPoolExecutor | None = None
        self._messages = None
        self._pids: set[int] = set()

    def __enter__(self) -> TrainingPool:
        if self.workers > 1:
            context = multiprocessing.get_context("spawn")
            self._messages = context.Queue()
            # Workers and the pool's manager thread start with SIGINT/SIGTERM blocked (the mask is inherited): a
            # Ctrl-C while a worker imports torch is delivered once its handler is in place, never as a traceback.
            try:
                with stops_deferred():
                    self._executor = ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                                         initializer=start_worker,
                                                         initargs=(self._messages, self.threads))
                    for _ in range(self.workers):
                        self._executor.submit(warm_up)
            except KeyboardInterrupt:
                self.__exit__(None, None, None)
                raise
        return self

    def __exit__(self, *exc_info) -> None:
        if self._executor is not None:
            with ignoring_sigint():
                workers = multiprocessing.active_children()
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._let_workers_leave(workers)
                self._executor.shutdown(wait=True)
                self._messages.close()
            self._executor = None

    def _let_workers_leave(self, workers: list) -> None:
        """Wait up to LEAVE_GRACE_SECONDS for ``workers`` to exit, reading the message queue meanwhile (a worker's
        exit waits until what it put there is written into the pipe, which a full pipe holds up), then kill the
        ones left."""
        leave_by = time.monotonic() + LEAVE_GRACE_SECONDS
        while any(worker.is_alive() for worker in workers) and time.monotonic() < leave_by:
            self._relay([], None)
            time.sleep(0.02)
        left = [worker for worker in workers if worker.is_alive()]
        _signal_all({worker.pid for worker in left}, signal.SIGKILL)
        for worker in left:
            worker.join(timeout=5.0)

    def run(self, jobs: list[TrainJob], *, on_epoch_end: EpochHook | None = None,
            on_job_end: JobHook | None = None) -> JobsResult:
        """Train ``jobs`` (see :func:`train_jobs`); returns a JobsResult."""
        started = time.perf_counter()
        if self._executor is None:
            outcomes, interrupted = _run_here(jobs, self.threads, on_epoch_end, on_job_end)
        else:
            outcomes, interrupted = self._run_in_workers(jobs, on_epoch_end, on_job_end)
        return JobsResult(tuple(outcomes), interrupted, self.workers, time.perf_counter() - started, self.threads)

    def _relay(self, jobs, on_epoch_end) -> None:
        with contextlib.suppress(queue_module.Empty, OSError, ValueError):
            while True:
                kind, *payload = self._messages.get_nowait()
                if kind == "started":
                    self._pids.add(payload[0])
                elif kind == "epoch" and on_epoch_end is not None:
                    on_epoch_end(jobs[payload[0]], payload[1])

    def _run_in_workers(self, jobs, on_epoch_end, on_job_end) -> tuple[list, bool]:
        outcomes: list[JobOutcome | None] = [None] * len(jobs)
        interrupted = False
        failure: BaseException | None = None
        # A job that diagnoses its run does so in a task of its own once trained, so that another worker can take
        # the next training meanwhile (the demo's three runs: the last training waited behind two reports).
        reports: dict[Future, int] = {}

        def result_of(future: Future, index: int):
            """The future's result, or None once a stop or failure it raised is noted."""
            nonlocal interrupted, failure
            try:
                return future.result()
            except (KeyboardInterrupt, BrokenProcessPool) as error:
                interrupted = True
                if isinstance(error, BrokenProcessPool):
                    failure = failure or LossgapError(f"a worker process died while training '{jobs[index].label}' "
                                                      "(out of memory?); the finished runs are kept, rerun to redo "
                                                      "the rest")
            except Exception as error:  # the job's own error: reported once every worker has stopped
                failure = failure or error
            return None

        def collect(future: Future, index: int, stopping: bool) -> Future | None:
            """Take a finished task's result; returns the report task it starts, if any."""
            nonlocal interrupted
            if future in reports:
                headline = result_of(future, index)
                if headline is not None:
                    outcomes[index] = replace(outcomes[index], headline=headline)
                return None
            outcome = result_of(future, index)
            if outcome is None and future.exception() is not None:
                return None
            self._relay(jobs, on_epoch_end)   # its last epoch rows before its end
            outcomes[index] = outcome
            if outcome is None or outcome.stop_reason == "interrupted":
                interrupted = True
            if outcome is not None and on_job_end is not None:
                on_job_end(jobs[index], outcome)
            if outcome is None or not jobs[index].diagnose_run or not outcome.history or stopping or interrupted:
                return None
            report = self._executor.submit(report_run, outcome.run_dir)
            reports[report] = index
            return report

        futures: dict[Future, int] = {}
        try:
            with stops_deferred():
                for index, job in enumerate(jobs):
                    futures[self._executor.submit(run_job, index, replace(job, diagnose_run=False))] = index
        except BrokenProcessPool as error:
            raise LossgapError(f"the worker processes could not start ({error}); rerun with --workers 1 to train "
                               "here, and report the problem") from None
        except KeyboardInterrupt:
            interrupted = True   # the jobs already handed out are stopped below
        pending = set(futures)
        # A stop is only remembered here and read between waits: a KeyboardInterrupt raised by the handler itself can
        # land inside the wait's lock bookkeeping and leave "release unlocked lock" with a traceback and exit 1 instead
        # of the stop (seen once on a fresh clone's Ctrl-C test of `lossgap remedy`).
        stops: list[int] = []
        try:
            with handled_by(lambda signum, frame: stops.append(signum), (signal.SIGINT, signal.SIGTERM)):
                while pending and failure is None and not interrupted and not stops:
                    done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    self._relay(jobs, on_epoch_end)
                    for future in done:
                        report = collect(future, futures.get(future, reports.get(future)), stopping=bool(stops))
                        if report is not None:
                            pending.add(report)
            interrupted = interrupted or bool(stops)
        except KeyboardInterrupt:   # outside the main thread no handler could be set, and Ctrl-C raises as usual
            interrupted = True
        finally:
            with ignoring_sigint():
                for future in pending:
                    future.cancel()
                running = [future for future in pending if not future.cancelled()]
                if running:
                    _signal_all(self._pids, signal.SIGINT)
                    done, still = wait(running, timeout=STOP_GRACE_SECONDS)
                    for future in done:
                        collect(future, futures.get(future, reports.get(future)), stopping=True)
                    if still:
                        _signal_all(self._pids, signal.SIGKILL)
                self._relay(jobs, on_epoch_end)
        if failure is not None:
            raise failure
        return outcomes, interrupted or any(outcome is None for outcome in outcomes)


def _run_here(jobs, threads, on_epoch_end, on_job_end) -> tuple[list, bool]:
    import torch

    outcomes: list[JobOutcome | None] = [None] * len(jobs)
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        # SIGTERM stops the jobs as Ctrl-C does: the running one finishes its batch and writes its epochs.
        with handled_by(raise_interrupt, (signal.SIGTERM,)):
            for index, job in enumerate(jobs):
                hook = (lambda row, job=job: on_epoch_end(job, row)) if on_epoch_end is not None else None
                try:
                    outcome = train(job, hook)
                except KeyboardInterrupt:
                    return outcomes, True
                outcomes[index] = outcome
                if on_job_end is not None:
                    on_job_end(job, outcome)
                if outcome.stop_reason == "interrupted":
                    return outcomes, True
    finally:
        torch.set_num_threads(previous_threads)
    return outcomes, False


def _signal_all(pids: set[int], number: int) -> None:
    """``number`` to every worker: a stop sent to this process alone (SIGTERM) must reach them too."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, number)
