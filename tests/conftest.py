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
    "fixtures.torchrun",
    "fixtures.training",
]


def pytest_configure(config):
    """Under pytest-xdist (``-n 2``), one torch thread per test process: two workers with torch's default of
    one thread per core would spin against each other on a 2-core machine. Subprocesses a test starts inherit
    the setting through OMP_NUM_THREADS; tests that need another count set it themselves."""
    import os
    import sys

    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)
