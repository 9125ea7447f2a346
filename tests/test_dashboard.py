"""harness dashboard: optuna-dashboard on a test storage, rendered by a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import optuna
import pytest

from harness.cli.app import build_parser
from harness.cli.dashboard import dashboard_url, make_dashboard_server
from harness.errors import HarnessError

STUDIES = ("lab/tpe/r0", "lab/random/r0")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PROJECT = Path(__file__).resolve().parent.parent


def _storage(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'dash.db'}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for name in STUDIES:
        study = optuna.create_study(study_name=name, storage=url, direction="maximize")
        study.optimize(lambda trial: trial.suggest_float("lr", 1e-4, 1e-1, log=True), n_trials=3)
    return url


def _chromium() -> str | None:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def _chromium_args(binary: str, profile: Path) -> list[str]:
    return [
        binary,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
    ]


def test_dashboard_renders_both_studies_in_a_real_browser(tmp_path):
    binary = _chromium()
    if binary is None:
        pytest.skip("no chromium binary on PATH (.ci/run installs Debian's 'chromium')")
    url = _storage(tmp_path)
    command = [sys.executable, "-m", "harness.cli.dashboard", "--storage", url, "--port", "0"]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        page = server.stdout.readline().strip()  # the URL, printed once listening
        assert page.startswith("http://127.0.0.1:") and page.endswith("/dashboard"), (
            page or server.stderr.read()
        )
        # the served HTML is an empty app shell: the names below come from rendering it
        shell = urllib.request.urlopen(page, timeout=10).read().decode()
        assert not any(name in shell for name in STUDIES)
        result = subprocess.run(
            [*_chromium_args(binary, tmp_path / "profile"), "--dump-dom", page],
            capture_output=True,
            text=True,
            timeout=90,
        )
        for name in STUDIES:
            assert name in result.stdout, f"{name} not in the rendered page"
    finally:
        server.terminate()
        server.wait(timeout=10)


def _outward_address() -> str | None:
    """This machine's address on its outward interface, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_binds_loopback_by_default_and_prints_the_url(tmp_path):
    """`harness dashboard` started without --host: the URL it prints is on 127.0.0.1, it
    answers there, and it does not answer on the machine's outward address."""
    args = build_parser().parse_args(["dashboard"])
    assert (args.host, args.port, args.storage) == ("127.0.0.1", 8080, None)
    assert dashboard_url("::1", 9000) == "http://[::1]:9000/dashboard"
    command = [
        sys.executable,
        "-m",
        "harness",
        "dashboard",
        "--storage",
        _storage(tmp_path),
        "--port",
        "0",
    ]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        page = server.stdout.readline().strip()
        assert page.startswith("http://127.0.0.1:") and page.endswith("/dashboard"), (
            page or server.stderr.read()
        )
        port = int(page.removeprefix("http://127.0.0.1:").split("/")[0])
        assert urllib.request.urlopen(page, timeout=10).status == 200
        outward = _outward_address()
        if outward is not None:
            with pytest.raises(OSError):  # refused: nothing listens there
                socket.create_connection((outward, port), timeout=5).close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_serves_the_storage_in_process(tmp_path):
    server = make_dashboard_server(_storage(tmp_path), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        api = f"http://127.0.0.1:{server.server_port}/api/studies"
        body = urllib.request.urlopen(api, timeout=10).read().decode()
        assert all(name in body for name in STUDIES)
    finally:
        server.shutdown()
        server.server_close()


def test_port_in_use_is_a_one_line_error(tmp_path):
    url = _storage(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(HarnessError, match=f"port {port} on 127.0.0.1 is already in use"):
            make_dashboard_server(url, "127.0.0.1", port)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///{tmp}/absent.db", "cannot be opened: file"),
        ("journal:///{tmp}/absent.log", "cannot be opened: file"),
        ("nosuchdb://user:secret@host/db", "cannot open storage nosuchdb://user:***@host/db"),
    ],
)
def test_storage_that_cannot_be_opened(tmp_path, url, message):
    with pytest.raises(HarnessError, match=message.replace("*", r"\*")) as error:
        make_dashboard_server(url.format(tmp=tmp_path), "127.0.0.1", 0)
    assert "secret" not in str(error.value)


# --- read-only by default, and a DNS-rebinding guard on loopback ---------------------------


def _call(app, method: str = "GET", path: str = "/api/studies", host: str = "127.0.0.1:8080"):
    """One request straight to the WSGI app (no server): (status line, headers, body)."""
    from wsgiref.util import setup_testing_defaults

    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "HTTP_HOST": host,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8080",
    }
    setup_testing_defaults(environ)
    started = {}

    def start_response(status, headers, exc_info=None):
        started.update(status=status, headers=dict(headers))

    body = b"".join(app(environ, start_response))
    return started["status"], started["headers"], body.decode(errors="replace")


@pytest.mark.parametrize(
    ("method", "host", "allow_writes", "status"),
    [
        ("DELETE", "127.0.0.1:8080", False, "405"),
        ("POST", "localhost:8080", False, "405"),
        ("PUT", "127.0.0.1:8080", False, "405"),
        ("GET", "evil.example", False, "403"),
        ("GET", "evil.example:8080", False, "403"),
        ("GET", "127.0.0.1:9999", False, "403"),
        ("DELETE", "evil.example:8080", True, "403"),
        ("GET", "127.0.0.1:8080", False, "200"),
        ("GET", "localhost:8080", False, "200"),
        ("GET", "[::1]:8080", False, "200"),
        ("HEAD", "localhost", False, "200"),
        ("DELETE", "127.0.0.1:8080", True, "204"),
    ],
)
def test_guarded_dashboard(tmp_path, method, host, allow_writes, status):
    from harness.cli.dashboard import dashboard_app

    url = _storage(tmp_path)
    app = dashboard_app(url, allow_writes=allow_writes, host="127.0.0.1")
    path = "/api/studies/1" if method in ("DELETE", "PUT", "POST") else "/api/studies"
    got, headers, body = _call(app, method, path, host)
    assert got.split()[0] == status, (got, body)
    names = {s.study_name for s in optuna.get_all_study_summaries(url)}
    deleted = method == "DELETE" and status == "204"
    assert (STUDIES[0] not in names) == deleted  # study 1 is gone only when writes are allowed
    if status == "405":
        assert headers["Allow"] == "GET, HEAD"
        assert "read-only" in body and "--allow-writes" in body and len(body.splitlines()) == 1
    if status == "403":
        assert "Host" in body and len(body.splitlines()) == 1


def test_guard_checks_hosts_only_on_loopback(tmp_path):
    """Bound to another address, the user chose remote access: any Host, still read-only."""
    from harness.cli.dashboard import dashboard_app

    app = dashboard_app(_storage(tmp_path), allow_writes=False, host="0.0.0.0")
    assert _call(app, "GET", host="dashboards.example:8080")[0].startswith("200")
    assert _call(app, "DELETE", "/api/studies/1", host="dashboards.example:8080")[0].startswith(
        "405"
    )


def test_allow_writes_option():
    assert build_parser().parse_args(["dashboard"]).allow_writes is False
    assert build_parser().parse_args(["dashboard", "--allow-writes"]).allow_writes is True
