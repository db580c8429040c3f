"""Render a report's figures on two cores: a forked child draws half of them while this process draws the rest.

Each figure is independent and costs 0.1-0.3 s of matplotlib work (ticks, text, rasterising), which is most of
writing a report; on two cores two processes halve it. The child is forked (``multiprocessing``'s "fork" start
method), so it inherits the run's records and the drawing functions as they are, nothing is pickled on the way
in, and only the PNG bytes come back through a pipe.

Forking is only done where it is safe and pays: on POSIX with the "fork" start method, with two or more cores,
and not in a process that has imported torch (``lossgap train`` and the demo's workers write their reports after
training; a fork of a process with torch's thread pools is not worth the risk for half a second). Everywhere else,
and if the child fails in any way, the figures are drawn here, one after another, with the same result: the
functions are deterministic, so both paths give the same bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from typing import Callable

Draw = Callable[[], "bytes | None"]


def parallel_rendering_available() -> bool:
    """True when :func:`render_figures` may fork (see the module docstring)."""
    return (os.name == "posix" and "fork" in multiprocessing.get_all_start_methods()
            and (os.cpu_count() or 1) >= 2 and "torch" not in sys.modules)


def render_figures(draws: list[Draw], *, parallel: bool | None = None) -> list[bytes | None]:
    """Call every function of ``draws`` (each returns PNG bytes, or None for a figure the run does not allow) and
    return their results in order. ``parallel``: None decides by :func:`parallel_rendering_available`; True forks
    a child for every other figure (when the platform can fork at all); False draws them all here."""
    if parallel is None:
        parallel = parallel_rendering_available()
    if not parallel or len(draws) < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return [draw() for draw in draws]
    context = multiprocessing.get_context("fork")
    # The child takes every second figure and the last (this process still has the page to write afterwards).
    theirs = [index for index in range(len(draws)) if index % 2 == 1 or index == len(draws) - 1]
    ours = [index for index in range(len(draws)) if index not in theirs]
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_draw_into, args=([draws[index] for index in theirs], sender), daemon=True)
    child.start()
    sender.close()
    results: list[bytes | None] = [None] * len(draws)
    try:
        for index in ours:
            results[index] = draws[index]()
        try:
            status, drawn = receiver.recv()
        except (EOFError, OSError):  # the child died before sending
            status, drawn = "failed", None
    finally:
        receiver.close()
        child.join()
    if status != "ok":
        # Drawn again here: a figure that fails raises its own error in this process, with its traceback.
        drawn = [draws[index]() for index in theirs]
    for index, png in zip(theirs, drawn):
        results[index] = png
    return results


def _draw_into(draws: list[Draw], sender) -> None:
    """The child: draw ``draws`` and send ("ok", [png, ...]), or ("failed", None) on any error."""
    try:
        drawn = [draw() for draw in draws]
    except BaseException:  # noqa: BLE001 - the parent draws them again and raises the error there
        sender.send(("failed", None))
    else:
        sender.send(("ok", drawn))
    finally:
        sender.close()
