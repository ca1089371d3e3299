"""A real Alertmanager delivers to ``ioc notify`` (a process), which forwards to a local
Zalo-shaped server: the production path of a notification, minus the Internet.

The private Alertmanager is the conftest's (deploy/local/alertmanager.sh, test timings);
its webhook is ``ioc notify``'s POST /alerts. The Zalo OA server is tests/notify_fakes.py
(the real API cannot be reached from the build machine), run on its own event loop in a
thread. Nothing binds a fixed port.
"""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest

from schemas.timeutil import utcnow
from tests.integration.alerting.conftest import PrivateAlertmanager
from tests.notify_fakes import FakeZalo

pytestmark = pytest.mark.integration


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
    response = alertmanager_to_notify.post([alert])
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
