"""ioc --version and the ioc_build_info gauge on every process's /metrics."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import urllib.error
import urllib.request
from importlib import metadata
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from typer.testing import CliRunner

from ioc import version
from ioc.cli import app
from ioc.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit


def _head() -> str:
    return subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), "rev-parse", "HEAD"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def test_version_flag_prints_package_version_and_the_checkout_commit() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == version.describe()
    assert metadata.version("ioc-pipeline") in result.output
    assert re.search(rf"\(commit {_head()}(-dirty)?\)", result.output)


def test_commit_falls_back_to_the_baked_one_then_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(version, "checkout_root", lambda: None)
    (tmp_path / "_build_info.json").write_text(json.dumps({"commit": "abc123"}))
    monkeypatch.setattr(version.resources, "files", lambda name: tmp_path)
    version.commit.cache_clear()
    try:
        assert version.commit() == "abc123"
        (tmp_path / "_build_info.json").unlink()
        version.commit.cache_clear()
        assert version.commit() == "unknown"
    finally:
        version.commit.cache_clear()


def test_build_info_gauge_is_one_with_version_and_commit_labels() -> None:
    registry = CollectorRegistry()
    version.register_build_info(registry)
    version.register_build_info(registry)  # idempotent per registry
    text = generate_latest(registry).decode()
    line = f'ioc_build_info{{commit="{version.commit()}",version="{version.version()}"}} 1.0'
    assert line in text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_metrics_exposes_build_info_beside_the_process_metrics() -> None:
    from streams.runtime.metrics import StreamMetrics

    metrics = StreamMetrics()  # the worker's own registry
    port = _free_port()
    version.serve_metrics(port, metrics.registry, addr="127.0.0.1")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body = response.read().decode()
    assert "ioc_build_info{" in body
    assert "ioc_stream_records_total" in body


@pytest.mark.parametrize(
    ("module", "needle"),
    [
        ("ioc/commands/worker.py", "process.expose_metrics(settings, settings.stream_metrics_port"),
        ("ioc/commands/sink.py", "metrics_port=settings.sink_metrics_port"),
        ("ioc/commands/alerter.py", "metrics_port=settings.alerter_metrics_port"),
        ("ioc/commands/connector.py", "process.expose_metrics("),
        ("ioc/commands/connector.py", "register_build_info(gateway.registry)"),
        ("ioc/process.py", "serve_metrics(metrics_port, registry"),
    ],
)
def test_every_process_serves_metrics_through_serve_metrics(module: str, needle: str) -> None:
    text = (PROJECT_ROOT / module).read_text(encoding="utf-8")
    assert needle in text
    assert "start_http_server" not in text


def test_only_the_process_module_calls_serve_metrics() -> None:
    found = sorted(
        str(p.relative_to(PROJECT_ROOT))
        for top in ("ioc", "streams", "connectors")
        for p in (PROJECT_ROOT / top).rglob("*.py")
        if "serve_metrics(" in p.read_text(encoding="utf-8")
    )
    assert found == ["ioc/process.py", "ioc/version.py"]


def test_no_metrics_server_is_started_elsewhere() -> None:
    found = [
        str(p.relative_to(PROJECT_ROOT))
        for top in ("ioc", "streams", "connectors")
        for p in (PROJECT_ROOT / top).rglob("*.py")
        if "start_http_server(" in p.read_text(encoding="utf-8")
        or "make_wsgi_app(" in p.read_text(encoding="utf-8")
    ]
    assert found == ["ioc/version.py"]


def test_health_follows_the_service_and_metrics_stay_served() -> None:
    healthy = [False]
    port = _free_port()
    version.serve_metrics(port, CollectorRegistry(), addr="127.0.0.1", health=lambda: healthy[0])
    base = f"http://127.0.0.1:{port}"
    with pytest.raises(urllib.error.HTTPError) as down:
        urllib.request.urlopen(f"{base}/health", timeout=5)
    assert down.value.code == 503
    healthy[0] = True
    with urllib.request.urlopen(f"{base}/health", timeout=5) as response:
        assert response.status == 200
    with urllib.request.urlopen(f"{base}/metrics", timeout=5) as response:
        assert "ioc_build_info{" in response.read().decode()
