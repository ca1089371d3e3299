"""The whole pipeline of the fault suite, each part as it runs in production, on this
test's names.

``ioc connector http serve``, ``ioc connector mqtt``, ``ioc connector outbox run``, ``ioc
worker`` and ``ioc sink`` run as processes on the shared Kafka (topics, app id and group
of this test); ClickHouse, Mosquitto and PostgreSQL are private instances started by the
project's own scripts in the test's folder on free ports (tests/integration/services.py),
so that a fault may kill, hang or restart them without touching the shared stack.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka import KafkaConsumer, TopicPartition

from connectors.sources.http.keys import add_key
from ioc.kafka_client import kafka_client_options
from ioc.ops.db.executors import ClickHouseExecutor
from ioc.ops.db.migrate import migrate
from ioc.ops.kafka_admin import admin_client
from ioc.settings import Settings
from ioc.wiring.connectors import prepare_outbox_db
from ioc.wiring.worker import worker_topics
from tests.integration.conftest import free_port
from tests.integration.services import PrivateClickHouse, PrivateService
from tests.integration.streams.conftest import PROJECT, StreamStack, open_stack, wait_for

DATABASE = "ioc"
QR_APP = "qr-gate-faults"
"""The API key's source: the gateway stamps it on every scan it takes."""
TP = tuple[str, int]


def _commands(p: Pipeline) -> dict[str, list[str]]:
    return {
        "gateway": ["connector", "http", "serve", "--port", str(p.http_port)],
        "bridge": ["connector", "mqtt", "--metrics-port", str(p.bridge_metrics_port)],
        "poller": ["connector", "outbox", "run", "--metrics-port", "0"],
        "worker": ["worker", "--loglevel", "info"],
        "sink": ["sink", "--topic-suffix", p.stack.suffix],
    }


@dataclass
class Pipeline:
    stack: StreamStack
    clickhouse: PrivateClickHouse
    mosquitto: PrivateService
    postgres: PrivateService
    http_port: int
    bridge_metrics_port: int
    keys_file: Path
    api_key: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    """The running process of each part (one stopped on purpose is taken out)."""
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: dict[str, Path] = field(default_factory=dict)
    _runs: Counter[str] = field(default_factory=Counter)
    _consumer: KafkaConsumer | None = None
    _admin: Any = None
    _monitor: Any = None

    @property
    def settings(self) -> Settings:
        return self.stack.settings

    @property
    def sink_group(self) -> str:
        return self.settings.sink_group_id

    # --- start, stop ---------------------------------------------------------------------

    def start(self) -> None:
        """The private services, the schemas, an API key, then every process."""
        for service in (self.clickhouse, self.mosquitto, self.postgres):
            service.start()
        executor = ClickHouseExecutor(self.clickhouse.client(self.settings, "migrator"))
        try:
            migrate(executor, DATABASE)
        finally:
            executor.close()
        prepare_outbox_db(self.settings)  # as `ioc connector outbox init-db`
        self.api_key = add_key(self.keys_file, QR_APP, ["qr"])
        # The bridge first: its persistent session must exist before devices publish.
        for name in ("bridge", "poller", "gateway", "worker", "sink"):
            self.spawn(name)
        wait_for(self.gateway_up, 60, f"the gateway ({self.logs['gateway']})", 0.3)
        wait_for(self.bridge_connected, 60, f"the bridge ({self.logs['bridge']})", 0.3)
        self.check_alive()

    def spawn(self, name: str) -> subprocess.Popen[bytes]:
        self._runs[name] += 1
        log = self.stack.log_dir / f"{name}-{self._runs[name]}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "ioc", *_commands(self)[name]],
                cwd=PROJECT, env=self.stack.env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        self.procs[name], self.logs[name] = process, log
        self.started.append(process)
        return process

    def signal(self, name: str, sig: signal.Signals) -> None:
        self.procs[name].send_signal(sig)

    def kill(self, name: str) -> None:
        process = self.procs.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def terminate(self, name: str, timeout_s: float = 30) -> int:
        process = self.procs.pop(name)
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout_s)

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"exited: {dead}\n{self.tails()}"

    def tails(self, lines: int = 25) -> str:
        return "\n".join(
            f"----- {path.name} -----\n"
            + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
            for path in sorted(self.stack.log_dir.glob("*.log"))
        )

    def close(self) -> None:
        """Every process this test started, then the private services, then the topics.

        Each step runs whatever the one before did: a teardown that stopped half-way
        would leave a private server running with its folder deleted.
        """
        with contextlib.ExitStack() as steps:  # run in reverse order of registration
            steps.callback(self.stack.delete_topics)
            for service in (self.postgres, self.mosquitto, self.clickhouse):
                steps.callback(service.stop)
            steps.callback(self._resume_clickhouse)
            steps.callback(self.forget_monitor)
            for client in (self._admin, self._consumer):
                if client is not None:
                    steps.callback(client.close)
            steps.callback(self._stop_processes)

    def _stop_processes(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)  # a paused one must hear the SIGTERM
                process.send_signal(signal.SIGTERM)
        for process in self.started:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def _resume_clickhouse(self) -> None:
        with contextlib.suppress(OSError, ValueError):  # a hung server must hear its stop
            os.kill(self.clickhouse.pid(), signal.SIGCONT)

    # --- readiness -------------------------------------------------------------------------

    def gateway_up(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.http_port}/health"
            return bool(httpx.get(url, timeout=2).json().get("kafka") == "up")
        except (httpx.HTTPError, ValueError):
            return False

    def bridge_connected(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.bridge_metrics_port}/metrics"
            return "ioc_mqtt_connected 1.0" in httpx.get(url, timeout=2).text
        except httpx.HTTPError:
            return False

    # --- where the sink is -----------------------------------------------------------------

    def ends(self) -> dict[TP, int]:
        """End offsets of every non-empty topic the sink reads."""
        if self._consumer is None:
            self._consumer = KafkaConsumer(**kafka_client_options(self.settings))
        topics = [spec.name for spec in worker_topics(self.settings)]
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in self._consumer.partitions_for_topic(t) or ()
        ]
        return {
            (tp.topic, tp.partition): n for tp, n in self._consumer.end_offsets(tps).items() if n
        }

    def committed(self) -> dict[TP, int]:
        """The sink group's committed offsets."""
        if self._admin is None:
            self._admin = admin_client(self.settings)
        found = self._admin.list_group_offsets(self.sink_group).get(self.sink_group, {})
        return {(tp.topic, tp.partition): meta.offset for tp, meta in found.items()}

    def behind(self, ends: dict[TP, int]) -> int:
        """Records of ``ends`` the sink has not committed (written) yet."""
        committed = self.committed()
        return sum(max(0, n - committed.get(tp, 0)) for tp, n in ends.items())

    # --- ClickHouse, as its operator sees it ----------------------------------------------

    def inserting(self) -> bool:
        """An INSERT of the sink's is running on the private server."""
        if self._monitor is None:
            self._monitor = self.clickhouse.client(self.settings, "migrator")
        query = (
            "SELECT count() FROM system.processes WHERE query LIKE 'INSERT%%' AND user = %(user)s"
        )
        found = self._monitor.execute(query, {"user": self.settings.clickhouse_sink_user})
        return bool(found[0][0])

    def forget_monitor(self) -> None:
        """Drop the monitoring connection (the server it talked to was killed)."""
        if self._monitor is not None:
            self._monitor.disconnect()
            self._monitor = None


