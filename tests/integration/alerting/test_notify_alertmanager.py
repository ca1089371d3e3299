"""A real Alertmanager delivers to ``ioc notify`` (a process), which forwards to a local
Zalo-shaped server: the production path of a notification, minus the Internet.

The private Alertmanager is the conftest's (deploy/local/alertmanager.sh, test timings);
its webhook is ``ioc notify``'s POST /alerts. The Zalo OA server is tests/notify_fakes.py
(the real API cannot be reached from the build machine), run on its own event loop in a
thread. Nothing binds a fixed port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from schemas.timeutil import utcnow
from tests.integration.alerting.conftest import PrivateAlertmanager
from tests.integration.conftest import free_port
from tests.notify_fakes import FakeZalo

pytestmark = pytest.mark.integration

TOKEN = "zalo-oa-access-token-integration"


class ThreadedZalo:
    """FakeZalo on its own loop in a daemon thread (the test itself is synchronous)."""

    def __init__(self) -> None:
        self.fake = FakeZalo(TOKEN)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeZalo:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(), self.loop).result(10)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def zalo() -> Iterator[FakeZalo]:
    with ThreadedZalo() as fake:
        yield fake


@pytest.fixture
def notify(zalo: FakeZalo) -> Iterator[int]:
    """``python -m ioc notify`` forwarding to the fake Zalo; yields its port."""
    port = free_port()
    env = {
        **os.environ,
        "IOC_NOTIFY_PORT": str(port),
        "IOC_NOTIFY_CHANNELS": "zalo",
        "IOC_NOTIFY_LANGUAGE": "vi",
        "IOC_NOTIFY_RUNBOOK_BASE_URL": "https://docs.ioc.test/",
        "IOC_NOTIFY_ZALO_API_URL": zalo.url,
        "IOC_NOTIFY_ZALO_ACCESS_TOKEN": TOKEN,
        "IOC_NOTIFY_ZALO_USER_IDS": "zalo-oncall",
        "IOC_NOTIFY_BACKOFF_INITIAL_S": "0.1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "ioc", "notify"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"ioc notify did not become healthy:\n{out}")
        time.sleep(0.1)
    yield port
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out.decode()


@pytest.fixture
def alertmanager_to_notify(tmp_path: Path, notify: int) -> Iterator[PrivateAlertmanager]:
    am = PrivateAlertmanager(tmp_path / "stack", free_port(), f"http://127.0.0.1:{notify}/alerts")
    am.run("start")
    yield am
    am.run("stop")


def test_alertmanager_delivers_through_ioc_notify_to_zalo(
    alertmanager_to_notify: PrivateAlertmanager, notify: int, zalo: FakeZalo
) -> None:
    run = f"n{time.time_ns()}"
    starts = utcnow() - timedelta(minutes=5)
    alert = {
        "labels": {
            "alertname": "IocEnergyVoltageMinV", "source": "ioc-alerter", "domain": "energy",
            "metric": "voltage_min_v", "entity": f"EM-{run}", "entity_kind": "meter",
            "group": f"FD-{run}", "area": "689", "severity": "critical", "anomaly_id": run,
        },
        "annotations": {
            "observed": "180.5", "expected": "221", "expected_low": "198",
            "dashboard": "http://grafana.test:3000/d/ioc-energy", "area_name": "Thành phố Đồng Xoài",
        },
        "startsAt": starts.isoformat(),
        "endsAt": (utcnow() + timedelta(minutes=10)).isoformat(),
    }  # fmt: skip
    response = httpx.post(
        f"http://127.0.0.1:{alertmanager_to_notify.port}/api/v2/alerts", json=[alert], timeout=5
    )
    assert response.status_code == 200, response.text

    deadline = time.monotonic() + 30
    while not zalo.received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert zalo.received, "Zalo received nothing within 30 s"
    user, text = zalo.received[0]
    assert user == "zalo-oncall"
    lines = text.splitlines()
    assert lines[0] == "🔴 [CẢNH BÁO] Nghiêm trọng · Điện năng"
    assert f"Ở đâu: công tơ EM-{run}, Thành phố Đồng Xoài" in lines
    assert "Đo được: 180,5 V, kỳ vọng 221 V (ngưỡng bình thường ≥ 198 V)" in lines
    assert "Hướng dẫn xử lý: https://docs.ioc.test/docs/runbook.md#anomaly-alerts" in lines

    metrics = httpx.get(f"http://127.0.0.1:{notify}/metrics", timeout=5).text
    assert 'ioc_notify_sent_total{channel="zalo",outcome="ok"} 1.0' in metrics
    assert 'ioc_notify_requests_total{outcome="accepted"}' in metrics
