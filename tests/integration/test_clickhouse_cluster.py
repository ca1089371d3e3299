"""A replicated ClickHouse beside one server (issue 17, decision 0036).

ZooKeeper and two ClickHouse 18.16 replicas of one shard, started by the project's own
scripts (zookeeper.sh, clickhouse.sh, clickhouse-2.sh) on this test's ports, and one
server started the same way without a cluster. Both layouts are migrated by the same
migration files and loaded with the same dataset (the one the panel tests use); every
table, view and panel query must then give the same answers on both, the sink's retries
must not double rows on the replicated tables, and one replica down must leave reads and
writes working.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ioc.ops.db.executors import ClickHouseExecutor, clickhouse_client
from ioc.ops.db.maintenance import load_entities
from ioc.ops.db.migrate import applied, load, migrate
from tests.integration.clickhouse_cluster import (
    CLUSTER,
    CLUSTER_HTTP_PORT,
    CLUSTER_PORT,
    CLUSTER_TLS_PORT,
    INTERSERVER_PORT,
    LOCAL,
    SINGLE_HTTP_PORT,
    SINGLE_PORT,
    SINGLE_TLS_PORT,
    TABLES,
    ZOOKEEPER_PORT,
    Stack,
    answers,
    env_of,
    outcome,
    panel_queries,
    raw_count,
    replica_counts,
    sink_of,
    traffic_batch,
    wait_until,
    write_with_retries,
)
from tests.integration.conftest import port_taken, run_script
from tests.integration.grafana import dataset
from tests.integration.grafana.test_panel_queries import PROFILE_OBJ

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session", autouse=True)
def registry_topics() -> None:
    """Nothing here touches Kafka: the conftest's topic set-up is not needed (overridden)."""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ports = [ZOOKEEPER_PORT, SINGLE_PORT, SINGLE_HTTP_PORT, SINGLE_TLS_PORT] + [
        p + 10 * n
        for p in (CLUSTER_PORT, CLUSTER_HTTP_PORT, CLUSTER_TLS_PORT, INTERSERVER_PORT)
        for n in (0, 1)
    ]
    taken = [p for p in ports if port_taken(p)]
    if taken:
        pytest.fail(f"the test's ClickHouse/ZooKeeper ports are taken: {taken}", pytrace=False)
    cluster_dir = tmp_path_factory.mktemp("ch-cluster")
    found = Stack(
        cluster_env=env_of(
            cluster_dir,
            zookeeper_port=ZOOKEEPER_PORT,
            clickhouse_cluster=CLUSTER,
            clickhouse_replicas=2,
            clickhouse_port=CLUSTER_PORT,
            clickhouse_http_port=CLUSTER_HTTP_PORT,
            clickhouse_tls_port=CLUSTER_TLS_PORT,
            clickhouse_interserver_port=INTERSERVER_PORT,
        ),
        single_env=env_of(
            tmp_path_factory.mktemp("ch-single"),
            clickhouse_port=SINGLE_PORT,
            clickhouse_http_port=SINGLE_HTTP_PORT,
            clickhouse_tls_port=SINGLE_TLS_PORT,
        ),
        cluster_dir=cluster_dir,
    )
    started: list[tuple[Path, dict[str, str]]] = []
    try:
        for script, env in (
            (LOCAL / "zookeeper.sh", found.cluster_env),
            (LOCAL / "clickhouse.sh", found.cluster_env),
            (LOCAL / "clickhouse-2.sh", found.cluster_env),
            (LOCAL / "clickhouse.sh", found.single_env),
        ):
            started.append((script, env))
            run_script(script, "start", env, timeout_s=180)
        yield found
    finally:
        for script, env in reversed(started):
            run_script(script, "stop", env, timeout_s=60)


@dataclass
class Loaded:
    stack: Stack
    database: str
    now: datetime
    single: ClickHouseExecutor
    replicas: dict[int, ClickHouseExecutor]
    migrate_s: dict[str, float]


