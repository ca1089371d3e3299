"""A private Alertmanager (the project's script, the project's config with test timings),
a private local alert receiver (deploy/local/alert-receiver.sh) on 127.0.0.1, and
`ioc alerter` as a real process, `ioc notify` forwarding to a Zalo-shaped local server."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaProducer

from ioc.kafka_client import kafka_client_options
from ioc.ops.kafka_admin import admin_client, ensure_topics
from ioc.settings import PROJECT_ROOT, Settings
from schemas.results import Anomaly
from schemas.timeutil import to_ms
from schemas.topics import ANOMALIES, registry
from tests.integration.conftest import free_port, run_script
from tests.integration.services import ensure_pki, monitoring
from tests.notify_fakes import FakeZalo

SCRIPT = PROJECT_ROOT / "deploy" / "local" / "alertmanager.sh"


RECEIVER_SCRIPT = PROJECT_ROOT / "deploy" / "local" / "alert-receiver.sh"


@dataclass
class Webhook:
    """The local stack's alert receiver (deploy/local/alert-receiver.sh), a private one of
    these tests: Alertmanager delivers there, the tests read GET /notifications."""

    data_dir: Path
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alerts"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "IOC_LOCAL_SETTINGS_LOADED": "",
            "IOC_DATA_DIR": str(self.data_dir),
            "IOC_ALERT_RECEIVER_PORT": str(self.port),
        }

    def run(self, verb: str) -> None:
        run_script(RECEIVER_SCRIPT, verb, self.env)

    def notifications(self) -> list[dict[str, Any]]:
        response = httpx.get(f"http://127.0.0.1:{self.port}/notifications", timeout=5)
        response.raise_for_status()
        return list(response.json())

    def alerts(
        self, predicate: Callable[[dict[str, Any]], bool] = lambda a: True
    ) -> list[dict[str, Any]]:
        """(receiver, status, labels) of every alert of every notification so far."""
        return [
            {"receiver": n["receiver"], **a}
            for n in self.notifications()
            for a in n["alerts"]
            if predicate(a)
        ]

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 20
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self.alerts(predicate)
            if found:
                return found[-1]
            time.sleep(0.1)
        raise AssertionError(f"no matching alert within {timeout_s} s; got {self.alerts()}")


@pytest.fixture(scope="module")
def webhook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webhook]:
    hook = Webhook(tmp_path_factory.mktemp("receiver") / "stack")
    hook.run("start")
    yield hook
    hook.run("stop")


@dataclass
class PrivateAlertmanager:
    """An Alertmanager of these tests alone, started by deploy/local/alertmanager.sh."""

    data_dir: Path
    port: int
    webhook_url: str

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "IOC_LOCAL_SETTINGS_LOADED": "",
            "IOC_DATA_DIR": str(self.data_dir),
            "IOC_ALERTMANAGER_PORT": str(self.port),
            "IOC_ALERTMANAGER_WEBHOOK_URL": self.webhook_url,
            "IOC_ALERTMANAGER_GROUP_WAIT": "1s",
            "IOC_ALERTMANAGER_GROUP_INTERVAL": "1s",
            "IOC_ALERTMANAGER_REPEAT_INTERVAL": "1h",
        }

    def run(self, verb: str) -> None:
        run_script(SCRIPT, verb, self.env)

    @property
    def ca_file(self) -> Path:
        """The CA of its certificate (created by start, or by ensure_pki before)."""
        return self.data_dir / "pki" / "ca.pem"

    def ensure_pki(self) -> None:
        ensure_pki(self.env)

    def client(self) -> httpx.Client:
        """HTTPS with its CA and the settings' credentials (decision 0034)."""
        return monitoring("alertmanager", self.port, self.data_dir)

    def post(self, alerts: list[dict[str, Any]]) -> httpx.Response:
        with self.client() as client:
            return client.post("/api/v2/alerts", json=alerts)

    def alerts(self) -> list[dict[str, Any]]:
        with self.client() as client:
            return list(client.get("/api/v2/alerts").json())


def private_alertmanager(tmp: Path, webhook: Webhook) -> PrivateAlertmanager:
    return PrivateAlertmanager(tmp / "stack", free_port(), webhook.url)


@pytest.fixture(scope="module")
def alertmanager(
    tmp_path_factory: pytest.TempPathFactory, webhook: Webhook
) -> Iterator[PrivateAlertmanager]:
    am = private_alertmanager(tmp_path_factory.mktemp("am"), webhook)
    am.run("start")
    yield am
    am.run("stop")


def anomalies_topic(settings: Settings, suffix: str) -> str:
    """A compacted anomalies topic of this test alone."""
    spec = next(s for s in registry(30) if s.name == ANOMALIES)
    spec = dataclasses.replace(spec, name=f"{ANOMALIES}.t-{suffix}")
    admin = admin_client(settings)
    try:
        ensure_topics(admin, [spec], profile="dev", replication_factor=1)
    finally:
        admin.close()
    return spec.name


def produce(settings: Settings, topic: str, *values: Anomaly) -> None:
    producer = KafkaProducer(**kafka_client_options(settings), acks="all")
    for value in values:
        producer.send(
            topic,
            key=value.anomaly_id.encode(),
            value=value.model_dump_json().encode(),
            timestamp_ms=to_ms(value.updated_at),
        )
    producer.flush(30)
    producer.close()


@dataclass
class AlerterProcess:
    """`python -m ioc alerter` with the test's topic, Alertmanager and metrics port; it
    trusts that Alertmanager's CA (which must exist: ``am.ensure_pki()`` before a start)."""

    topic: str
    alertmanager: PrivateAlertmanager
    metrics_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        env = {
            **os.environ,
            "IOC_ALERTER_TOPIC": self.topic,
            "IOC_ALERTMANAGER_PORT": str(self.alertmanager.port),
            "IOC_MONITORING_CA_FILE": str(self.alertmanager.ca_file),
            "IOC_ALERTER_METRICS_PORT": str(self.metrics_port),
            "IOC_ALERTER_REPOST_INTERVAL_S": "2",
            "IOC_ALERTER_BACKOFF_MAX_S": "1",
            "IOC_ALERTER_GENERATION_REFRESH_S": "0",
            "IOC_GENERATION": "1",
            "IOC_DASHBOARD_LANGUAGE": "en",
            "IOC_GRAFANA_URL": "http://grafana.test:3000",
            **self.extra_env,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ioc", "alerter"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.wait_metric("ioc_alerter_ready", lambda v: v == 1)

    def metric(self, name: str) -> float | None:
        try:
            text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=2).text
        except httpx.HTTPError:
            return None
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def wait_metric(self, name: str, ok: Callable[[float], bool], timeout_s: float = 30) -> float:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                raise AssertionError(f"alerter exited {self.proc.returncode}:\n{out}")
            value = self.metric(name)
            if value is not None and ok(value):
                return value
            time.sleep(0.1)
        raise AssertionError(f"{name} not as expected within {timeout_s} s")

    def stop(self) -> str:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        text = out.decode()
        assert self.proc.returncode == 0, text
        return text


# --- ioc notify and a Zalo-shaped server (the real API cannot be reached from here) ---

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
