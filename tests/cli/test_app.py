"""The console-script entry point: a rank of a torchrun job leaves through exit_rank with the command's status."""

from __future__ import annotations

import sys

import pytest

from lossgap.cli import app as cli_app


@pytest.mark.parametrize(("argv", "status"), [(["datasets"], 0), (["diagnose", "no/such/run"], 2)])
def test_a_torchrun_rank_leaves_through_exit_rank_with_the_commands_status(monkeypatch, argv, status):
    left = []

    def record(code):
        left.append(code)
        raise SystemExit(code)   # stands in for os._exit, which would end the test process

    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr("lossgap.training.distributed.exit_rank", record)
    monkeypatch.setattr(sys, "argv", ["lossgap", *argv])
    with pytest.raises(SystemExit):
        cli_app.main()
    assert left == [status]


def test_a_lone_process_exits_as_usual(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.setattr("lossgap.training.distributed.exit_rank", lambda code: pytest.fail("exit_rank called"))
    monkeypatch.setattr(sys, "argv", ["lossgap", "datasets"])
    with pytest.raises(SystemExit) as stop:
        cli_app.main()
    assert stop.value.code in (0, None)
