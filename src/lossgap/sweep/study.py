"""Run a sweep: add exactly N finished trials to a study, in this process or in K worker processes.

Exactness. A run owns N *tickets*; a trial may start only with a ticket, taken under a lock shared by the
run's processes, and a ticket comes back when its trial fails instead of finishing. So the run adds exactly
N finished (complete or pruned) trials, however the workers interleave. Optuna's MaxTrialsCallback counts
finished trials only after they finish, so two workers that both start "the last" trial overshoot; tickets
cannot. Several machines sharing one PostgreSQL study each add their own N; trial numbers come from the
database and are never reused.

Interruption. Ctrl-C stops every worker: the running trials are marked failed, finished trials are already
in the storage, and ``sweep.json`` is still written.
"""

from __future__ import annotations

import contextlib
import functools
import multiprocessing
import os
import queue as queue_module
import signal
import time
import uuid
from typing import Any
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import optuna
import torch

from lossgap.errors import LossgapError
from lossgap.signals import (die_with_parent, handled_by, ignoring_sigint, raise_interrupt, stops_deferred,
                             unblock_stop_signals)
from lossgap.sweep.objective import StopRequest, SweepObjective
from lossgap.sweep.sampler import make_sampler
from lossgap.sweep.recovery import fail_dead_trials, fail_orphans, retry_dead_workers_trials
from lossgap.sweep.space import SearchSpace
from lossgap.sweep.settings import SweepSettings, preflight, pruner_for
from lossgap.sweep.storage import masked, open_storage, open_study
from lossgap.sweep.summary import write_summary
from lossgap.training.config import TrainConfig

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
#: Seconds the main process waits for interrupted workers to mark their trials failed before killing them.
STOP_GRACE_SECONDS = 20.0


class SweepError(LossgapError):
    """Every worker stopped with an error before the requested trials finished."""


@dataclass(frozen=True)
class TrialReport:
    """One finished trial of this run, as the progress display sees it (value in nats; None if diverged)."""

    number: int
    state: str
    value: float | None
    finished: int
    requested: int
    best_value: float | None


@dataclass(frozen=True, eq=False)
class SweepResult:
    """A sweep call: the study (all its trials), what this call added, why it stopped, where sweep.json is.

    ``stopped`` is "done", "timeout", "interrupted" or "error".
    """

    study: optuna.Study
    finished: int
    requested: int
    stopped: str
    summary_path: Path
    seconds: float


def run_sweep(base: TrainConfig, space: SearchSpace, settings: SweepSettings, *,
              on_start: Callable[[], None] | None = None,
              on_trial: Callable[[TrialReport], None] | None = None,
              on_epoch: Callable[[int, int, int, int, float], None] | None = None) -> SweepResult:
    """Add ``settings.trials`` finished trials to the study and write ``OUT/sweep.json``; returns a SweepResult.

    Device and data are checked first (:func:`preflight`, before anything is written), then storage and
    study (same search space and options if it exists), then
    ``on_start()`` is called and trials begin. ``on_trial`` is called in this process after each trial of
    this run finishes, whichever worker ran it; ``on_epoch(worker, trial number, epoch, planned epochs, val
    loss)`` after each epoch of a running trial (worker 0 when trials run in this process). Ctrl-C ends the sweep with ``stopped == "interrupted"``:
    finished trials stay in the storage and sweep.json is still written. A trial that raises makes the
    error itself (one worker) or :class:`SweepError` (several, once all have stopped) propagate, after the
    summary is written.
    """
    started = time.perf_counter()
    # Before the storage: a study created by a command that was then refused would pin its settings.
    splits = preflight(base)
    verbosity = optuna.logging.get_verbosity()
    # Optuna's own per-trial lines would break the progress bar; failures are reported by this module.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        url = settings.storage_url
        storage = open_storage(url)
        study = open_study(storage, settings.study, space, base, storage_label=masked(url))
        retried = fail_dead_trials(study)
        trials_before = len(study.get_trials(deepcopy=False))
        tracker = _Tracker(settings.trials, _best_value(study), on_trial)
        run_id = uuid.uuid4().hex
        deadline = time.time() + settings.timeout if settings.timeout else None
        stopped = "error"
        try:
            if settings.workers == 1:
                if on_start is not None:
                    on_start()
                here = optuna.load_study(study_name=settings.study, storage=storage, pruner=pruner_for(settings, base),
                                         sampler=make_sampler(base.seed, 0, trials_before))
                stop = StopRequest()
                objective = SweepObjective(base, space, run_id, splits, stop)
                if on_epoch is not None:
                    objective.on_epoch = functools.partial(on_epoch, 0)
                stopped = _run_here(here, objective, settings, deadline, tracker, stop)
            else:
                stopped = _run_workers(base, space, settings, run_id, trials_before, deadline, tracker, on_start,
                                       study=study, on_epoch=on_epoch)
        finally:
            fail_orphans(study, run_id)
            seconds = time.perf_counter() - started
            summary_path = write_summary(study, settings.out, storage=masked(url), this_run={
                "requested": settings.trials, "finished": tracker.finished, "stopped": stopped,
                "workers": settings.workers, "pruner": settings.pruner, "seconds": round(seconds, 3),
                "dead_trials_failed": retried})
    finally:
        optuna.logging.set_verbosity(verbosity)
    return SweepResult(study=study, finished=tracker.finished, requested=settings.trials, stopped=stopped,
                       summary_path=summary_path, seconds=seconds)


