"""Signal handling shared by everything that runs worker processes (sweeps, remedies, the demo).

A terminal's Ctrl-C sends SIGINT to the whole foreground process group; a cluster or ``kill`` sends SIGTERM
to one process. Both mean "stop, keep what finished".
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

#: The signals that stop a run of several processes: the terminal's Ctrl-C and a polite kill.
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextlib.contextmanager
def stop_signals_blocked() -> Iterator[None]:
    """SIGINT and SIGTERM held back in this thread (and in processes and threads started inside the block,
    which inherit the mask) until it ends; a signal that came meanwhile is delivered on leaving."""
    if not hasattr(signal, "pthread_sigmask"):   # Windows: no signal masks
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def unblock_stop_signals() -> None:
    """Deliver SIGINT/SIGTERM again in this thread (a worker started inside :func:`stop_signals_blocked`
    calls it once its own handlers are in place; a signal pending since its start arrives now)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


@contextlib.contextmanager
def handled_by(handler, signals=(signal.SIGINT,)) -> Iterator[dict]:
    """``signals`` go to ``handler`` inside the block, then back to their previous handlers; yields those
    previous handlers by signal number. The handlers are swapped with the stop signals held back, so none
    falls between two swaps. Outside the main thread, where Python allows no signal handler, the block runs
    unchanged and yields {}."""
    previous: dict = {}
    try:
        with stop_signals_blocked():
            for number in signals:
                previous[number] = signal.signal(number, handler)
    except ValueError:
        with stop_signals_blocked():
            for number, old in previous.items():
                signal.signal(number, old)
        yield {}
        return
    try:
        yield dict(previous)
    finally:
        with stop_signals_blocked():
            for number, old in previous.items():
                signal.signal(number, old)


def raise_interrupt(signum, frame) -> None:
    """A signal handler that turns a stop signal (SIGTERM) into the KeyboardInterrupt Ctrl-C raises, so one
    code path handles both."""
    raise KeyboardInterrupt


def ignoring_sigint():
    """Hold off a second Ctrl-C while workers are being stopped (only possible in the main thread)."""
    return handled_by(signal.SIG_IGN)


@contextlib.contextmanager
def stops_deferred() -> Iterator[None]:
    """Inside the block SIGINT and SIGTERM are only remembered (and held back in processes started in it);
    on leaving, one that came raises KeyboardInterrupt. Blocking the signals in this thread is not enough
    on its own: the kernel hands a process-wide signal to any thread that does not block it (a library's
    worker thread), and Python then raises KeyboardInterrupt in the main thread wherever it is, e.g. halfway
    through sending a new worker process its start-up data."""
    received: list[int] = []
    with handled_by(lambda signum, frame: received.append(signum), (signal.SIGINT, signal.SIGTERM)):
        with stop_signals_blocked():
            yield
    if received:
        raise KeyboardInterrupt


@contextlib.contextmanager
def stops_held() -> Iterator[None]:
    """Inside the block SIGINT and SIGTERM only wait; on leaving, however it is left, each that came goes to
    the handler that was in place before (Ctrl-C's KeyboardInterrupt, a worker's stop, a DDP rank's stop
    flag), every one of them even when an earlier one raises (its exception is raised after the others ran).
    The same signal a second time inside the block goes to its handler at once: a user who presses Ctrl-C
    again during a write that hangs means it.

    For work that must end whole, such as an epoch's files: a KeyboardInterrupt raised inside a library's
    writer can come out as another error (numpy's savez turns it into zipfile's "Can't close the ZIP file"
    ValueError) and the stop is lost. Outside the main thread, where Python runs no signal handler, the block
    runs unchanged."""
    received: list[int] = []
    previous: dict = {}

    def hold(signum, frame) -> None:
        if signum in received:
            _deliver_to(previous.get(signum, signal.SIG_DFL), signum, frame)
        else:
            received.append(signum)

    try:
        with handled_by(hold, tuple(sorted(STOP_SIGNALS))) as swapped:
            previous.update(swapped)
            yield
    finally:
        first_error: BaseException | None = None
        for signum in received:
            try:
                signal.raise_signal(signum)
            except BaseException as error:   # noqa: BLE001 - every held stop is delivered before any is raised
                first_error = first_error or error
        if first_error is not None:
            raise first_error


def _deliver_to(handler, signum: int, frame) -> None:
    """Run ``handler`` (a callable, SIG_DFL or SIG_IGN) for ``signum`` now."""
    if callable(handler):
        handler(signum, frame)
    elif handler == signal.SIG_DFL:   # the signal's default action: the process ends
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)


def die_with_parent() -> None:
    """Ask the OS to send this process SIGTERM when its parent dies (Linux; elsewhere nothing happens).

    A worker whose main process was killed with SIGKILL (the OOM killer, ``kill -9``) would otherwise go on
    training, or holding a sweep's database, as an orphan; SIGTERM makes it stop as on Ctrl-C."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
