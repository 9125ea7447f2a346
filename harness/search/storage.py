"""The Optuna storage: open it by URL, and never show its password.

The storage is the one source of truth for studies; the driver writes it, reports and the
dashboard read it. SQLite is the default; PostgreSQL, MySQL (any SQLAlchemy URL) and Optuna's
journal file (``journal:///path/file.log``) work the same way.
"""

from __future__ import annotations

from pathlib import Path

import optuna

from harness.errors import HarnessError, first_line
from harness.search.config import DEFAULT_STORAGE


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, safe for logs and reports."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _password(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).password
    except Exception:
        return None


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
    url = url or DEFAULT_STORAGE
    try:
        path = _file_of(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        if url.startswith("journal:"):
            backend = optuna.storages.journal.JournalFileBackend(str(path))
            return optuna.storages.JournalStorage(backend)
        return optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
    except Exception as err:
        message = first_line(err)
        secret = _password(url)
        if secret:
            message = message.replace(secret, "***")
        raise HarnessError(f"cannot open storage {redact_url(url)}: {message}") from None


def open_existing_storage(url: str) -> optuna.storages.BaseStorage:
    """Open a storage that must already exist (reading commands must not create an empty one)."""
    path = _file_of(url)
    if path is not None and not path.is_file():
        raise HarnessError(f"storage {redact_url(url)} cannot be opened: file {path} "
                           "does not exist")  # fmt: skip
    return open_storage(url)
