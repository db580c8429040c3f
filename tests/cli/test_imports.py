"""Each command imports only what it runs: the heavy modules present in ``sys.modules`` after it, in a fresh
interpreter (no timings: which modules were loaded is what decides start-up time)."""

import json
import subprocess
import sys

import pytest
from fixtures.training import cli_trained_run

HEAVY = ("torch", "matplotlib", "optuna", "scipy", "scipy.stats", "scipy.optimize", "jinja2", "aeon", "lightning")

PROBE = """
import json, sys
from typer.testing import CliRunner
from lossgap.cli.app import register_commands
args = json.loads(sys.argv[1])
result = CliRunner().invoke(register_commands(), args) if args is not None else None
assert result is None or result.exit_code == 0, result.output
print(json.dumps(sorted(name for name in {heavy} if name in sys.modules)))
"""


def heavy_modules_after(args: list[str] | None) -> set[str]:
    """The heavy top-level modules loaded by registering the commands and running ``lossgap ARGS``."""
    code = PROBE.format(heavy=repr(HEAVY))
    completed = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True,
                               check=True)
    return set(json.loads(completed.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return cli_trained_run(tmp_path_factory.mktemp("imports") / "run", samples=120)


def test_import_lossgap_loads_no_heavy_library():
    completed = subprocess.run([sys.executable, "-c", "import sys, lossgap; lossgap.CAUSES; "
                                f"print([name for name in {HEAVY!r} if name in sys.modules])"],
                               capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"


def test_help_loads_no_heavy_library():
    assert heavy_modules_after(["--help"]) == set()
    assert heavy_modules_after(None) == set()


def test_diagnose_needs_scipy_special_only(run_dir):
    # scipy.stats and scipy.optimize cost ~0.6 s of start-up that the diagnosis's few tail functions do not need.
    assert heavy_modules_after(["diagnose", str(run_dir), "--no-write"]) == {"scipy"}


def test_report_draws_without_torch_or_optuna(run_dir):
    loaded = heavy_modules_after(["report", str(run_dir)])
    assert {"matplotlib", "jinja2"} <= loaded
    assert not loaded & {"torch", "optuna", "lightning", "aeon", "scipy.stats"}


def test_public_names_resolve_lazily_and_unknown_ones_fail_clearly():
    import lossgap

    assert lossgap.Recorder.__name__ == "Recorder" and "train" in dir(lossgap)
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        lossgap.nonexistent  # noqa: B018


def test_help_read_by_head_ends_quietly():
    import subprocess
    import sys

    script = "from lossgap.cli.app import main; main()"
    result = subprocess.run(f"{sys.executable} -c '{script}' train --help | head -1", shell=True,
                            capture_output=True, text=True, timeout=60)
    assert result.stderr == "", result.stderr
