"""The Optuna storage: open it by URL, and never show its password.

The storage is the one source of truth for studies; the driver writes it, reports and the
dashboard read it. SQLite is the default; PostgreSQL, MySQL (any SQLAlchemy URL) and Optuna's
journal file (``journal:///path/file.log``) work the same way. The redaction of passwords is
``harness.redaction``'s, re-exported here for the callers that open storages.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna

from harness.errors import HarnessError, first_line, root_cause
from harness.redaction import redact_message, redact_text, redact_url
from harness.search.config import DEFAULT_STORAGE, STORAGE_ENV, storage_url

__all__ = [
    "DEFAULT_STORAGE",
    "STORAGE_ENV",
    "open_existing_storage",
    "open_storage",
    "redact_message",
    "redact_text",
    "redact_url",
    "storage_errors",
    "storage_url",
]


def _file_of(url: str) -> Path | None:
    """The file behind a SQLite or journal URL; None for a database server."""
    if url.startswith("journal:"):
        return Path(url.removeprefix("journal:").removeprefix("//"))
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///").split("?")[0])
    return None


def open_storage(url: str | None) -> optuna.storages.BaseStorage:
    """An Optuna storage for a URL: SQLite (default), PostgreSQL, MySQL, or a journal file
    (``journal:///path/to/file.log``); a file's folder is created."""
    url = storage_url(url)
    # The harness says what it does in its own lines; Optuna's INFO lines ("A new study
    # created in RDB ...") would otherwise come before a one-line error
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        path = _file_of(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        if url.startswith("journal:"):
            from optuna.storages.journal import JournalFileBackend

            backend = JournalFileBackend(str(path))
            return optuna.storages.JournalStorage(backend)
        storage = optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        if url.startswith("sqlite:"):
            _write_ahead_log(storage)
        return storage
    except Exception as err:
        message = redact_message(first_line(err), url)
        raise HarnessError(f"cannot open storage {redact_url(url)}: {message}") from None


def _write_ahead_log(storage: optuna.storages.RDBStorage) -> None:
    """SQLite in write-ahead-log mode with ``synchronous=NORMAL``: a commit no longer waits
    for the disk twice. The driver commits each of a trial's ~17 user attributes on its own
    (Optuna has no batch call), 3.7 ms each by default here: most of the scheduler's overhead
    per job. A crashed process still loses nothing committed (only a power cut can undo the
    last commits), and optuna-dashboard can read while the driver writes."""
    from sqlalchemy import event

    def pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(storage.engine, "connect", pragmas)
    storage.engine.dispose()  # connections opened while creating the tables get them too


def open_existing_storage(url: str) -> optuna.storages.BaseStorage:
    """Open a storage that must already exist (reading commands must not create an empty one)."""
    path = _file_of(url)
    if path is not None and not path.is_file():
        raise HarnessError(
            f"storage {redact_url(url)} cannot be opened: file {path} does not exist"
        )
    return open_storage(url)


def _storage_exceptions() -> tuple[type[BaseException], ...]:
    from sqlalchemy.exc import SQLAlchemyError

    return (SQLAlchemyError, optuna.exceptions.StorageInternalError)


@contextlib.contextmanager
def storage_errors(url: str | None) -> Iterator[None]:
    """Turn a storage failure in the block (a full disk, a read-only file, a lost database
    server) into one line: ``storage URL: <the root cause's first line>``, password hidden.
    The driver has already marked its in-flight trials FAIL where the storage still took it."""
    try:
        yield
    except _storage_exceptions() as err:
        url = storage_url(url)
        message = redact_message(first_line(root_cause(err)), url)
        raise HarnessError(f"storage {redact_url(url)}: {message}") from None
