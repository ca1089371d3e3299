"""Prometheus, Alertmanager, `ioc notify`, Mosquitto and PostgreSQL answer real health checks."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
import yaml

from connectors.sources.mqtt.security import TEST_ACCOUNT, make_client
from ioc.ops.monitoring import monitoring_client
from ioc.settings import Settings
from ioc.wiring.connectors import device_login
from tests.integration.conftest import require_port

pytestmark = pytest.mark.integration


def test_prometheus_ready_and_scraping_itself(settings: Settings) -> None:
    require_port(settings, "prometheus", settings.prometheus_port)
    with monitoring_client(settings, "prometheus") as prometheus:
        assert prometheus.get("/-/ready").status_code == 200
        targets = prometheus.get("/api/v1/targets").json()
    assert targets["status"] == "success"
    assert targets["data"]["activeTargets"], "prometheus has no scrape targets"
    # It reaches itself and Alertmanager over HTTPS with their credentials (decision 0034).
    jobs = {t["labels"]["job"]: t for t in targets["data"]["activeTargets"]}
    for job in ("prometheus", "alertmanager"):
        assert jobs[job]["scrapeUrl"].startswith("https://"), jobs[job]


def test_alertmanager_ready_and_v2_api(settings: Settings) -> None:
    require_port(settings, "alertmanager", settings.alertmanager_port)
    with monitoring_client(settings, "alertmanager") as alertmanager:
        assert alertmanager.get("/-/ready").status_code == 200
        status = alertmanager.get("/api/v2/status").json()
    assert status["cluster"]["status"] in {"disabled", "ready"}
    assert "route" in status["config"]["original"]


def test_alertmanager_delivers_only_to_the_local_alert_receiver(settings: Settings) -> None:
    """The local stack never reaches outside hosts: no e-mail, no Telegram, and every
    webhook is the local alert receiver, which answers."""
    require_port(settings, "alert-receiver", settings.alert_receiver_port)
    receiver = f"http://127.0.0.1:{settings.alert_receiver_port}"
    assert httpx.get(f"{receiver}/-/ready", timeout=5).status_code == 200
    with monitoring_client(settings, "alertmanager") as alertmanager:
        config = yaml.safe_load(alertmanager.get("/api/v2/status").json()["config"]["original"])
    for entry in config["receivers"]:
        kinds = {k for k in entry if k.endswith("_configs")}
        if entry["name"] == "ioc-watchdog":
            assert kinds == set(), entry  # the heartbeat has nowhere to go on one machine
            continue
        assert kinds == {"webhook_configs"}, entry
        for hook in entry["webhook_configs"]:
            url = urlsplit(hook["url"])
            assert (url.hostname, url.port) == ("127.0.0.1", settings.alert_receiver_port), hook


def test_notify_is_healthy_and_scraped_by_prometheus(settings: Settings) -> None:
    """The stack's ``ioc notify`` (deploy/local/notify.sh) answers /health, and Prometheus
    scrapes it as job ioc-notify (the job the rules and the pipeline dashboard name)."""
    require_port(settings, "notify", settings.notify_port)
    base = f"http://127.0.0.1:{settings.notify_port}"
    assert httpx.get(f"{base}/health", timeout=5).json() == {"healthy": True}
    assert "ioc_notify_requests_total" in httpx.get(f"{base}/metrics", timeout=5).text
    require_port(settings, "prometheus", settings.prometheus_port)
    deadline = time.monotonic() + 15  # targets appear once the config is loaded
    jobs: dict[str, Any] = {}
    with monitoring_client(settings, "prometheus") as prometheus:
        while "ioc-notify" not in jobs and time.monotonic() < deadline:
            targets = prometheus.get("/api/v1/targets").json()["data"]
            jobs = {t["labels"]["job"]: t for t in targets["activeTargets"]}
            time.sleep(0.5)
    assert jobs["ioc-notify"]["scrapeUrl"] == f"{base}/metrics", sorted(jobs)


def test_mosquitto_delivers_a_qos1_message(settings: Settings) -> None:
    require_port(settings, "mosquitto", settings.mosquitto_port)
    topic = f"ioc/health/{uuid.uuid4().hex}"
    received = threading.Event()
    payloads: list[bytes] = []

    def on_message(_c: mqtt.Client, _u: object, message: mqtt.MQTTMessage) -> None:
        payloads.append(message.payload)
        received.set()

    subscribed = threading.Event()
    login = device_login(settings, TEST_ACCOUNT)  # TLS and an account (decision 0033)
    sub = make_client(login, f"sub-{uuid.uuid4().hex[:8]}")
    sub.on_message = on_message
    sub.on_subscribe = lambda *_a: subscribed.set()
    sub.connect("127.0.0.1", settings.mosquitto_port)
    sub.loop_start()
    try:
        sub.subscribe(topic, qos=1)
        assert subscribed.wait(10), "no SUBACK from mosquitto"
        pub = make_client(login, f"pub-{uuid.uuid4().hex[:8]}")
        pub.connect("127.0.0.1", settings.mosquitto_port)
        pub.loop_start()
        pub.publish(topic, b"ping", qos=1).wait_for_publish(10)
        pub.loop_stop()
        pub.disconnect()
        assert received.wait(10), "message not delivered"
        assert payloads == [b"ping"]
    finally:
        sub.loop_stop()
        sub.disconnect()


def test_postgres_accepts_the_project_role(settings: Settings) -> None:
    require_port(settings, "postgres", settings.postgres_port)
    with psycopg.connect(
        host="127.0.0.1",
        port=settings.postgres_port,
        user=settings.postgres_user,
        password=settings.postgres_password.get_secret_value(),
        dbname=settings.postgres_database,
        connect_timeout=5,
    ) as conn:
        row = conn.execute("SELECT current_user, current_database(), 1 + 1").fetchone()
    assert row == (settings.postgres_user, settings.postgres_database, 2)
