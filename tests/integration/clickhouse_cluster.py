"""The private services of tests/integration/test_clickhouse_cluster.py (ZooKeeper, two
ClickHouse replicas of one shard and one server, all started by the project's scripts)
and what the tests ask of them."""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from connectors.sinks.clickhouse.batch import Batch
from connectors.sinks.clickhouse.metrics import SinkMetrics
from connectors.sinks.clickhouse.rows import Origin, rows_for
from connectors.sinks.clickhouse.sink import ClickHouseSink, SinkConfig
from connectors.sinks.clickhouse.writer import OutageError, TableWriter
from ioc.ops.db.executors import ClickHouseExecutor, clickhouse_client
from ioc.ops.grafana.build import dashboards
from ioc.ops.grafana.macros import QueryContext, auto_interval, expand
from ioc.settings import PROJECT_ROOT, Settings, settings_for_tests
from schemas.events import TrafficObservation
from tests.integration.conftest import run_script
from tests.integration.grafana import dataset
from tests.integration.grafana.test_panel_queries import PROFILE_OBJ, scenarios
from tests.integration.services import share_stack_pki

LOCAL = PROJECT_ROOT / "deploy" / "local"
CLUSTER = "ioc_test"
ZOOKEEPER_PORT = 30181
CLUSTER_PORT, CLUSTER_HTTP_PORT, INTERSERVER_PORT = 30900, 30123, 30909  # replica n: + 10·(n-1)
SINGLE_PORT, SINGLE_HTTP_PORT = 30800, 30823
CLUSTER_TLS_PORT, SINGLE_TLS_PORT = 30940, 30840  # the native protocol over TLS (decision 0037)
TABLES = (
    "events_qr", "events_traffic", "events_energy", "events_dossier", "dossier_state",
    "anomalies", "deadletter", "kpi_traffic", "kpi_energy", "kpi_qr", "kpi_dossier", "areas",
    "area_paths", "entities", "generations", "dq",
)  # fmt: skip
VARYING = {"loaded_at_ms"}
"""Columns stamped with the wall clock at load time: they differ between two loads."""


@dataclass
class Stack:
    """The private services and what a test does to them."""

    cluster_env: dict[str, str]
    single_env: dict[str, str]
    cluster_dir: Path

    def replica(self, verb: str, node: int) -> None:
        script = "clickhouse.sh" if node == 1 else f"clickhouse-{node}.sh"
        run_script(LOCAL / script, verb, self.cluster_env, timeout_s=120)

    def pid(self, node: int) -> int:
        name = "clickhouse" if node == 1 else f"clickhouse-{node}"
        return int((self.cluster_dir / "run" / f"{name}.pid").read_text().strip())

    def settings(self, node: int | None, *, alt: bool = False) -> Settings:
        """Settings of a client of replica ``node`` (None: the single server)."""
        if node is None:
            return settings_for_tests(
                clickhouse_port=SINGLE_PORT, clickhouse_tls_port=SINGLE_TLS_PORT
            )
        others = [n for n in (1, 2) if n != node] if alt else []
        # Clients speak TLS: the other replicas' TLS ports are the ones to fail over to.
        return settings_for_tests(
            clickhouse_port=CLUSTER_PORT + 10 * (node - 1),
            clickhouse_tls_port=CLUSTER_TLS_PORT + 10 * (node - 1),
            clickhouse_cluster=CLUSTER,
            clickhouse_alt_hosts=",".join(
                f"127.0.0.1:{CLUSTER_TLS_PORT + 10 * (n - 1)}" for n in others
            ),
        )

    def executor(self, node: int | None, *, alt: bool = False) -> ClickHouseExecutor:
        return ClickHouseExecutor(clickhouse_client(self.settings(node, alt=alt), role="migrator"))


