"""The committed example reports: made from the committed run, with no machine's paths."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Absolute paths of a machine (a home, a work or temporary folder, a user's site-packages):
# a committed report or doc shows paths relative to the project, or a file by its name.
MACHINE_PATH = re.compile(r"(?<![\w.:/])/(?:home|root|work|tmp|Users|private|var/folders)/\w")


def _committed(folder: str, suffix: str) -> list[Path]:
    return sorted((ROOT / folder).rglob(f"*{suffix}"))


@pytest.mark.parametrize(
    "path", _committed("reports", ".md") + _committed("docs", ".md"), ids=lambda p: p.name
)
def test_no_machine_path_in_committed_reports_and_docs(path):
    found = [
        f"{number}: {line.strip()[:120]}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if MACHINE_PATH.search(line)
    ]
    assert not found, f"{path.relative_to(ROOT)} shows a machine path:\n" + "\n".join(found)


@pytest.mark.slow
@pytest.mark.parametrize("run", ["lab", "tasks"])
def test_committed_reports_are_made_from_the_committed_runs(tmp_path, run):
    """reports/RUN.md re-rendered from reports/RUN_run/ by today's code is the committed file,
    line for line except the time it was generated: a change of the report's code re-renders
    it (README: 'harness report ... --runs-dir reports/RUN_run')."""
    out = tmp_path / f"{run}.md"
    storage = f"sqlite:///reports/{run}_run/harness.db"
    command = [sys.executable, "-m", "harness", "report", "--storage", storage, "--name", run]
    command += ["--runs-dir", f"reports/{run}_run", "--out", str(out)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]

    def lines(path: Path) -> list[str]:
        text = path.read_text()
        return [re.sub(r"generated \S+ \S+ UTC", "generated", x) for x in text.split("\n")]

    assert lines(out) == lines(ROOT / "reports" / f"{run}.md")
