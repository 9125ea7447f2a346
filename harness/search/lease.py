"""One live driver per study: a lease with a heartbeat in the study's system attributes.

A driver that opens a study takes its lease (host, pid, the process's start time, a token, the
time of its last heartbeat) and renews it while it runs; a second driver on a study whose
holder is alive is refused with one line naming the holder, instead of failing the holder's
RUNNING trials as stale and crashing it.

Whether the holder is alive:
- on this host, its process is asked: a holder whose pid is alive (and is the same process: the
  start time guards against a reused pid) keeps its lease however old its heartbeat, since a
  driver that is paused (``kill -STOP``, a laptop asleep, a VM suspended) heartbeats again when
  it resumes; a holder whose process is gone has no lease.
- on another host, only the heartbeat can tell: a lease whose heartbeat is older than
  ``STALE_AFTER`` seconds (``$HARNESS_LEASE_TIMEOUT``) has expired.
A new driver takes an expired lease and fails the dead driver's RUNNING trials (they are
retried). ``HARNESS_FORCE_LEASE=1`` takes the lease of a live holder too; that driver then
finds at its next heartbeat that the study is no longer its own and stops in one line.

The lease is renewed from the driver's loop, and from a thread while the workers start (Ray's
start-up may take minutes before a worker that cannot be placed is refused).

Written here rather than with Optuna's heartbeat: ``RDBStorage(heartbeat_interval=...)``
beats per trial from inside ``study.optimize``, which the ask-and-tell driver does not use,
and it exists for RDB storages only; a study attribute works with every storage. Storages
have no compare-and-set, so two drivers started within the same instant could both take the
lease; the taker reads it back and gives up if another token won.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import optuna

from harness.errors import HarnessError

KEY = "harness:driver_lease"
HEARTBEAT = 10.0  # seconds between renewals while a driver runs (at most STALE_AFTER / 6)
STALE_AFTER = 60.0  # seconds without a heartbeat after which another host's lease has expired
TIMEOUT_ENV = "HARNESS_LEASE_TIMEOUT"  # STALE_AFTER in seconds, for tests and slow storages
FORCE_ENV = "HARNESS_FORCE_LEASE"  # "1": take the study from a live driver


class LeaseLost(HarnessError):
    """Another driver took the study while this one held it (paused past the timeout on
    another host, or taken with HARNESS_FORCE_LEASE=1)."""


def stale_after() -> float:
    """Seconds after which another host's lease expires: ``$HARNESS_LEASE_TIMEOUT``, else
    STALE_AFTER."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return STALE_AFTER
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise HarnessError(f"${TIMEOUT_ENV} must be seconds > 0, but got {text!r}")
    return seconds


def _process_start(pid: int) -> str | None:
    """An identity of process ``pid`` that a later process with the same pid does not share
    (the boot and the start time in clock ticks, from /proc); None where /proc has none."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # field 22 is the start time; the process's name (field 2, in parentheses) may hold spaces
    return f"{boot}:{stat.rpartition(')')[2].split()[19]}"


def _alive_here(held: dict) -> bool | None:
    """Whether the holder's process lives: None when it is on another host (unknown)."""
    if held.get("host") != socket.gethostname():
        return None
    pid = int(held.get("pid", 0))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        pass
    started = held.get("started")
    return started is None or _process_start(pid) in (None, started)


def _forced() -> bool:
    return os.environ.get(FORCE_ENV, "") not in ("", "0")


@dataclass
class Lease:
    """This driver's lease on one study."""

    study: optuna.Study
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    renewed: float = 0.0  # time.monotonic() of the last renewal

    @property
    def _id(self) -> int:
        return self.study._study_id

    def _write(self, value: dict | None) -> None:
        self.study._storage.set_study_system_attr(self._id, KEY, value)

    def _read(self) -> dict | None:
        return self.study._storage.get_study_system_attrs(self._id).get(KEY)

    def _beat(self, now: float | None = None) -> None:
        self._write(
            {
                "token": self.token,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "started": _process_start(os.getpid()),
                "heartbeat": time.time() if now is None else now,
            }
        )
        self.renewed = time.monotonic()

    def acquire(self, now: float | None = None) -> None:
        """Take the lease, or raise HarnessError naming the live holder."""
        now = time.time() if now is None else now
        stale_after()  # a bad $HARNESS_LEASE_TIMEOUT is refused here, before anything runs
        held = self._read()
        if held and held.get("token") != self.token and not _forced():
            self._refuse_if_held(held, now - float(held.get("heartbeat", 0)))
        self._beat(now)
        won = self._read()
        if not won or won.get("token") != self.token:
            raise HarnessError(
                f"study {self.study.study_name!r}: another driver took it at the "
                "same moment; one driver per study"
            )

    def _refuse_if_held(self, held: dict, age: float) -> None:
        alive, pid, host = _alive_here(held), held.get("pid"), held.get("host")
        holder = (
            f"study {self.study.study_name!r} is being run by another driver (pid {pid} on "
            f"{host}{', alive on this host' if alive else ''}; last heartbeat {age:.0f} s ago); "
            "one driver per study: wait for it to end, or stop it"
        )
        force = f"to take the study anyway, run again with {FORCE_ENV}=1"
        if alive:
            raise HarnessError(
                f"{holder} (kill {pid}); a live driver on this host keeps its study however "
                f"old its heartbeat (a paused one resumes with kill -CONT {pid}); {force}"
            )
        timeout = stale_after()
        if alive is None and age < timeout:
            raise HarnessError(
                f"{holder}; its lease expires {timeout:.0f} s after its last heartbeat; {force}"
            )

    def check(self) -> None:
        """Raise LeaseLost when another driver has taken the study."""
        held = self._read()
        if held and held.get("token") != self.token:
            raise LeaseLost(
                f"study {self.study.study_name!r} was taken over by another driver (pid "
                f"{held.get('pid')} on {held.get('host')}) while this one did not renew its "
                "lease; stopping without writing to it: its trials belong to that driver now"
            )

    def renew(self) -> None:
        """Beat, at most every HEARTBEAT seconds (called from the driver's loop); raise
        LeaseLost when another driver has taken the study meanwhile."""
        if time.monotonic() - self.renewed < min(HEARTBEAT, stale_after() / 6):
            return
        self.check()
        self._beat()

    def release(self) -> None:
        """Give the lease back if it is still ours (a clean exit leaves the study free)."""
        try:
            held = self._read()
            if held and held.get("token") == self.token:
                self._write(None)
        except Exception:  # the storage may be the reason we are exiting; expiry covers it
            pass


@contextlib.contextmanager
def renewed_meanwhile(leases: Sequence[Lease]) -> Iterator[None]:
    """Renew ``leases`` from a thread while the block runs (the workers' start-up, which
    calls nothing of the driver's for up to minutes); a lease lost meanwhile is raised after
    the block. The driver writes nothing else then, so the storage is not written from two
    threads at once."""
    stop, lost = threading.Event(), []

    def beat() -> None:
        while not stop.wait(min(HEARTBEAT, stale_after() / 6) / 2):
            for lease in leases:
                try:
                    lease.renew()
                except Exception as err:  # lost, or the storage failed: the driver hears it
                    lost.append(err)
                    return

    thread = threading.Thread(target=beat, name="lease-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
    if lost:
        raise lost[0]
