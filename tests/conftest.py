"""The one place test fixtures are registered.

Fixtures that build data with a known answer live in the modules below (one per concern, so they are
never copied between test files); this file only registers them.
"""

pytest_plugins = [
    "fixtures.browser",
    "fixtures.data",
    "fixtures.dynamics",
    "fixtures.learning_curves",
    "fixtures.lightning",
    "fixtures.postgres",
    "fixtures.scenarios",
    "fixtures.torchrun",
    "fixtures.training",
]


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs ``-n auto``: one worker per core), one torch thread per worker:
    workers with torch's default of one thread per core each would spin against each other. Subprocesses a
    test starts inherit the setting through OMP_NUM_THREADS; tests that need another count set it themselves."""
    import os
    import sys

    _ctrl_c_as_a_terminal_gives_it()
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _ctrl_c_as_a_terminal_gives_it():
    """SIGINT raising KeyboardInterrupt and the stop signals not blocked, in pytest and in every xdist worker
    (``pytest_configure`` runs in each).

    A shell without job control (``sh -c 'make test &'``, a CI runner or a tool that starts commands in the
    background) starts a background command with SIGINT ignored; make, pytest, the xdist workers and every
    subprocess inherit that, and Python installs no KeyboardInterrupt handler for a signal ignored at start-up.
    The tests about stopping then found Ctrl-C doing nothing (4 of them failed in two fresh-clone runs started
    that way, which had been taken for a test leaking its signal state; none does). A blocked mask is inherited
    the same way."""
    import signal

    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})

