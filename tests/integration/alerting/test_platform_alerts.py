"""The platform rules on the real platform: a private Kafka broker (with its JMX exporter
agent), a private ClickHouse (with ``ioc clickhouse-exporter``) and node_exporter, each
started by the project's own script, scraped by a private Prometheus with the project's
config and rules. Kafka stopped fires ``IocKafkaBrokerDown`` and ClickHouse stopped
``IocClickHouseDown``, after their ``for:``.

This proves what the promtool tests cannot: that the series the rules read exist, under
those names and labels, on the real exporters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import free_port, port_taken, run_script
from tests.integration.services import LOCAL, PrivateClickHouse, PrivatePrometheus

pytestmark = pytest.mark.integration

FIRING_TIMEOUT_S = 150  # the rules' for: 1m, plus scrape, evaluation and the stop itself


@dataclass
class Platform:
    kafka_env: dict[str, str]
    clickhouse: PrivateClickHouse
    exporter: subprocess.Popen[bytes]
    node_env: dict[str, str]
    prometheus: PrivatePrometheus

    def alerts(self, name: str, state: str = "firing") -> list[dict[str, Any]]:
        found = self.prometheus.api("alerts")["alerts"]
        return [a for a in found if a["labels"]["alertname"] == name and a["state"] == state]

    def wait_firing(self, name: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + FIRING_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.exporter.poll() is None, "ioc clickhouse-exporter exited"
            firing = self.alerts(name)
            if firing:
                return firing
            time.sleep(1)
        rules = [
            (r["name"], r.get("state"), r.get("health"), r.get("lastError"))
            for g in self.prometheus.api("rules")["groups"]
            for r in g["rules"]
            if r["name"] == name
        ]
        raise AssertionError(f"{name} not firing after {FIRING_TIMEOUT_S} s: {rules}")


def ports(n: int) -> list[int]:
    """``n`` free ports whose +100 and +200 neighbours are free too (Kafka's node ports)."""
    found: list[int] = []
    while len(found) < n:
        port = free_port()
        if port < 65_000 and not any(port_taken(port + d) for d in (100, 200)):
            found.append(port)
    return found


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    kafka_port, controller_port, kafka_metrics = ports(3)
    base = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    kafka_env = base | {
        "IOC_DATA_DIR": str(tmp_path / "kafka"),
        "IOC_KAFKA_PORT": str(kafka_port),
        "IOC_KAFKA_CONTROLLER_PORT": str(controller_port),
        "IOC_KAFKA_METRICS_PORT": str(kafka_metrics),
    }
    node_env = base | {
        "IOC_DATA_DIR": str(tmp_path / "node"),
        "IOC_NODE_EXPORTER_PORT": str(free_port()),
    }
    clickhouse = PrivateClickHouse(tmp_path / "clickhouse", free_port(), free_port())
    exporter_port = free_port()
    started: list[str] = []
    exporter = None
    prometheus = None
    try:
        run_script(LOCAL / "kafka.sh", "start", kafka_env, timeout_s=180)
        started.append("kafka")
        clickhouse.start()
        started.append("clickhouse")
        run_script(LOCAL / "node-exporter.sh", "start", node_env)
        started.append("node")
        exporter = subprocess.Popen(
            [sys.executable, "-m", "ioc", "clickhouse-exporter"],
            env=base
            | clickhouse.client_env()
            | {
                "IOC_CLICKHOUSE_METRICS_PORT": str(exporter_port),
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        prometheus = PrivatePrometheus(
            tmp_path / "prometheus",
            free_port(),
            {
                "IOC_KAFKA_METRICS_PORT": str(kafka_metrics),
                "IOC_KAFKA_BROKERS": "1",
                "IOC_CLICKHOUSE_METRICS_PORT": str(exporter_port),
                "IOC_NODE_EXPORTER_PORT": node_env["IOC_NODE_EXPORTER_PORT"],
                # Its rules must not page through the session's Alertmanager.
                "IOC_ALERTMANAGER_PORT": str(free_port()),
            },
        )
        prometheus.run("start")
        yield Platform(kafka_env, clickhouse, exporter, node_env, prometheus)
    finally:
        if prometheus is not None:
            prometheus.run("stop")
        if exporter is not None:
            exporter.terminate()
            exporter.wait(timeout=30)
        if "node" in started:
            run_script(LOCAL / "node-exporter.sh", "stop", node_env)
        if "clickhouse" in started:
            clickhouse.stop()
        if "kafka" in started:
            run_script(LOCAL / "kafka.sh", "stop", kafka_env, timeout_s=60)


def test_platform_rules_fire_on_the_real_exporters(platform: Platform) -> None:
    prom = platform.prometheus

    def value(query: str) -> float:
        result = prom.wait_for(query, bool, timeout_s=90)
        return float(result[0]["value"][1])

    # Every series a rule reads is there, from the real exporters.
    assert value('up{job="kafka"}') == 1
    assert value('kafka_controller_kafkacontroller_activecontrollercount{job="kafka"}') == 1
    assert value('kafka_controller_kafkacontroller_offlinepartitionscount{job="kafka"}') == 0
    assert value('kafka_server_replicamanager_underreplicatedpartitions{job="kafka"}') == 0
    assert value('kafka_server_replicamanager_underminisrpartitioncount{job="kafka"}') == 0
    assert value('clickhouse_up{job="clickhouse"}') == 1
    assert value('ClickHouseProfileEvents_FailedInsertQuery{job="clickhouse"}') == 0
    assert value('count(node_filesystem_avail_bytes{job="node", fstype!="tmpfs"})') >= 1
    assert value('count(node_filesystem_size_bytes{job="node"})') >= 1
    rules = {r["name"]: r for g in prom.api("rules")["groups"] for r in g["rules"]}
    assert all(r["health"] == "ok" for r in rules.values() if r.get("health") != "unknown"), [
        (n, r.get("lastError")) for n, r in rules.items() if r.get("health") == "err"
    ]
    for quiet in ("IocKafkaBrokerDown", "IocClickHouseDown", "IocKafkaNoActiveController"):
        assert not platform.alerts(quiet, "pending")
        assert not platform.alerts(quiet)

    # Kafka and ClickHouse stopped: both fire, once their for: has passed.
    run_script(LOCAL / "kafka.sh", "stop", platform.kafka_env, timeout_s=60)
    platform.clickhouse.stop()
    stopped_at = time.monotonic()
    kafka_down = platform.wait_firing("IocKafkaBrokerDown")
    clickhouse_down = platform.wait_firing("IocClickHouseDown")
    elapsed = time.monotonic() - stopped_at
    assert kafka_down[0]["labels"]["severity"] == "critical"
    assert clickhouse_down[0]["labels"]["instance"].endswith(
        f":{prom.env['IOC_CLICKHOUSE_METRICS_PORT']}"
    )
    assert elapsed >= 55, f"fired {elapsed:.0f} s after the stop: the rules' for: 1m is lost"
    # The exporter stays up and says the server is down, rather than failing the scrape.
    assert value('up{job="clickhouse"}') == 1
    assert value('clickhouse_up{job="clickhouse"}') == 0