def open_pipeline(unique: str, work: Path) -> Pipeline:
    """The pipeline's settings on this test's names and private services (not started)."""
    clickhouse = PrivateClickHouse(work / "clickhouse", free_port(), free_port())
    mosquitto = PrivateService("mosquitto", work / "mosquitto")
    postgres = PrivateService("postgres", work / "postgres")
    http_port, bridge_metrics_port = free_port(), free_port()
    keys_file = work / "http-api-keys.json"
    (work / "logs").mkdir(parents=True, exist_ok=True)
    stack = open_stack(
        unique,
        work / "logs",
        data_dir=work / "data",  # the worker's state, in the test's folder
        connector_topic_suffix=f".it-{unique}",  # where the worker reads (open_stack's suffix)
        sink_group_id=f"ioc-sink-faults-{unique}",
        sink_batch_max_age_s=0.2,
        sink_metrics_port=0,
        clickhouse_database=DATABASE,
        clickhouse_port=clickhouse.port,
        clickhouse_http_port=clickhouse.http_port,
        clickhouse_tls_port=clickhouse.tls_port,
        mosquitto_port=mosquitto.port,
        mqtt_client_id=f"ioc-bridge-faults-{unique}",
        mqtt_traffic_topics=f"it/{unique}/traffic/+/obs",
        mqtt_energy_topics=f"it/{unique}/energy/+/reading",
        postgres_port=postgres.port,
        outbox_schema=f"faults_{unique}",
        outbox_position_schema=f"faults_{unique}_position",
        outbox_consumer=f"faults-{unique}",
        outbox_initial="history",  # every change is an event, none a snapshot of state
        outbox_poll_interval_s=0.05,
        http_api_keys_file=str(keys_file),
        # The gateway's drain on SIGTERM is this + 1 s (its stop): short, so is the step.
        http_kafka_timeout_s=3.0,
        http_rate_per_key=10_000,
        http_burst_per_key=10_000,
    )
    return Pipeline(
        stack, clickhouse, mosquitto, postgres, http_port, bridge_metrics_port, keys_file
    )


def wait_gone(pid: int, timeout_s: float = 10) -> None:
    """Until a process this test does not parent (a daemonised server) has exited."""

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat").read_text(errors="replace")
        return stat.rsplit(")", 1)[1].split()[0] == "Z"  # a zombie: dead, not yet reaped

    wait_for(gone, timeout_s, f"pid {pid} to exit", 0.05)


def until(condition: Callable[[], Any], timeout_s: float, what: str, p: Pipeline) -> float:
    """Poll ``condition`` (every process alive meanwhile); the monotonic time it held."""

    def holds() -> Any:
        p.check_alive()
        return condition()

    try:
        wait_for(holds, timeout_s, what, 0.1)
    except pytest.fail.Exception:
        message = f"timed out after {timeout_s} s waiting for {what}"
        raise AssertionError(f"{message}\n{p.tails()}") from None
    return time.monotonic()
