"""Issue 18: no storage password on any output path, whatever shape its URL has.

Each shape below is given to every place a storage URL goes out: the lines of `harness study`,
`compare`, `run`, `report` and `dashboard` on stdout and stderr (with --storage and with
$HARNESS_STORAGE; the storage refusing them, and faked runs that succeed), a study's attributes,
the report's header and the command line Ray records as the job's entrypoint. Every secret
holds the marker ``Zq9`` (each part of it, where a broken parser could show half), so one
check finds any of it anywhere.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from harness.cli.app import run
from harness.paths import SPACES_DIR
from harness.search.storage import redact_message, redact_text, redact_url

MARK = "Zq9"
SMOKE = str(SPACES_DIR / "smoke.toml")
HOST = "127.0.0.1:1"  # nothing listens on port 1: a storage that refuses the connection

# (case id, URL, what every output shows instead)
URLS = [
    (
        "user-info",
        f"postgresql://alice:{MARK}pw@{HOST}/db",
        f"postgresql://alice:***@{HOST}/db",
    ),
    (
        "driver in the scheme",
        f"postgresql+psycopg://alice:{MARK}pw@{HOST}/db",
        f"postgresql+psycopg://alice:***@{HOST}/db",
    ),
    (
        "mysql",
        f"mysql+pymysql://me:{MARK}pw@{HOST}/db?charset=utf8mb4",
        f"mysql+pymysql://me:***@{HOST}/db?charset=utf8mb4",
    ),
    (
        "query password",
        f"postgresql://u@{HOST}/db?password={MARK}pw",
        f"postgresql://u@{HOST}/db?password=***",
    ),
    (
        "query sslpassword",
        f"postgresql+psycopg://u@{HOST}/db?sslmode=require&sslpassword={MARK}pw",
        f"postgresql+psycopg://u@{HOST}/db?sslmode=require&sslpassword=***",
    ),
    (
        "query key case",
        f"postgresql://u@{HOST}/db?PassWord={MARK}pw&application_name=lab",
        f"postgresql://u@{HOST}/db?PassWord=***&application_name=lab",
    ),
    (
        "query secret and token",
        f"postgresql://u@{HOST}/db?client_secret={MARK}a&auth_token={MARK}b",
        f"postgresql://u@{HOST}/db?client_secret=***&auth_token=***",
    ),
    (
        "one slash",
        f"postgresql:/alice:{MARK}sekret@{HOST}/db",
        f"postgresql:/alice:***@{HOST}/db",
    ),
    (
        "unescaped @",
        f"postgresql://u:{MARK}a@{MARK}b@{HOST}/db",
        f"postgresql://u:***@{HOST}/db",
    ),
    (
        "escaped @",
        f"postgresql://u:{MARK}a%40{MARK}b@{HOST}/db",
        f"postgresql://u:***@{HOST}/db",
    ),
    (
        "colon in password",
        f"postgresql://u:{MARK}a:{MARK}b@{HOST}/db",
        f"postgresql://u:***@{HOST}/db",
    ),
    (
        "slash and ? in password",
        f"postgresql://u:{MARK}a/{MARK}b?{MARK}c@{HOST}/db",
        f"postgresql://u:***@{HOST}/db",
    ),
    (
        "space in password",
        f"postgresql://u:{MARK}a {MARK}b@{HOST}/db",
        f"postgresql://u:***@{HOST}/db",
    ),
    (
        "port not a number",
        f"postgresql://u:{MARK}pw@127.0.0.1:notaport/db",
        "postgresql://u:***@127.0.0.1:notaport/db",
    ),
    (
        "scheme no parser takes",
        f"post gres://alice:{MARK}pw@host/db",
        "post gres://alice:***@host/db",
    ),
    (
        "IPv6 host",
        f"postgresql://u:{MARK}pw@[::1]:1/db",
        "postgresql://u:***@[::1]:1/db",
    ),
    (
        "several hosts",
        f"postgresql://u:{MARK}pw@127.0.0.1:1,127.0.0.2:1/db",
        "postgresql://u:***@127.0.0.1:1,127.0.0.2:1/db",
    ),
    (
        "password and query password",
        f"postgresql://u:{MARK}a@{HOST}/db?password={MARK}b#frag",
        f"postgresql://u:***@{HOST}/db?password=***#frag",
    ),
]
IDS = [case[0] for case in URLS]
SHAPES = [case[1:] for case in URLS]


def _lines(captured) -> str:
    return captured.out + captured.err


@pytest.mark.parametrize(("url", "shown"), SHAPES, ids=IDS)
def test_redact_url(url, shown):
    assert redact_url(url) == shown
    line = f"cannot open storage {shown}: refused"
    assert redact_text(line) == line, "a redacted line stays as it is"
    assert MARK not in redact_message(f"cannot connect to {url}: password {url} wrong", url)


@pytest.mark.parametrize(("url", "shown"), SHAPES, ids=IDS)
@pytest.mark.parametrize("given", ["--storage", "HARNESS_STORAGE"])
def test_a_storage_that_cannot_be_opened_shows_no_password(
    capsys, monkeypatch, tmp_path, url, shown, given
):
    """Every command, the storage refusing (or unable to parse) the URL: one line, exit 2."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_STORAGE", raising=False)
    storage = ["--storage", url] if given == "--storage" else []
    if given == "HARNESS_STORAGE":
        monkeypatch.setenv("HARNESS_STORAGE", url)
    local = ["--executor", "local", "--space", SMOKE]
    commands = {
        "study": ["study", "--name", "s", "--sampler", "random", *local],
        "compare": ["compare", "--name", "r", "--repeats", "1", *local],
        "run": ["run", "--preset", "smoke", "--executor", "local"],
        "report": ["report", "--name", "r"],
        "dashboard": ["dashboard", "--port", "0"],
    }
    for name, argv in commands.items():
        code = run([*argv, *storage])
        captured = capsys.readouterr()
        assert code == 2, (name, _lines(captured))
        assert MARK not in _lines(captured), (name, _lines(captured))
        assert captured.err.splitlines()[-1].startswith("harness: error: "), name
        if name == "study":
            assert f"storage: {shown}\n" in captured.err


