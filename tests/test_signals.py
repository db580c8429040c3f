import os
import signal

import pytest

from lossgap.signals import handled_by, raise_interrupt, stops_held


def test_stops_held_delivers_each_signal_once_to_the_handler_in_place_after_the_block():
    received = []
    with handled_by(lambda signum, frame: received.append(signum), (signal.SIGINT, signal.SIGTERM)):
        with stops_held():
            os.kill(os.getpid(), signal.SIGTERM)
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
