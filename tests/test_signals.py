import os
import signal

import pytest

from lossgap.signals import handled_by, raise_interrupt, stops_held


def test_stops_held_delivers_each_signal_to_the_handler_in_place_after_the_block():
    received = []
    with handled_by(lambda signum, frame: received.append(signum), (signal.SIGINT, signal.SIGTERM)):
        with stops_held():
            os.kill(os.getpid(), signal.SIGTERM)
            os.kill(os.getpid(), signal.SIGINT)
            done_inside = list(received)
    assert done_inside == [] and sorted(received) == sorted([signal.SIGTERM, signal.SIGINT])


def test_a_ctrl_c_inside_stops_held_is_a_keyboard_interrupt_after_the_block_ends():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with stops_held():
            signal.raise_signal(signal.SIGINT)
            steps.append("finished")
    assert steps == ["finished"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with handled_by(raise_interrupt, (signal.SIGTERM,)), pytest.raises(KeyboardInterrupt):
        with stops_held():
            pass
        signal.raise_signal(signal.SIGTERM)


def test_held_stops_are_delivered_even_when_the_block_fails_and_every_handler_runs():
    received = []

    def note(signum, frame):
        received.append(signum)
        raise KeyboardInterrupt

    with handled_by(note, (signal.SIGINT, signal.SIGTERM)):
        with pytest.raises(KeyboardInterrupt) as raised:
            with stops_held():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)
                raise OSError("disk full")
    # Both handlers ran although the first raised, and the write's own error is kept as the context.
    assert sorted(received) == sorted([signal.SIGTERM, signal.SIGINT])
    assert isinstance(raised.value.__context__, (OSError, KeyboardInterrupt))


def test_the_same_stop_twice_inside_the_block_is_delivered_at_once():
    with pytest.raises(KeyboardInterrupt):
        with stops_held():
            signal.raise_signal(signal.SIGINT)
            signal.raise_signal(signal.SIGINT)   # again: the user means it
            pytest.fail("the second Ctrl-C did not break through")


def test_outside_the_main_thread_the_block_runs_unchanged():
    import threading

    done = []
    thread = threading.Thread(target=lambda: done.append(list(iter_once())))
    thread.start()
    thread.join()
    assert done == [["ran"]]


def iter_once():
    with stops_held():
        yield "ran"