@pytest.mark.parametrize(("url", "shown"), SHAPES, ids=IDS)
def test_the_lines_of_a_run_that_succeeds_show_no_password(
    capsys, monkeypatch, tmp_path, url, shown
):
    """The lines naming the storage: "storage:", "watch it live:", compare's "next:" line, run's
    "dashboard:" line, the dashboard's own line (the work itself faked)."""
    import harness.cli.dashboard
    import harness.experiment.compare
    import harness.report.write
    import harness.search.storage
    import harness.search.study
    from harness.cli import studies

    class FakeServer:
        server_port = 8080

        def serve_forever(self):
            raise KeyboardInterrupt

        def server_close(self):
            pass

    def fake_report(name, storage, out, *_):
        out.write_text(f"storage `{redact_url(storage)}`\n")
        return harness.report.write.ReportResult(out, None)

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(harness.search.storage, "open_storage", lambda url: object())
    monkeypatch.setattr(harness.search.study, "run_study", lambda config: None)
    monkeypatch.setattr(
        harness.experiment.compare, "run_compare", lambda c, log: Path(c.runs_root) / c.run
    )
    monkeypatch.setattr(harness.report.write, "write_report", fake_report)
    monkeypatch.setattr(studies, "summarize_study", lambda study: None)
    monkeypatch.setattr(harness.cli.dashboard, "make_dashboard_server", lambda *a: FakeServer())
    for argv in (
        ["study", "--name", "s", "--sampler", "random", "--executor", "local"],
        ["compare", "--name", "r", "--executor", "local"],
        ["run", "--preset", "smoke", "--executor", "local"],
        ["dashboard"],
    ):
        assert run([*argv, "--storage", url]) == 0, argv
        captured = capsys.readouterr()
        assert MARK not in _lines(captured), (argv, _lines(captured))
        assert shown in _lines(captured), (argv, _lines(captured))
    assert MARK not in (tmp_path / "reports" / "smoke.md").read_text()


@pytest.mark.parametrize(("url", "shown"), SHAPES, ids=IDS)
def test_a_studys_attributes_show_no_password(monkeypatch, url, shown):
    import harness.search.driver
    from harness.search.config import StudyConfig

    storage = optuna.storages.InMemoryStorage()
    monkeypatch.setattr(harness.search.driver, "open_storage", lambda given: storage)
    config = StudyConfig(name="s", sampler="random", space_path=SMOKE, storage=url)
    driver = harness.search.driver.open_study(config)
    driver.release()
    assert driver.study.user_attrs["storage"] == shown
    system = storage.get_study_system_attrs(driver.study._study_id)
    stored = json.dumps([driver.study.user_attrs, system])
    assert MARK not in stored


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A synthetic run (tests/synthetic_run.py) whose storage every URL is made to open."""
    from synthetic_run import make_run, write_caches

    folder = tmp_path_factory.mktemp("run")
    url = f"sqlite:///{folder / 'study.db'}"
    write_caches(folder / "runs" / "r", make_run(url, "r", repeats=2, trials=4), k=1)
    return folder, url


@pytest.mark.parametrize(("url", "shown"), SHAPES, ids=IDS)
def test_the_report_header_shows_no_password(monkeypatch, tiny_run, url, shown):
    import harness.report.load

    folder, real = tiny_run
    opened = harness.report.load.open_existing_storage
    monkeypatch.setattr(harness.report.load, "open_existing_storage", lambda _: opened(real))
    data = harness.report.load.load_run("r", url, folder / "runs")
    assert data.url == shown  # the header's "storage `...`"


def test_a_whole_report_shows_no_password(monkeypatch, tiny_run, tmp_path):
    """The report and its figures' bytes, for the shape that half leaked (an unescaped @)
    with a password in the query string too."""
    import harness.report.load
    from harness.report.write import write_report

    folder, real = tiny_run
    url = f"postgresql://u:{MARK}a@{MARK}b@{HOST}/db?password={MARK}c"
    opened = harness.report.load.open_existing_storage
    monkeypatch.setattr(harness.report.load, "open_existing_storage", lambda _: opened(real))
    out = write_report("r", url, tmp_path / "r.md", folder / "runs").path
    assert f"storage `postgresql://u:***@{HOST}/db?password=***`" in out.read_text()
    for path in [out, *sorted((tmp_path / "r_figures").glob("*.png"))]:
        assert MARK.encode() not in path.read_bytes(), path


@pytest.mark.parametrize(("url", "shown"), SHAPES, ids=IDS)
def test_rays_job_table_shows_no_password(monkeypatch, url, shown):
    """Ray records the driver's command line (list2cmdline of its argv, which quotes an
    argument with a space) as the job's entrypoint: what it reads inside ray.init."""
    import ray._private.utils as ray_utils

    from harness.search.ray_setup import ray_init_guard

    argv = [sys.executable, "-m", "harness", "study", "--storage", url, f"--storage={url}"]
    monkeypatch.setattr(ray_utils, "get_entrypoint_name", lambda: subprocess.list2cmdline(argv))
    previous = signal.getsignal(signal.SIGTERM)
    with ray_init_guard():
        recorded = ray_utils.get_entrypoint_name()
    assert signal.getsignal(signal.SIGTERM) is previous
    assert MARK not in recorded
    assert f"--storage={shown}" in recorded.replace('"', "")