@pytest.fixture(scope="module")
def loaded(stack: Stack) -> Iterator[Loaded]:
    database = f"ioc_cluster_{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    single, one, two = stack.executor(None), stack.executor(1), stack.executor(2)
    took: dict[str, float] = {}
    for name, executor, cluster in (("single", single, ""), ("cluster", one, CLUSTER)):
        started = time.monotonic()
        migrate(executor, database, cluster=cluster)
        took[name] = time.monotonic() - started
        load_entities(executor, database, PROFILE_OBJ, cluster=cluster)
        dataset.build(PROFILE_OBJ, now).write(executor, database)
        # A rebuild that is not promoted: panels keep showing generation 1.
        executor.insert(
            f"{database}.generations",
            ["generation", "application_id", "kind", "status", "promoted", "note", "updated_at_ms"],
            [(2, "ioc-rebuild", "rebuild", "running", 0, "test rebuild", 1)],
        )
    wait_until(
        lambda: replica_counts(two, database) == replica_counts(one, database),
        60,
        "replica 2 in sync",
    )
    yield Loaded(stack, database, now, single, {1: one, 2: two}, took)
    for executor in (single, one, two):
        executor.close()


def test_migrations_make_replicated_tables_under_the_same_names(loaded: Loaded) -> None:
    db, two = loaded.database, loaded.replicas[2]
    engines = dict(two.execute(f"SELECT name, engine FROM system.tables WHERE database = '{db}'"))
    for table in TABLES:
        assert engines[table] == "Distributed", table
        assert engines[f"{table}_local"].startswith("Replicated"), table
    assert engines["kpi_traffic_local"] == "ReplicatedReplacingMergeTree"
    single = dict(
        loaded.single.execute(f"SELECT name, engine FROM system.tables WHERE database = '{db}'")
    )
    assert single["kpi_traffic"] == "ReplacingMergeTree"
    assert not any(name.endswith("_local") for name in single)
    # Views of both layouts alike; the registry replicated to the replica not migrated from.
    assert {n for n, e in engines.items() if e == "View"} == {
        n for n, e in single.items() if e == "View"
    }
    every = {m.number for m in load()}
    assert set(applied(two, db)) == every
    assert migrate(two, db, cluster=CLUSTER) == []
    print(f"migrations: one server {loaded.migrate_s['single']:.1f} s, "
          f"cluster {loaded.migrate_s['cluster']:.1f} s")  # fmt: skip


def test_every_table_and_view_gives_the_same_answers(loaded: Loaded) -> None:
    db = loaded.database
    views = [
        str(name)
        for (name,) in loaded.single.execute(
            f"SELECT name FROM system.tables WHERE database = '{db}' AND engine = 'View'"
        )
    ]
    assert {"kpi_traffic_by_area", "anomalies_live"} <= set(views)
    compared = 0
    for name, final in [(t, " FINAL") for t in TABLES] + [(v, "") for v in views]:
        want = answers(loaded.single, f"SELECT * FROM {db}.{name}{final}")
        for node, replica in loaded.replicas.items():
            got = answers(replica, f"SELECT * FROM {db}.{name}{final}")
            assert got == want, f"{name} via replica {node}: {got.total()} vs {want.total()} rows"
        compared += want.total()
    assert compared > 10_000


def test_every_panel_query_gives_the_same_answers(loaded: Loaded) -> None:
    """Each panel's SQL on both layouts: the same rows, or the same refusal where 18.16
    lacks what the panel uses (test_panel_queries runs those on current ClickHouse)."""
    settings = {n: loaded.stack.settings(n) for n in (None, 1, 2)}
    clients = {
        n: ClickHouseExecutor(clickhouse_client(s, role="migrator", database=loaded.database))
        for n, s in settings.items()
    }
    try:
        ran, refused = 0, 0
        # The clock frozen at the scenario's now: three runs may straddle a minute.
        frozen = f"toDateTime({int(loaded.now.timestamp())})"
        for label, query in panel_queries(loaded.now):
            sql = query.replace("now()", frozen)
            want = outcome(clients[None], sql)
            for node in (1, 2):
                assert outcome(clients[node], sql) == want, f"{label} on replica {node}\n{sql}"
            ran += want[0] == "rows" and want[1].total() > 0
            refused += want[0] == "error"
    finally:
        for client in clients.values():
            client.close()
    print(f"panel queries: {ran} with rows compared, {refused} refused alike by 18.16")
    assert ran >= 50


