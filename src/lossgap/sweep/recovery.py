"""Trials whose process died: found, marked failed and queued again, so a sweep never keeps a trial "running"
forever and still finishes exactly the trials asked for.

Trials record their host and process id (:mod:`lossgap.sweep.objective`). A trial of this machine whose
process is gone is failed at once; a trial of another machine through Optuna's heartbeat, once it has been
silent for the storage's grace period (:mod:`lossgap.sweep.storage`).
"""

from __future__ import annotations

import os
import socket
import warnings

import optuna

from lossgap.sweep.objective import HOST_ATTR, PID_ATTR, RUN_ID_ATTR


def fail_dead_trials(study: optuna.Study) -> int:
    """Mark failed the "running" trials whose process is gone, and queue each one's parameters again (a
    retry); returns how many. Trials of this machine are checked by process id at once; others by Optuna's
    heartbeat, once it is older than the storage's grace period."""
    host = socket.gethostname()
    dead = []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        pid = trial.user_attrs.get(PID_ATTR)
        if trial.user_attrs.get(HOST_ATTR) == host and isinstance(pid, int) and not _alive(pid):
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
            dead.append(trial)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        stale = optuna.storages.fail_stale_trials(study)
    for trial in dead:
        study.enqueue_trial(trial.params, skip_if_exists=False)
    return len(dead) + (len(stale) if isinstance(stale, list) else 0)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def fail_orphans(study: optuna.Study, run_id: str) -> None:
    """Mark this run's trials still "running" (their worker was killed) as failed; every process has ended."""
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        if trial.user_attrs.get(RUN_ID_ATTR) == run_id:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)


def retry_dead_workers_trials(processes: list, buried: set[int], study: optuna.Study, tickets) -> None:
    """A worker killed outright (kill -9, the OOM killer) left its trial "running" and took its ticket with
    it: mark the trial failed, queue its parameters again and hand its ticket back, so the other workers
    still finish exactly the trials asked for."""
    for process in processes:
        if process.pid is None or process.pid in buried or process.exitcode is None or process.exitcode == 0:
            continue
        buried.add(process.pid)
        for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            if trial.user_attrs.get(PID_ATTR) == process.pid:
                study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
                study.enqueue_trial(trial.params, skip_if_exists=False)
                with tickets.get_lock():
                    tickets.value += 1
