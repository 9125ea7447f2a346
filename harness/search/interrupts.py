"""Ctrl-C while Ray runs: take it between Ray calls, never inside one.

A KeyboardInterrupt raised inside Ray's C++ code (``ray.init``, ``ray.wait``) can leave Ray
half-shut and crash the interpreter at exit. So while a Ray pool runs, the first Ctrl-C only
sets a flag that the driver checks between calls (every half second at most); a second one
interrupts at once, for a user who means it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def interrupt_between_calls(enabled: bool = True) -> Iterator[Callable[[], None]]:
    """Yield ``check()``, which raises KeyboardInterrupt once Ctrl-C has been pressed."""
    pressed = False

    def on_sigint(signum, frame) -> None:
        nonlocal pressed
        if pressed:
            raise KeyboardInterrupt
        pressed = True

    def check() -> None:
        if pressed:
            raise KeyboardInterrupt

    # Signal handlers belong to the main thread; elsewhere (or when a caller installed its
    # own handler) Ctrl-C keeps its usual behaviour.
    usable = (
        enabled
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) is signal.default_int_handler
    )
    if not usable:
        yield check
        return
    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield check
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
