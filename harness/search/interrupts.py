"""Ctrl-C and SIGTERM while Ray runs: take them between Ray calls, never inside one.

A KeyboardInterrupt raised inside Ray's C++ code (``ray.init``, ``ray.wait``) can leave Ray
half-shut and crash the interpreter at exit. So while a Ray pool runs, the first Ctrl-C (or
SIGTERM) only sets a flag that the driver checks between calls (every half second at most); a
second one interrupts at once, for a user who means it.

SIGTERM (``kill PID``, a supervisor stopping a service, a batch system's time limit) is taken
like Ctrl-C, as ``Terminated``, a KeyboardInterrupt: the same clean-up (trials in flight marked
FAIL, Ray shut down), and the exit code 143 (128 + 15) instead of 130.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, taken like Ctrl-C."""


def interrupt_reason(error: BaseException) -> str:
    """The ``fail_reason`` of a trial in flight when ``error`` ended the loop."""
    if isinstance(error, Terminated):
        return "interrupted: SIGTERM"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    from harness.errors import first_line, root_cause

    return f"aborted: {first_line(root_cause(error))}"


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_as_interrupt(enabled: bool = True) -> Iterator[None]:
    """Within the block SIGTERM raises ``Terminated`` (main thread only; elsewhere, or when
    disabled, SIGTERM keeps its usual behaviour)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def interrupt_between_calls(enabled: bool = True) -> Iterator[Callable[[], None]]:
    """Yield ``check()``, which raises KeyboardInterrupt once Ctrl-C has been pressed (or
    ``Terminated`` once SIGTERM has come, under ``sigterm_as_interrupt``)."""
    pressed: type[KeyboardInterrupt] | None = None

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal pressed
        kind = Terminated if signum == signal.SIGTERM else KeyboardInterrupt
        if pressed is not None:
            raise kind
        pressed = kind

    def check() -> None:
        if pressed is not None:
            raise pressed

    # Signal handlers belong to the main thread; elsewhere (or when a caller installed its
    # own handler) Ctrl-C and SIGTERM keep their usual behaviour.
    ours = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: _raise_terminated}
    usable = enabled and threading.current_thread() is threading.main_thread()
    taken = [
        signum for signum, usual in ours.items() if usable and signal.getsignal(signum) is usual
    ]
    for signum in taken:
        signal.signal(signum, on_signal)
    try:
        yield check
    finally:
        for signum in taken:
            signal.signal(signum, ours[signum])
