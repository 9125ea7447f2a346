"""``harness dashboard``: optuna-dashboard on the harness's storage, bound to loopback.

The dashboard reads the same storage the drivers write, so it shows studies live. It binds
127.0.0.1 unless ``--host`` says otherwise: the dashboard has no authentication, and a study's
attributes include the storage URL and host names.
"""

from __future__ import annotations

import argparse
import errno
import sys
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from harness.cli.command import Command
from harness.cli.options import storage_options
from harness.errors import HarnessError
from harness.search.config import DEFAULT_STORAGE

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


class _ThreadedServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # Ctrl-C must not wait for browsers' open connections


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per request is noise
        pass


def dashboard_url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/dashboard"


def make_dashboard_server(storage_url: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
    """Open the storage and bind the port; raise HarnessError for either failure.

    Returns a ``wsgiref`` server; call ``serve_forever()`` on it (``shutdown()`` from another
    thread stops it). Port 0 binds a free port (``server.server_port`` tells which).
    """
    import optuna_dashboard

    from harness.search.storage import open_existing_storage

    if not 0 <= port <= 65535:
        raise HarnessError(f"--port must be in 0..65535, but got {port}")
    storage = open_existing_storage(storage_url)
    app = optuna_dashboard.wsgi(storage)
    try:
        return make_server(host, port, app, server_class=_ThreadedServer,
                           handler_class=_QuietHandler)  # fmt: skip
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise HarnessError(f"port {port} on {host} is already in use; choose another with "
                               "--port") from None  # fmt: skip
        raise HarnessError(f"cannot listen on {host}:{port}: {err.strerror or err}") from None


def serve(storage_url: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve until Ctrl-C; print the URL (stdout, flushed) once listening."""
    from harness.search.storage import redact_url

    server = make_dashboard_server(storage_url, host, port)
    url = dashboard_url(host, server.server_port)
    print(url, flush=True)
    print(f"optuna-dashboard on {redact_url(storage_url)}; Ctrl-C stops it", file=sys.stderr,
          flush=True)  # fmt: skip
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {host}, reachable from other machines, without "
              "authentication", file=sys.stderr, flush=True)  # fmt: skip
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
        "--host says otherwise (the dashboard has no login)."
    )
    parents = (storage_options,)

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--host", default=DEFAULT_HOST,
                            help=f"address to bind (default: {DEFAULT_HOST})")  # fmt: skip
        parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                            help=f"port to listen on; 0 picks a free one (default: "
                                 f"{DEFAULT_PORT})")  # fmt: skip

    def run(self, args: argparse.Namespace) -> None:
        serve(args.storage or DEFAULT_STORAGE, args.host, args.port)


if __name__ == "__main__":  # python -m harness.cli.dashboard: the same options, without the CLI
    from harness.cli.app import run

    sys.exit(run(["dashboard", *sys.argv[1:]]))
