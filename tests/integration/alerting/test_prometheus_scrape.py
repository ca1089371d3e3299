"""The real Prometheus (a private instance, started by the project's script with the
project's config) scrapes real pipeline processes — `ioc sink` and `ioc worker` — loads
the pipeline-health rules, and evaluates every PromQL query of the pipeline dashboard.
A process that dies while Prometheus waits for it fails the test with its output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ioc.ops.grafana.dashboards.pipeline import PANELS, UP
from ioc.settings import Settings
from schemas.topics import DEADLETTER
from tests.factories import dead_letter
from tests.integration.conftest import free_port
from tests.integration.services import private_prometheus
from tests.integration.sink.harness import produce

pytestmark = pytest.mark.integration


def spawn(env: dict[str, str], *argv: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "ioc", *argv],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(proc: subprocess.Popen[bytes]) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")


def alive(*procs: subprocess.Popen[bytes]) -> Callable[[], None]:
    """A check that fails at once, with the process's output, when one of them exited."""

    def check() -> None:
        for proc in procs:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                raise AssertionError(f"{proc.args} exited {proc.returncode}:\n{out[-4000:]}")

    return check


def test_prometheus_scrapes_the_sink_and_loads_the_rules(
    settings: Settings, kafka_ready: Settings, database: str, unique: str, tmp_path: Path
) -> None:
    sink_port = free_port()
    marker = f"prom-{unique}"
    produce(settings, DEADLETTER, [dead_letter(source_topic=marker, offset=1)])
    sink = spawn(
        {
            "IOC_CLICKHOUSE_DATABASE": database,
            "IOC_SINK_GROUP_ID": f"ioc-sink-{marker}",
            "IOC_SINK_METRICS_PORT": str(sink_port),
            "IOC_SINK_BATCH_MAX_AGE_S": "0.2",
        },
        "sink",
    )
    prometheus = private_prometheus(tmp_path, IOC_SINK_METRICS_PORT=str(sink_port))
    prometheus.run("start")
    try:
        up = prometheus.wait_for(UP, lambda r: _up(r) >= {"ioc-sink"}, check=alive(sink))
        assert [x["metric"]["instance"] for x in up if x["metric"]["job"] == "ioc-sink"] == [
            f"127.0.0.1:{sink_port}"
        ]
        prometheus.wait_for(
            'ioc_sink_rows_written_total{job="ioc-sink", table="deadletter"}',
            lambda r: bool(r) and float(r[0]["value"][1]) >= 1,
            check=alive(sink),
        )
        groups = prometheus.api("rules")["groups"]
        names = {rule["name"] for group in groups for rule in group["rules"]}
        assert {"IocWorkerDown", "IocAlerterDown", "IocSinkFailing", "IocStreamNoData"} <= names
        assert all(rule["health"] != "err" for g in groups for rule in g["rules"])
        # Every query of the pipeline-health dashboard is valid PromQL for this Prometheus.
        for expr in (p.expr for p in PANELS):
            prometheus.api("query", query=expr.replace("$__rate_interval", "1m"))
    finally:
        prometheus.run("stop")
        log = stop(sink)
    assert sink.returncode == 0, log


def test_prometheus_scrapes_a_worker(
    settings: Settings, kafka_ready: Settings, unique: str, tmp_path: Path
) -> None:
    worker_port = free_port()
    worker = spawn(
        {
            "IOC_ENVIRONMENT": "test",
            "IOC_DATA_DIR": str(tmp_path / "worker"),
            "IOC_STREAM_APP_ID": f"ioc-worker-prom-{unique}",
            "IOC_STREAM_TOPIC_SUFFIX": f".t-{unique}",
            "IOC_STREAM_METRICS_PORT": str(worker_port),
        },
        "worker",
    )
    prometheus = private_prometheus(tmp_path, IOC_STREAM_METRICS_PORT=str(worker_port))
    prometheus.run("start")
    try:
        prometheus.wait_for(UP, lambda r: _up(r) >= {"ioc-worker"}, check=alive(worker))
        prometheus.wait_for('ioc_stream_consumer_lag{job="ioc-worker"}', bool, check=alive(worker))
    finally:
        prometheus.run("stop")
        log = stop(worker)
    assert worker.returncode in (0, -signal.SIGTERM), log


def _up(result: list[Any]) -> set[str]:
    return {x["metric"]["job"] for x in result if x["value"][1] == "1"}
