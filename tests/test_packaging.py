"""A non-editable install works without the source tree around it.

The wheel is built from this checkout and installed into a fresh virtual environment; the
libraries come from the running interpreter's site-packages through a path file (a ``.pth``
line adds a folder without running the path files in it, so this checkout's editable finder
stays out). Then, from a folder outside the checkout, the defaults that name the project's
files (models/lab.toml, search_spaces/*.toml, the packaged data) must resolve inside the
installed package, and a small run must write its report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh venv with this checkout's wheel installed (not editable)."""
    base = tmp_path_factory.mktemp("packaging")
    wheels = base / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(wheels),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site = subprocess.run(
        [str(python), "-c", purelib], check=True, capture_output=True, text=True
    ).stdout.strip()
    (Path(site) / "libraries.pth").write_text(sysconfig.get_path("purelib") + "\n")
    wheel = next(wheels.glob("adult_harness-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return env_dir / "bin"


def _run(bin_dir: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HARNESS_DATA_DIR")}
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_defaults_resolve_inside_the_installed_package(installed, tmp_path):
    code = (
        "import json, harness.paths as p, harness.lab.data as d; print(json.dumps("
        "[str(p.DEFAULT_RECIPES), str(p.DEFAULT_SPACE), str(d.dataset_dir())]))"
    )
    result = _run(installed, ["python", "-c", code], tmp_path)
    assert result.returncode == 0, result.stderr
    for path in json.loads(result.stdout):
        assert Path(path).exists(), path
        assert "site-packages" in path and not path.startswith(str(ROOT)), path


def test_a_small_run_writes_its_report_outside_the_checkout(installed, tmp_path):
    result = _run(
        installed,
        [
            "harness",
            "run",
            "--preset",
            "smoke",
            "--trials",
            "2",
            "--repeats",
            "1",
            "--executor",
            "local",
            "--device",
            "cpu",
        ],
        tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = tmp_path / "reports" / "smoke.md"
    assert report.read_text().startswith("# Run `smoke`")
    assert f"report: {Path('reports') / 'smoke.md'}" in result.stdout
