"""One live driver per study: a lease with a heartbeat in the study's system attributes.

A driver that opens a study takes its lease (host, pid, a token, the time of its last
heartbeat) and renews it while it runs; a second driver on a study whose lease is fresh is
refused with one line naming the holder, instead of failing the holder's RUNNING trials as
stale and crashing it. A lease whose heartbeat is older than ``STALE_AFTER`` seconds, or whose
holder is a dead process on this host, has expired: the new driver takes over and fails the
dead driver's RUNNING trials (they are retried), as before.

Written here rather than with Optuna's heartbeat: ``RDBStorage(heartbeat_interval=...)``
beats per trial from inside ``study.optimize``, which the ask-and-tell driver does not use,
and it exists for RDB storages only; a study attribute works with every storage. Storages
have no compare-and-set, so two drivers started within the same instant could both take the
lease; the taker reads it back and gives up if another token won.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass, field

import optuna

from harness.errors import HarnessError

KEY = "harness:driver_lease"
HEARTBEAT = 10.0  # seconds between renewals while a driver runs
STALE_AFTER = 60.0  # seconds without a heartbeat after which a lease has expired


def _alive_here(host: str, pid: int) -> bool:
    """False only when the holder is on this host and its process is gone."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


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

    def acquire(self, now: float | None = None) -> None:
        """Take the lease, or raise HarnessError naming the live holder."""
        now = time.time() if now is None else now
        held = self._read()
        if held and held.get("token") != self.token:
            age = now - float(held.get("heartbeat", 0))
            if age < STALE_AFTER and _alive_here(held.get("host", ""), int(held.get("pid", 0))):
                raise HarnessError(
                    f"study {self.study.study_name!r} is being run by another driver (pid "
                    f"{held.get('pid')} on {held.get('host')}, last heartbeat {age:.0f} s ago); "
                    f"one driver per study: wait for it to end, or stop it (its lease expires "
                    f"{STALE_AFTER:.0f} s after its last heartbeat)"
                )
        self._write(
            {
                "token": self.token,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "heartbeat": now,
            }
        )
        self.renewed = time.monotonic()
        won = self._read()
        if not won or won.get("token") != self.token:
            raise HarnessError(
                f"study {self.study.study_name!r}: another driver took it at the "
                "same moment; one driver per study"
            )

    def renew(self) -> None:
        """Beat, at most every HEARTBEAT seconds (called from the driver's loop)."""
        if time.monotonic() - self.renewed < HEARTBEAT:
            return
        self._write(
            {
                "token": self.token,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "heartbeat": time.time(),
            }
        )
        self.renewed = time.monotonic()

    def release(self) -> None:
        """Give the lease back if it is still ours (a clean exit leaves the study free)."""
        try:
            held = self._read()
            if held and held.get("token") == self.token:
                self._write(None)
        except Exception:  # the storage may be the reason we are exiting; expiry covers it
            pass
