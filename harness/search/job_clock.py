"""Where a job's wall time went, seen from the thread that trains it: wall time, the training
thread's CPU time, the time it waited for a CPU while runnable (other processes on the cores;
Linux only), the rest (blocked: locks, I/O, sleeping), and the part of the wall time spent
before the first epoch, in the epoch hooks and after the last epoch. Reading it costs two
clock reads and one small file per job end (``scripts/worker_profile.py`` prints it)."""

from __future__ import annotations

import time


class JobClock:
    """Where a job's wall time went, seen from the thread that trains it (module text)."""

    def __init__(self) -> None:
        self.wall0, self.cpu0, self.wait0 = time.perf_counter(), time.thread_time(), _run_wait()
        self.first_hook: float | None = None  # wall time when the first epoch's hook began
        self.last_hook = self.wall0  # wall time when the last hook returned
        self.hooks = 0.0  # wall seconds inside the epoch hooks

    def hook_entered(self) -> None:
        self._entered = time.perf_counter()
        if self.first_hook is None:
            self.first_hook = self._entered

    def hook_left(self) -> None:
        self.last_hook = time.perf_counter()
        self.hooks += self.last_hook - self._entered

    def profile(self) -> dict[str, float | None]:
        wall = time.perf_counter() - self.wall0
        cpu = time.thread_time() - self.cpu0
        wait0, wait1 = self.wait0, _run_wait()
        waited = wait1 - wait0 if wait0 is not None and wait1 is not None else None
        end = time.perf_counter()
        return {
            "wall_s": wall,
            "cpu_s": cpu,
            "runq_wait_s": waited,
            "blocked_s": None if waited is None else max(0.0, wall - cpu - waited),
            "to_first_epoch_s": (self.first_hook or end) - self.wall0,
            "hooks_s": self.hooks,
            "after_last_epoch_s": end - max(self.last_hook, self.first_hook or self.wall0),
        }


def _run_wait() -> float | None:
    """Seconds this thread has spent runnable but waiting for a CPU (Linux schedstat's second
    field), or None where the kernel does not say."""
    try:
        with open("/proc/thread-self/schedstat") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None
