"""The one "can I write here?" check (``harness.paths``): before any work, one line on failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.paths import writable_file, writable_folder


def _layout(tmp_path: Path, case: str) -> Path:
    """The path a case asks to write, with what stands in its way."""
    if case == "new file in a new folder":
        return tmp_path / "a" / "b" / "out.json"
    if case == "existing file":
        (tmp_path / "out.json").write_text("kept")
        return tmp_path / "out.json"
    if case == "a folder where the file goes":
        (tmp_path / "out.json").mkdir()
        return tmp_path / "out.json"
    (tmp_path / "file").write_text("")  # "a file where a folder goes"
    return tmp_path / "file" / "out.json"


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("new file in a new folder", None),
        ("existing file", None),
        ("a folder where the file goes", "it is a folder, not a file"),
        ("a file where a folder goes", "cannot write"),
    ],
)
def test_writable_file(tmp_path, case, error):
    path = _layout(tmp_path, case)
    if error is None:
        assert writable_file(path) == path
        assert path.parent.is_dir()
        assert not path.exists() or path.read_text() == "kept"  # checked, not written
        assert not (path.parent / ".write-check").exists()
        return
    with pytest.raises(HarnessError, match=error) as caught:
        writable_file(path, "the report there")
    assert str(caught.value).startswith("cannot write the report there")
    assert "\n" not in str(caught.value)


def test_writable_folder(tmp_path):
    folder = writable_folder(tmp_path / "runs" / "r", "the run folder")
    assert folder.is_dir() and list(folder.iterdir()) == []
    (tmp_path / "blocker").write_text("")
    with pytest.raises(HarnessError, match=r"^cannot write the run folder: "):
        writable_folder(tmp_path / "blocker" / "r", "the run folder")