def env_of(data_dir: Path, **settings: object) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    share_stack_pki(data_dir)  # one CA for every service: the clients trust the stack's
    return (
        clean
        # The test's database is not "ioc": the sink's user may not be confined to it.
        | {"IOC_DATA_DIR": str(data_dir), "IOC_CLICKHOUSE_CONFINE_DATABASES": "false"}
        | {f"IOC_{k.upper()}": str(v) for k, v in settings.items()}
    )


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout_s} s")
        time.sleep(0.2)


def replica_counts(executor: ClickHouseExecutor, database: str) -> dict[str, int]:
    """Rows of each replicated data table on that replica alone."""
    rows = executor.execute(
        f"SELECT table, sum(rows) FROM system.parts WHERE database = '{database}' AND active "
        "GROUP BY table"
    )
    return {str(t): int(n) for t, n in rows}


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, list | tuple):
        return tuple(_normal(v) for v in value)
    return value


def answers(executor: ClickHouseExecutor, sql: str) -> Counter[tuple[Any, ...]]:
    """The rows of a query, order-free and with floats rounded (sums may add in any order)."""
    rows, types = executor.client.execute(sql, with_column_types=True)
    keep = [i for i, (name, _) in enumerate(types) if name not in VARYING]
    return Counter(tuple(_normal(row[i]) for i in keep) for row in rows)


def panel_queries(now: datetime) -> Iterator[tuple[str, str]]:
    """(label, SQL) of every panel and annotation of every dashboard, in every scenario of
    the panel tests, expanded as Grafana would."""
    for dashboard in dashboards(PROFILE_OBJ):
        for scenario in scenarios(PROFILE_OBJ):
            span = scenario.range_of(dashboard)
            ctx = QueryContext(
                time_from=now - span,
                time_to=now,
                interval=scenario.interval or auto_interval(span),
                variables=scenario.variables_for(dashboard),
            )
            targets = [(f"#{i}", t) for i, _, t in dashboard.sql_targets()]
            targets += [(f"annotation {a.name.en}", a.target()) for a in dashboard.annotations]
            for label, target in targets:
                yield f"{dashboard.uid} {label} [{scenario.name}]", expand(target.sql, ctx)


def outcome(executor: ClickHouseExecutor, sql: str) -> tuple[str, Any]:
    try:
        return "rows", answers(executor, sql)
    except Exception as exc:  # the server's refusal, compared by its code
        return "error", getattr(exc, "code", type(exc).__name__)


def sink_of(settings: Settings, database: str) -> ClickHouseSink:
    """The sink's write path alone (never started: no Kafka), on the settings' client."""
    config = SinkConfig(kafka={"bootstrap_servers": "127.0.0.1:9"}, group_id="unused")
    client = clickhouse_client(settings, role="sink", database=database, connect_timeout=2)
    writer = TableWriter(client, database)
    return ClickHouseSink(config, writer, {}, SinkMetrics(CollectorRegistry()))


def traffic_batch(now: datetime, n: int) -> Batch:
    """``n`` traffic events not yet stored (new ids), as one sink batch."""
    batch = Batch()
    events = [
        v for v in dataset.build(PROFILE_OBJ, now).values if isinstance(v, TrafficObservation)
    ]
    assert events
    for i in range(n):
        fresh = events[i % len(events)].model_copy(update={"event_id": uuid.uuid4()})
        origin = Origin("ioc.traffic.obs.v1", 0, i)
        for table, row in rows_for(fresh, origin, 0):
            batch.add(table, row, origin)
    return batch


def raw_count(executor: ClickHouseExecutor, sql_from: str) -> int:
    return int(executor.execute(f"SELECT count() FROM {sql_from}")[0][0])


def write_with_retries(sink: ClickHouseSink, batch: Batch, timeout_s: float = 30) -> int:
    """The sink's write of one batch, retried on an outage as its loop does; attempts made."""
    deadline, attempts = time.monotonic() + timeout_s, 0
    while True:
        attempts += 1
        try:
            sink._write(batch)
            return attempts
        except OutageError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