class _Tracker:
    """Counts this run's finished trials and the best value, and tells ``on_trial``."""

    def __init__(self, requested: int, best_value: float | None, on_trial) -> None:
        self.requested, self.best_value, self.on_trial = requested, best_value, on_trial
        self.finished = 0

    def record(self, number: int, state: str, value: float | None) -> None:
        self.finished += 1
        if state == "COMPLETE" and value is not None and (self.best_value is None or value < self.best_value):
            self.best_value = value
        if self.on_trial is not None:
            self.on_trial(TrialReport(number, state, value, self.finished, self.requested, self.best_value))


def _run_here(study: optuna.Study, objective: SweepObjective, settings: SweepSettings, deadline: float | None,
              tracker: _Tracker, stop: StopRequest) -> str:
    """Run the trials in this process, one at a time; returns why it stopped.

    The first Ctrl-C stops the running trial at its next epoch end; a second one interrupts at once.
    """

    def finished(_study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        tracker.record(trial.number, trial.state.name, trial.value)

    with _torch_threads(settings.threads), _stop_on_first_sigint(stop):
        try:
            while tracker.finished < settings.trials:
                if stop.requested:
                    return "interrupted"
                if deadline is not None and time.time() >= deadline:
                    return "timeout"
                # One trial per call: the loop, not Optuna, decides whether another may start.
                study.optimize(objective, n_trials=1, callbacks=[finished])
        except KeyboardInterrupt:
            return "interrupted"
    return "done"


@dataclass(frozen=True)
class _WorkerPlan:
    """Everything a worker process needs, picklable."""

    index: int
    storage_url: str
    study: str
    objective: SweepObjective
    settings: SweepSettings
    trials_before: int
    deadline: float | None


def _run_workers(base: TrainConfig, space: SearchSpace, settings: SweepSettings, run_id: str,
                 trials_before: int, deadline: float | None, tracker: _Tracker,
                 on_start: Callable[[], None] | None = None, study: optuna.Study | None = None,
                 on_epoch: Callable[..., None] | None = None) -> str:
    """Start the workers, then ``on_start()``, relay their finished trials to ``tracker``, stop them on Ctrl-C;
    returns why it stopped."""
    context = multiprocessing.get_context("spawn")
    tickets = context.Value("i", settings.trials)
    messages = context.Queue()
    objective = SweepObjective(base, space, run_id)
    processes = [context.Process(target=_worker_main, name=f"lossgap-sweep-worker-{index}", daemon=True,
                                 args=(_WorkerPlan(index, settings.storage_url, settings.study, objective, settings,
                                                   trials_before, deadline), tickets, messages))
                 for index in range(min(settings.workers, settings.trials))]
    errors: list[str] = []
    interrupted = False
    try:
        # A Ctrl-C while a worker is still importing would print its traceback: the workers start with SIGINT
        # blocked (the mask is inherited) and unblock it once their handler is in place; here, a Ctrl-C that
        # came in meanwhile is delivered on leaving the block and stops the sweep.
        with stops_deferred():
            for process in processes:
                process.start()
        # Only now: a display thread running while the workers start would take a Ctrl-C past the mask above.
        if on_start is not None:
            on_start()
        with handled_by(raise_interrupt, (signal.SIGTERM,)):   # SIGTERM stops the sweep as Ctrl-C does
            buried: set[int] = set()
            while True:
                try:
                    message = messages.get(timeout=0.2)
                except queue_module.Empty:
                    if study is not None:
                        retry_dead_workers_trials(processes, buried, study, tickets)
                    if not any(process.is_alive() for process in processes):
                        break
                    continue
                interrupted |= _handle(message, tracker, errors, on_epoch)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if any(process.pid is not None and process.is_alive() for process in processes):
            _stop_workers(processes, tickets)
        # Trials that finished while the workers were being stopped still count.
        with contextlib.suppress(queue_module.Empty, OSError, ValueError):
            while True:
                _handle(messages.get_nowait(), tracker, errors)
    if interrupted:
        return "interrupted"
    if tracker.finished >= settings.trials:
        return "done"
    if deadline is not None and time.time() >= deadline:
        return "timeout"
    reason = errors[0] if errors else "exit codes " + ", ".join(str(process.exitcode) for process in processes)
    raise SweepError(f"the sweep workers stopped after {tracker.finished} of {settings.trials} trials ({reason}); "
                     "the finished trials are kept, rerun to add the rest")


def _handle(message: tuple, tracker: _Tracker, errors: list[str], on_epoch: Callable[..., None] | None = None
            ) -> bool:
    """Apply one worker message; returns True when it reports an interruption."""
    kind = message[0]
    if kind == "epoch":
        if on_epoch is not None:
            on_epoch(*message[1:])
    elif kind == "trial":
        tracker.record(*message[1:])
    elif kind == "error":
        errors.append(message[1])
    return kind == "interrupted"


def _stop_workers(processes: list, tickets) -> None:
    """Stop every worker: no new tickets, SIGINT (their running trial is marked failed), then kill stragglers."""
    with ignoring_sigint():
        with tickets.get_lock():
            tickets.value = 0
        for process in processes:
            if process.is_alive() and process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGINT)
        # A Ctrl-C can land while the workers are being started (it reaches the main thread through any other
        # thread, e.g. the progress display's, whatever the main thread's signal mask): some never started.
        started = [process for process in processes if process.pid is not None]
        ends = time.monotonic() + STOP_GRACE_SECONDS
        for process in started:
            process.join(timeout=max(0.0, ends - time.monotonic()))
        for process in started:
            if process.is_alive():
                process.kill()
                process.join()


