"""deploy/local/notify.sh runs ``ioc notify`` as a local-stack service: started, healthy,
accepting Alertmanager's webhook with no channel configured (nothing leaves the machine),
shown by status, stopped by PID. A private instance: its own data folder and port."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from ioc.settings import PROJECT_ROOT
from tests.integration.conftest import free_port, port_taken, run_script

pytestmark = pytest.mark.integration

SCRIPT = PROJECT_ROOT / "deploy" / "local" / "notify.sh"


def test_notify_script_starts_accepts_reports_and_stops(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "IOC_LOCAL_SETTINGS_LOADED": "",
        "IOC_DATA_DIR": str(tmp_path / "stack"),
        "IOC_NOTIFY_PORT": str(port),
        "IOC_NOTIFY_CHANNELS": "",
    }
    run_script(SCRIPT, "start", env)
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/health", timeout=5).json() == {"healthy": True}
        note = {
            "version": "4", "status": "firing", "receiver": "ioc-pipeline", "groupKey": "{}:{}",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://alertmanager.test", "truncatedAlerts": 0,
            "alerts": [{
                "status": "firing", "labels": {"alertname": "IocSinkDown", "team": "pipeline",
                                               "severity": "critical", "job": "ioc-sink"},
                "annotations": {"summary": "s", "description": "d"},
                "startsAt": "2026-12-07T07:05:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "", "fingerprint": "0123456789abcdef",
            }],
        }  # fmt: skip
        answer = httpx.post(f"{base}/alerts", json=note, timeout=5)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "accepted", "channels": []}
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        assert 'ioc_notify_requests_total{outcome="accepted"} 1.0' in metrics
        status = subprocess.run(
            ["bash", str(SCRIPT), "status"], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert status.split()[:2] == ["notify", str(port)], status
        assert " up " in status, status
        pid_file = tmp_path / "stack" / "run" / "notify.pid"
        assert pid_file.is_file()
    finally:
        run_script(SCRIPT, "stop", env)
    assert not pid_file.exists()
    assert not port_taken(port)
    log = (tmp_path / "stack" / "logs" / "notify.out").read_text()
    assert "ioc notify on 127.0.0.1" in log
