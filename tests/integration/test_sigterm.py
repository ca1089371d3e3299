"""Every long-running process ends on SIGTERM, cleanly (exit 0) and within a bounded time.

A supervisor (systemd, Kubernetes, ``ioc demo``) sends SIGTERM and then waits; a process
that ignores it is killed mid-write. Each one is started for real, waited for until its
/health says it works, then stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ioc.settings import Settings
from tests.integration.conftest import free_port

pytestmark = pytest.mark.integration

BOUND_S = 30.0
"""What a supervisor grants (Kubernetes' default terminationGracePeriodSeconds)."""


def commands(
    unique: str, port: int, database: str, tmp: Path
) -> dict[str, tuple[list[str], dict[str, str]]]:
    suffix = f".sig{unique}"
    return {
        "sink": (
            ["sink"],
            {"IOC_SINK_METRICS_PORT": str(port), "IOC_SINK_GROUP_ID": f"ioc-sink-sig-{unique}"},
        ),
        "alerter": (["alerter"], {"IOC_ALERTER_METRICS_PORT": str(port)}),
        "mqtt": (
            ["connector", "mqtt", "--metrics-port", str(port), "--create-topics"],
            {"IOC_MQTT_CLIENT_ID": f"sig-{unique}", "IOC_CONNECTOR_TOPIC_SUFFIX": suffix},
        ),
        "outbox": (
            ["connector", "outbox", "run", "--metrics-port", str(port), "--create-topics"],
            {"IOC_OUTBOX_SCHEMA": f"sig_{unique}", "IOC_CONNECTOR_TOPIC_SUFFIX": suffix},
        ),
        "gateway": (
            ["connector", "http", "serve", "--port", str(port), "--create-topics"],
            {
                "IOC_CONNECTOR_TOPIC_SUFFIX": suffix,
                "IOC_HTTP_API_KEYS_FILE": str(tmp / "keys.json"),
            },
        ),
        "worker": (
            ["worker", "--loglevel", "info"],
            {
                "IOC_STREAM_METRICS_PORT": str(port),
                "IOC_STREAM_TOPIC_SUFFIX": suffix,
                "IOC_STREAM_APP_ID": f"ioc-worker-sig-{unique}",
                "IOC_DATA_DIR": str(tmp / "data"),
            },
        ),
    }


@pytest.mark.parametrize("name", ["sink", "alerter", "mqtt", "outbox", "gateway", "worker"])
def test_sigterm_ends_the_process_cleanly_and_soon(
    name: str, settings: Settings, database: str, unique: str, tmp_path: Path
) -> None:
    port = free_port()
    argv, extra = commands(unique, port, database, tmp_path)[name]
    env = {**os.environ, "IOC_CLICKHOUSE_DATABASE": database, **extra}
    if name == "outbox":
        subprocess.run(
            [sys.executable, "-m", "ioc", "connector", "outbox", "init-db"],
            env=env, check=True, timeout=60, capture_output=True,
        )  # fmt: skip
    log = (tmp_path / f"{name}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "ioc", *argv], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 90
        healthy = False
        while time.monotonic() < deadline and not healthy:
            assert proc.poll() is None, (tmp_path / f"{name}.log").read_text(errors="replace")
            with contextlib.suppress(httpx.HTTPError):
                healthy = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
            time.sleep(0.3)
        assert healthy, (tmp_path / f"{name}.log").read_text(errors="replace")[-4000:]
        if name == "worker":
            time.sleep(5)  # past faust's start-up: partitions assigned, tables recovered
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=BOUND_S + 30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
    text = (tmp_path / f"{name}.log").read_text(errors="replace")[-4000:]
    assert code == 0, text
    assert took < BOUND_S, (took, text)