def _worker_main(plan: _WorkerPlan, tickets, messages) -> None:
    """Body of a worker process: one torch thread, trials while tickets last; reports each finished trial."""
    # SIGINT/SIGTERM (the terminal's Ctrl-C, or the main process forwarding it) stop the running trial at its
    # next epoch end (Optuna marks it failed); repeated signals change nothing.
    stop = StopRequest()
    signal.signal(signal.SIGINT, stop.request)
    signal.signal(signal.SIGTERM, stop.request)
    die_with_parent()
    unblock_stop_signals()   # a signal pending since start arrives now
    plan.objective.stop = stop
    plan.objective.on_epoch = functools.partial(_relay_epoch, messages, plan.index)
    try:
        torch.set_num_threads(plan.settings.threads or 1)
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        base = plan.objective.base
        study = optuna.load_study(study_name=plan.study, storage=open_storage(plan.storage_url),
                                  sampler=make_sampler(base.seed, plan.index, plan.trials_before),
                                  pruner=pruner_for(plan.settings, base))

        def finished(_study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
            messages.put(("trial", trial.number, trial.state.name, trial.value))

        while not stop.requested and _take_ticket(tickets, plan.deadline):
            try:
                study.optimize(plan.objective, n_trials=1, callbacks=[finished])
            except BaseException:
                # The trial failed instead of finishing: another worker may run it.
                with tickets.get_lock():
                    tickets.value += 1
                raise
    except KeyboardInterrupt:
        pass
    except Exception as error:  # relayed to the main process, which reports it in one line
        messages.put(("error", f"worker {plan.index}: {type(error).__name__}: {error}"))
    if stop.requested:
        messages.put(("interrupted", plan.index))


def _relay_epoch(messages, worker: int, *epoch: Any) -> None:
    messages.put(("epoch", worker, *epoch))


def _take_ticket(tickets, deadline: float | None) -> bool:
    """Take one ticket (True) unless none are left or the deadline has passed."""
    if deadline is not None and time.time() >= deadline:
        return False
    with tickets.get_lock():
        if tickets.value <= 0:
            return False
        tickets.value -= 1
        return True


def _best_value(study: optuna.Study) -> float | None:
    complete = [trial.value for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
    return min(complete) if complete else None


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _stop_on_first_sigint(stop: StopRequest):
    """First Ctrl-C or SIGTERM: ``stop.request()``; a second one raises KeyboardInterrupt. Main thread only
    (else no-op)."""

    def handler(signum, frame) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        stop.request()

    return handled_by(handler, (signal.SIGINT, signal.SIGTERM))
