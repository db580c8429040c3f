"""The one place test fixtures are registered.

Fixtures that build data with a known answer live in the modules below (one per concern, so they are
never copied between test files); this file only registers them.
"""

pytest_plugins = [
    "fixtures.browser",
    "fixtures.data",
    "fixtures.dynamics",
    "fixtures.learning_curves",
    "fixtures.diagnosis",
    "fixtures.postgres",
    "fixtures.scenarios",
    "fixtures.signals",
    "fixtures.torchrun",
    "fixtures.training",
]


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs ``-n auto``: one worker per core), one torch thread per worker:
    workers with torch's default of one thread per core each would spin against each other. Subprocesses a
    test starts inherit the setting through OMP_NUM_THREADS; tests that need another count set it themselves."""
    import os
    import sys

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)

