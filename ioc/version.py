"""What is running: the package version and the commit it was built from (decision 0018).

``ioc --version`` prints both; every process exports them on /metrics as
``ioc_build_info{version, commit} 1``. The version comes from the installed package's
metadata. The commit: from a checkout, ``git rev-parse HEAD`` (``-dirty`` when tracked
files changed); from a wheel, the commit ``setup.py`` baked into ``ioc/_build_info.json``
at build time; otherwise ``unknown``.
"""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable
from functools import cache
from importlib import metadata, resources
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Gauge

from ioc.assets import checkout_root

DISTRIBUTION = "ioc-pipeline"
UNKNOWN = "unknown"
BUILD_INFO = "ioc_build_info"


@cache
def version() -> str:
    """The installed distribution's version (``0.1.0``), or ``unknown``."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN


def _git_commit() -> str | None:
    root = checkout_root()
    if root is None or not (root / ".git").exists():
        return None
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
        status = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = head.stdout.strip()
    if head.returncode != 0 or not commit:
        return None
    return commit + ("-dirty" if status.stdout.strip() else "")


def _baked_commit() -> str | None:
    info = resources.files("ioc") / "_build_info.json"
    try:
        data = json.loads(info.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    commit = data.get("commit") if isinstance(data, dict) else None
    return str(commit) if commit else None


@cache
def commit() -> str:
    """The commit the running code is: the checkout's, the wheel's baked one, or ``unknown``."""
    return _git_commit() or _baked_commit() or UNKNOWN


def describe() -> str:
    """``ioc-pipeline 0.1.0 (commit 51ea758…)`` for ``ioc --version``."""
    return f"{DISTRIBUTION} {version()} (commit {commit()})"


def register_build_info(registry: CollectorRegistry = REGISTRY) -> Gauge:
    """Add ``ioc_build_info{version, commit} 1`` to a registry (once per registry)."""
    existing = getattr(registry, "_ioc_build_info", None)
    if isinstance(existing, Gauge):
        return existing
    gauge = Gauge(
        BUILD_INFO,
        "Always 1; labels say which version and commit this process runs",
        ["version", "commit"],
        registry=registry,
    )
    gauge.labels(version=version(), commit=commit()).set(1)
    registry._ioc_build_info = gauge  # type: ignore[attr-defined]
    return gauge


def serve_metrics(
    port: int,
    registry: CollectorRegistry = REGISTRY,
    addr: str = "0.0.0.0",  # noqa: S104
    health: Callable[[], bool] | None = None,
) -> None:
    """Every process's /metrics (with the build info added to ``registry``) and /health.

    /health answers 200 while ``health()`` is true (or always, without one) and 503
    otherwise: what a Kubernetes probe or a load balancer asks. Served in a daemon
    thread like prometheus_client's ``start_http_server``, whose WSGI app it routes to.
    """
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from prometheus_client import make_wsgi_app

    register_build_info(registry)
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/health":
            ok = health is None or health()
            start_response(
                "200 OK" if ok else "503 Service Unavailable", [("Content-Type", "text/plain")]
            )
            return [b"ok\n" if ok else b"not ready\n"]
        return metrics(environ, start_response)

    class Server(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes are not worth a log line each."""

    server = make_server(addr, port, app, Server, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
