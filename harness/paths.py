"""Where the project's TOML files are, and whether an output file can be written.

``models/`` (the lab's recipes) and ``search_spaces/`` are top-level folders of the repository
that users read and edit. A non-editable install carries a copy of each inside the package
(``harness/models/``, ``harness/search_spaces/``: pyproject.toml maps them there), so the
defaults work without the source tree; a checkout uses its own folders, the one copy.
"""

from __future__ import annotations

from pathlib import Path

from harness.errors import HarnessError

PACKAGE_ROOT = Path(__file__).resolve().parent


def project_folder(name: str) -> Path:
    """``models`` or ``search_spaces``: the installed copy, else the checkout's folder."""
    installed = PACKAGE_ROOT / name
    return installed if installed.is_dir() else PACKAGE_ROOT.parent / name


MODELS_DIR = project_folder("models")
SPACES_DIR = project_folder("search_spaces")
DEFAULT_RECIPES = MODELS_DIR / "lab.toml"  # the lab's fixed models 1-5
DEFAULT_SPACE = SPACES_DIR / "lab_mlp.toml"  # the lab's search task
# the five parameters of the lab's space sized for the small bundled sets (a few hundred rows)
TABULAR_SPACE = SPACES_DIR / "tabular_mlp.toml"
DEFAULT_RUNS_ROOT = Path("runs")  # runs/RUN/: what a run caches beside its studies


# The one "can I write here?" check, made before any work: a typo in --json or --out, or a
# read-only run folder, must not cost a run's hour. It writes, rather than asking os.access,
# which answers for the mode bits and not for a read-only file system or root squashing.


def writable_folder(path_text: str | Path, what: str | None = None) -> Path:
    """The folder (created), once a file was created and removed in it; else HarnessError
    naming ``what`` (default: the folder) and the reason."""
    folder = Path(path_text)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-check"
        probe.touch()
        probe.unlink()
    except OSError as err:
        raise HarnessError(f"cannot write {what or folder}: {err.strerror or err}") from None
    return folder


def writable_file(path_text: str | Path, what: str | None = None) -> Path:
    """The path, once it is known that a file can be written there: an existing file opens
    for appending (and is left as it was), a new one's folder is created and written in."""
    path = Path(path_text)
    label = what or str(path)
    if path.is_dir():
        raise HarnessError(f"cannot write {label}: it is a folder, not a file")
    if not path.exists():
        writable_folder(path.parent, label)
        return path
    try:
        with path.open("a"):
            pass
    except OSError as err:
        raise HarnessError(f"cannot write {label}: {err.strerror or err}") from None
    return path


def read_text(path: Path) -> str:
    """A user's text file (a TOML space or recipe file) as UTF-8, which TOML requires; a
    file in another encoding is one line naming the file and the first bad byte."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        byte = err.object[err.start]
        raise HarnessError(
            f"{path}: must be UTF-8 text (TOML is UTF-8), but byte 0x{byte:02x} "
            f"at offset {err.start} is not ({err.reason})"
        ) from None
    except OSError as err:
        raise HarnessError(f"{path}: cannot be read ({err.strerror or err})") from None
