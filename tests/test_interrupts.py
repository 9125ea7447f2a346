import os
import signal
import time

import pytest

from harness.search.interrupts import Terminated, interrupt_between_calls, sigterm_as_interrupt


@pytest.fixture(autouse=True)
def usual_ctrl_c():
    """Python's own SIGINT handler, whatever this test process inherited (a CI job started in
    the background may have SIGINT ignored)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def press_ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)  # let the interpreter run the handler


def test_first_ctrl_c_waits_for_the_check_and_a_second_one_interrupts_at_once():
    with interrupt_between_calls() as check:
        check()  # nothing pressed yet
        press_ctrl_c()  # taken quietly: we are "inside a Ray call"
        with pytest.raises(KeyboardInterrupt):
            check()
        with pytest.raises(KeyboardInterrupt):
            press_ctrl_c()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt):
        press_ctrl_c()  # outside, Ctrl-C is the usual KeyboardInterrupt again


def test_disabled_it_leaves_ctrl_c_alone():
    with interrupt_between_calls(enabled=False) as check:
        with pytest.raises(KeyboardInterrupt):
            press_ctrl_c()
        check()


def send_sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)


def test_sigterm_is_taken_like_ctrl_c_and_its_handler_restored():
    before = signal.getsignal(signal.SIGTERM)
    with sigterm_as_interrupt():
        with interrupt_between_calls() as check:
            send_sigterm()  # taken quietly between Ray calls, as the first Ctrl-C
            with pytest.raises(Terminated):
                check()
        with pytest.raises(Terminated):
            send_sigterm()  # outside a Ray pool: at once
        assert issubclass(Terminated, KeyboardInterrupt), "every Ctrl-C clean-up runs for it"
    assert signal.getsignal(signal.SIGTERM) is before