def test_a_sink_retry_does_not_double_rows_on_replicated_tables(loaded: Loaded) -> None:
    """The same batch written twice (a retry after a lost answer) adds its rows once to the
    replicated tables, counted without FINAL; one server keeps both copies until a merge
    (FINAL hides them there), which is what the keys were for."""
    db, n = loaded.database, 200
    table = f"{db}.events_traffic"
    batch = traffic_batch(loaded.now, n)
    for node, executor in ((1, loaded.replicas[1]), (None, loaded.single)):
        sink = sink_of(loaded.stack.settings(node), db)
        before = raw_count(executor, table)
        sink._write(batch)
        sink._write(batch)  # the retry: same rows, same written_at, so the same block
        added = raw_count(executor, table) - before
        assert added == (n if node else 2 * n), f"{'cluster' if node else 'one server'}: {added}"
    final = f"{table} FINAL"
    assert raw_count(loaded.replicas[1], final) == raw_count(loaded.single, final)
    # Replica 2 holds the rows once too: the block was replicated, not re-inserted.
    wait_until(
        lambda: (
            raw_count(loaded.replicas[2], f"{table}_local")
            == raw_count(loaded.replicas[1], f"{table}_local")
        ),
        30,
        "replica 2 has the batch",
    )


@pytest.mark.faults
def test_one_replica_down_reads_and_writes_go_on(loaded: Loaded) -> None:
    """Replica 2 stopped: replica 1 answers and takes writes; back, it catches up. Replica 1
    killed: the sink's client fails over to replica 2 (clickhouse_alt_hosts), its retry of a
    batch replica 1 had already stored is de-duplicated there, and the answers stay those of
    one server given the same batches."""
    db, stack = loaded.database, loaded.stack
    one, two = loaded.replicas[1], loaded.replicas[2]
    views = ("kpi_traffic_live", "kpi_traffic_by_area", "anomalies_live", "dq_by_source")
    table = f"{db}.events_traffic"
    single_sink = sink_of(stack.settings(None), db)

    t0 = time.monotonic()
    stack.replica("stop", 2)
    print(f"[{time.monotonic() - t0:.1f}] replica 2 stopped")
    for view in views:
        assert answers(one, f"SELECT * FROM {db}.{view}") == answers(
            loaded.single, f"SELECT * FROM {db}.{view}"
        ), view
    while_down = traffic_batch(loaded.now, 150)
    assert write_with_retries(sink_of(stack.settings(1, alt=True), db), while_down) == 1
    single_sink._write(while_down)
    started = time.monotonic()
    stack.replica("start", 2)
    wait_until(
        lambda: replica_counts(two, db) == replica_counts(one, db), 60, "replica 2 caught up"
    )
    print(f"replica 2 back and caught up in {time.monotonic() - started:.1f} s")

    # Replica 1 killed after it stored a batch whose answer the sink "lost": the retry
    # goes to replica 2, which knows the block (ZooKeeper holds its hash) and skips it.
    sink = sink_of(stack.settings(1, alt=True), db)
    lost_answer = traffic_batch(loaded.now, 120)
    sink._write(lost_answer)
    single_sink._write(lost_answer)
    wait_until(
        lambda: replica_counts(two, db) == replica_counts(one, db), 30, "replica 2 has the batch"
    )
    before = raw_count(two, table)
    os.kill(stack.pid(1), signal.SIGKILL)
    attempts = write_with_retries(sink, lost_answer)
    assert raw_count(two, table) == before, "the retry on replica 2 was not de-duplicated"
    after_kill = traffic_batch(loaded.now, 90)
    assert write_with_retries(sink, after_kill) == 1
    single_sink._write(after_kill)
    assert raw_count(two, table) == before + 90
    failover = stack.executor(1, alt=True)  # a reader whose first host is the dead replica
    for view in (*views, "events_traffic FINAL"):
        assert answers(failover, f"SELECT * FROM {db}.{view}") == answers(
            loaded.single, f"SELECT * FROM {db}.{view}"
        ), view
    failover.close()
    print(f"replica 1 killed: the retry took {attempts} attempt(s), then went to replica 2")

    print(f"[{time.monotonic() - t0:.1f}] answers via replica 2 compared")
    stack.replica("start", 1)
    print(f"[{time.monotonic() - t0:.1f}] replica 1 started")
    fresh = stack.executor(1)
    wait_until(
        lambda: replica_counts(fresh, db) == replica_counts(two, db), 90, "replica 1 caught up"
    )
    assert raw_count(fresh, f"{table}_local") == raw_count(two, f"{table}_local")
    fresh.close()
    print(f"[{time.monotonic() - t0:.1f}] replica 1 caught up")
