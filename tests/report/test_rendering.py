"""Figures drawn in a forked child and here: the same figures, in order, and an error raised where it can be read."""

import os

import pytest

from lossgap.diagnosis import diagnose_record
from lossgap.report import html, rendering
from lossgap.run.rundir import read_run

pytestmark = pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(),
                                reason="needs the fork start method")


def pid_bytes(tag: int):
    return lambda: f"{tag}:{os.getpid()}".encode()


def test_half_of_the_figures_are_drawn_in_a_child_and_all_come_back_in_order():
    draws = [pid_bytes(tag) for tag in range(7)] + [lambda: None]
    results = rendering.render_figures(draws, parallel=True)
    tags = [result.split(b":")[0] if result else None for result in results]
    assert tags == [b"0", b"1", b"2", b"3", b"4", b"5", b"6", None]
    here = str(os.getpid()).encode()
    drawn_here = {index for index, result in enumerate(results) if result and result.endswith(b":" + here)}
    assert drawn_here == {0, 2, 4, 6}  # every second figure and the last went to the child
    assert all(result.split(b":")[1] == here for result in rendering.render_figures(draws[:7], parallel=False))


def test_a_figure_that_fails_in_the_child_raises_its_own_error_here():
    def broken():
        raise ValueError("no such column")

    with pytest.raises(ValueError, match="no such column"):
        rendering.render_figures([pid_bytes(0), broken], parallel=True)


def test_a_report_drawn_in_two_processes_has_exactly_the_figures_drawn_in_one(configured_run, monkeypatch):
    record = read_run(configured_run)
    diagnosis = diagnose_record(record)
    figures = {}
    for parallel in (True, False):
        monkeypatch.setattr(rendering, "parallel_rendering_available", lambda parallel=parallel: parallel)
        figures[parallel] = [(figure.name, figure.png) for figure in html.report_figures(record, diagnosis)]
    assert len(figures[True]) >= 6 and figures[True] == figures[False]
