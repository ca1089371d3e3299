"""The local alert receiver keeps what Alertmanager posts, refuses what is not a
notification, and still has everything after a restart."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from tests.integration.alerting.conftest import Webhook

pytestmark = pytest.mark.integration


def test_keeps_notifications_refuses_garbage_and_survives_a_restart(webhook: Webhook) -> None:
    before = len(webhook.notifications())
    note = {"receiver": "ioc-qr", "status": "firing", "alerts": [{"labels": {"x": "ồ"}}]}
    assert httpx.post(webhook.url, json=note, timeout=5).status_code == 200
    for garbage in (b"\xff\xfe not utf-8", b"[1, 2]", b'{"a": ' * 5_000, b"1e999999"):
        response = httpx.post(webhook.url, content=garbage, timeout=5)
        assert response.status_code == 400, garbage[:20]
    kept = webhook.notifications()
    assert len(kept) == before + 1
    assert kept[-1]["alerts"] == note["alerts"]
    assert kept[-1]["path"] == "/alerts"
    assert httpx.get(f"{webhook.url.rsplit('/', 1)[0]}/notifications?receiver=ioc-qr").json()

    webhook.run("stop")
    webhook.run("start")
    assert webhook.notifications() == kept


def test_a_kill_mid_append_loses_only_the_torn_line(webhook: Webhook) -> None:
    note = {"receiver": "ioc-energy", "status": "firing", "alerts": [{"labels": {"a": "1"}}]}
    assert httpx.post(webhook.url, json=note, timeout=5).status_code == 200
    kept = webhook.notifications()
    pid = int((webhook.data_dir / "run" / "alert-receiver.pid").read_text())
    os.kill(pid, signal.SIGKILL)
    # What a kill in the middle of a write leaves behind.
    with (webhook.data_dir / "alert-receiver" / "notifications.jsonl").open("a") as out:
        out.write('{"receiver": "ioc-qr", "al')
    webhook.run("start")
    assert webhook.notifications() == kept
    assert httpx.post(webhook.url, json=note, timeout=5).status_code == 200
    assert len(webhook.notifications()) == len(kept) + 1
