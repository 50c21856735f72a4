"""A worker's HTTP endpoint for Prometheus and Kubernetes: ``/metrics``, ``/healthz`` (liveness:
the process answers) and ``/ready`` (readiness: what the worker needs before it does its work,
e.g. its model loaded and its consumer joined to the group; 503 naming what is missing)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class Readiness:
    """The conditions a worker waits for, each marked once it holds."""

    def __init__(self, *needs: str) -> None:
        self._missing = set(needs)
        self._lock = threading.Lock()

    def mark(self, condition: str) -> None:
        """``condition`` holds from now on."""
        with self._lock:
            self._missing.discard(condition)

    def missing(self) -> list[str]:
        """What is not there yet (empty: ready)."""
        with self._lock:
            return sorted(self._missing)


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Probes and scrapes every few seconds are not worth a log line."""


def app(registry: CollectorRegistry, readiness: Readiness) -> Callable[..., Iterable[bytes]]:
    """The WSGI application: the probes, and the metrics on every other path."""
    metrics = make_wsgi_app(registry)

    def serve(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok\n"]
        if path == "/ready":
            missing = readiness.missing()
            status = "200 OK" if not missing else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain")])
            return [b"ready\n" if not missing else f"waiting for {', '.join(missing)}\n".encode()]
        result: Iterable[bytes] = metrics(environ, start_response)
        return result

    return serve


def serve(port: int, registry: CollectorRegistry, readiness: Readiness) -> WSGIServer:
    """Serve on all interfaces' ``port`` in a daemon thread; OSError if the port is taken."""
    server = make_server("", port, app(registry, readiness), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
    return server
