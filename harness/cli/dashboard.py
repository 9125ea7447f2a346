"""``harness dashboard``: optuna-dashboard on the harness's storage, bound to loopback.

The dashboard reads the same storage the drivers write, so it shows studies live. It binds
127.0.0.1 unless ``--host`` says otherwise: the dashboard has no authentication, and a study's
attributes include the storage URL and host names.

optuna-dashboard (0.21) can delete and rename studies, write notes and tell trials, and has
no read-only mode nor a host check (its ``allow_unsafe`` only relaxes the page's CSP), so a
small WSGI middleware (``ReadOnlyGuard``) makes it read-only unless ``--allow-writes`` and,
on loopback, refuses a Host header other than localhost (a DNS-rebinding page could otherwise
reach 127.0.0.1 from a browser under its own name and delete studies).
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import sys
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from harness.cli.command import Command
from harness.cli.options import storage_options
from harness.errors import HarnessError
from harness.search.config import storage_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


class _ThreadedServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # Ctrl-C must not wait for browsers' open connections


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per request is noise
        pass


SAFE_METHODS = ("GET", "HEAD")  # everything else in optuna-dashboard writes the storage
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")  # as a browser writes them in Host


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ReadOnlyGuard:
    """WSGI middleware in front of optuna-dashboard: refuses writes (405) unless
    ``allow_writes``, and with ``check_host`` any Host header but a loopback name (403)."""

    def __init__(self, app: Callable, *, allow_writes: bool, check_host: bool) -> None:
        self.app, self.allow_writes, self.check_host = app, allow_writes, check_host

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if self.check_host and not self._host_allowed(environ):
            host = environ.get("HTTP_HOST", "")
            return self._refuse(
                start_response,
                "403 Forbidden",
                [],
                f"harness dashboard: Host {host!r} refused: on loopback only "
                f"{', '.join(LOOPBACK_NAMES)} (with the port) are served, a "
                "guard against DNS rebinding",
            )
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if not self.allow_writes and method not in SAFE_METHODS:
            return self._refuse(
                start_response,
                "405 Method Not Allowed",
                [("Allow", ", ".join(SAFE_METHODS))],
                f"harness dashboard is read-only: {method} is refused; start it "
                "with --allow-writes to let it change the storage",
            )
        return self.app(environ, start_response)

    @staticmethod
    def _host_allowed(environ: dict) -> bool:
        host = environ.get("HTTP_HOST", "")
        port = environ.get("SERVER_PORT", "")
        return any(host in (name, f"{name}:{port}") for name in LOOPBACK_NAMES)

    @staticmethod
    def _refuse(start_response: Callable, status: str, headers: list, reason: str) -> list[bytes]:
        body = (reason + "\n").encode()
        start_response(
            status,
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                *headers,
            ],
        )
        return [body]


def dashboard_app(
    storage_url: str, *, allow_writes: bool = False, host: str = DEFAULT_HOST
) -> Callable:
    """optuna-dashboard's WSGI app on an existing storage, behind ``ReadOnlyGuard``; the Host
    check applies when ``host`` (the address bound) is a loopback one."""
    import optuna_dashboard

    from harness.search.storage import open_existing_storage

    app = optuna_dashboard.wsgi(open_existing_storage(storage_url))
    return ReadOnlyGuard(app, allow_writes=allow_writes, check_host=is_loopback(host))


def dashboard_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/dashboard"


def make_dashboard_server(
    storage_url: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, allow_writes: bool = False
) -> WSGIServer:
    """Open the storage and bind the port; raise HarnessError for either failure.

    Returns a ``wsgiref`` server; call ``serve_forever()`` on it (``shutdown()`` from another
    thread stops it). Port 0 binds a free port (``server.server_port`` tells which).
    """
    if not 0 <= port <= 65535:
        raise HarnessError(f"--port must be in 0..65535, but got {port}")
    app = dashboard_app(storage_url, allow_writes=allow_writes, host=host)
    try:
        return make_server(
            host, port, app, server_class=_ThreadedServer, handler_class=_QuietHandler
        )
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise HarnessError(
                f"port {port} on {host} is already in use; choose another with --port"
            ) from None
        raise HarnessError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def serve(
    storage_url: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, allow_writes: bool = False
) -> None:
    """Serve until Ctrl-C; print the URL (stdout, flushed) once listening."""
    from harness.search.storage import redact_url

    server = make_dashboard_server(storage_url, host, port, allow_writes)
    url = dashboard_url(host, server.server_port)
    print(url, flush=True)
    mode = "read-write (--allow-writes)" if allow_writes else "read-only"
    print(
        f"optuna-dashboard on {redact_url(storage_url)}, {mode}; Ctrl-C stops it",
        file=sys.stderr,
        flush=True,
    )
    if not is_loopback(host):
        print(
            f"warning: listening on {host}, reachable from other machines, without authentication",
            file=sys.stderr,
            flush=True,
        )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


class Dashboard(Command):
    help = "optuna-dashboard on the storage (live view of studies)"
    description = (
        "Start optuna-dashboard on the storage and print its URL. It binds 127.0.0.1 unless "
        "--host says otherwise (the dashboard has no login), is read-only unless "
        "--allow-writes, and on loopback answers only requests for localhost by name."
    )
    parents = (storage_options,)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--host", default=DEFAULT_HOST, help=f"address to bind (default: {DEFAULT_HOST})"
        )
        parser.add_argument(
            "--port",
            type=int,
            default=DEFAULT_PORT,
            help=f"port to listen on; 0 picks a free one (default: {DEFAULT_PORT})",
        )
        parser.add_argument(
            "--allow-writes",
            action="store_true",
            help="let the dashboard change the storage (delete or rename "
            "studies, notes, tell trials); default: read-only, every "
            "method but GET and HEAD answers 405",
        )

    def run(self, args: argparse.Namespace) -> None:
        serve(storage_url(args.storage), args.host, args.port, args.allow_writes)


if __name__ == "__main__":  # python -m harness.cli.dashboard: the same options, without the CLI
    from harness.cli.app import run

    sys.exit(run(["dashboard", *sys.argv[1:]]))
