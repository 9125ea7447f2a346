"""Files the harness writes (a run's caches under ``runs/``, reports and their figures under
``reports/``, benchmark JSON): each is there whole, or not at all.

A file is written to a temporary file beside it (same folder, so the same file system), flushed
to disk, then renamed over it: ``os.replace`` is atomic on POSIX, so a reader sees the old file
or the new one, never half of one, and a crash, Ctrl-C or a full disk mid-write leaves the old
file as it was. The temporary file is removed on any failure, and an ``OSError`` (ENOSPC, EACCES,
EROFS, ...) becomes one line naming the destination.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from harness.errors import HarnessError

# Temporary files are hidden (a leading dot) and end in .tmp plus the destination's suffix, so
# that a writer choosing its format by suffix (matplotlib's savefig) writes the right one.
TEMPORARY_GLOB = ".*.tmp*"


def _failed(path: Path, err: OSError) -> HarnessError:
    reason = err.strerror or str(err)
    return HarnessError(
        f"cannot write {path}: {reason} (errno {err.errno}); nothing was written there, "
        "an earlier file of that name is unchanged"
    )


def _sync(path: Path) -> None:
    """Flush a written file to disk: some file systems report a full disk only here."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for the block to write; renamed over ``path`` when the
    block ends, removed when it fails (for writers that take a path, such as savefig)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
        )
        os.close(descriptor)
    except OSError as err:
        raise _failed(path, err) from None
    temporary = Path(name)
    try:
        yield temporary
        _sync(temporary)
        os.replace(temporary, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(err, OSError):
            raise _failed(path, err) from None
        raise


def write_atomically(path: str | Path, content: str | bytes) -> None:
    """Write ``content`` (text as UTF-8) to ``path`` whole or not at all (module docstring)."""
    data = content.encode() if isinstance(content, str) else content
    with replacing(path) as temporary, temporary.open("wb") as stream:
        stream.write(data)
