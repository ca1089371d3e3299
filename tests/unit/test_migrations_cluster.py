"""The migrations rendered for a named cluster (ioc.ops.db.cluster, decision 0036)."""

from __future__ import annotations

import re

import pytest

from ioc.errors import MigrationError
from ioc.ops.db.cluster import (
    check_one_shard,
    for_cluster,
    registry_ddl,
    shard_key,
    shard_keys,
)
from ioc.ops.db.executors import CLUSTER_CLIENT_SETTINGS, clickhouse_client
from ioc.ops.db.migrate import ServerFeatures, load, render
from ioc.settings import settings_for_tests

pytestmark = pytest.mark.unit

PARAMS = {"db": "ioc", "raw_retention_days": 90}


def _all(features: ServerFeatures) -> list[list[str]]:
    return [render(m.text, features, PARAMS) for m in load()]


@pytest.mark.parametrize("version", ["18.16.1", "26.9.2.1"])
def test_every_shipped_statement_has_a_cluster_form(version: str) -> None:
    per_file = _all(ServerFeatures.from_version(version))
    keys = shard_keys(s for statements in per_file for s in statements)
    created = set()
    for statements in per_file:
        for statement in for_cluster(statements, "c1", keys):
            if statement.startswith("INSERT"):
                assert "_local" not in statement  # through the Distributed table
                continue
            if statement.startswith("ALTER"):  # replicated by the table itself
                assert re.match(r"ALTER TABLE ioc\.\w+_local (ADD|MODIFY) COLUMN ", statement)
                continue
            assert re.search(r" ON CLUSTER c1(\s|$)", statement), statement
            if match := re.match(r"CREATE TABLE IF NOT EXISTS ioc\.(\w+) ON CLUSTER", statement):
                created.add(match[1])
            if "MergeTree" in statement:
                assert "ENGINE = Replicated" in statement, statement
                assert "'/clickhouse/tables/{shard}/ioc/" in statement
            if statement.startswith("CREATE VIEW"):
                assert re.search(r"(?<!GLOBAL) IN \(SELECT", statement) is None, statement
    tables = {name.split(".")[1] for name in keys}
    # Every table: a replicated data table and a Distributed table under the old name.
    assert created == tables | {f"{t}_local" for t in tables}
    assert {"kpi_traffic", "generations"} <= tables


def test_a_create_keeps_its_version_column_and_clauses() -> None:
    statement = (
        "CREATE TABLE IF NOT EXISTS ioc.kpi_x\n(a String, v UInt64, generation UInt32, "
        "t DateTime('Asia/Ho_Chi_Minh'))\nENGINE = ReplacingMergeTree(v)\n"
        "PARTITION BY toYYYYMM(t)\nORDER BY (a, t, generation)"
    )
    local, dist = for_cluster([statement], "c1", {})
    assert local.startswith("CREATE TABLE IF NOT EXISTS ioc.kpi_x_local ON CLUSTER c1\n(a String")
    assert (
        "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ioc/kpi_x_local', "
        "'{replica}', v)\nPARTITION BY toYYYYMM(t)\nORDER BY (a, t, generation)"
    ) in local
    assert dist == (
        "CREATE TABLE IF NOT EXISTS ioc.kpi_x ON CLUSTER c1 AS ioc.kpi_x_local "
        "ENGINE = Distributed(c1, ioc, kpi_x_local, cityHash64(a, t))"
    )


def test_rows_that_replace_each_other_share_a_shard() -> None:
    assert shard_key("ORDER BY (c, event_time, event_id)") == "cityHash64(c, event_time)"
    assert shard_key("ORDER BY (anomaly_id, generation)") == "cityHash64(anomaly_id)"
    assert shard_key("ORDER BY generation") == "cityHash64(generation)"
    assert shard_key("ORDER BY dossier_id") == "cityHash64(dossier_id)"
    with pytest.raises(MigrationError):
        shard_key("ENGINE = Log")


def test_alters_change_the_data_table_then_recreate_the_distributed_one_once() -> None:
    keys = {"ioc.t": "cityHash64(a)"}
    out = for_cluster(
        [
            "ALTER TABLE ioc.t ADD COLUMN x UInt8",
            "ALTER TABLE ioc.t ADD COLUMN y UInt8",
            "DROP TABLE IF EXISTS ioc.v",
            "CREATE VIEW IF NOT EXISTS ioc.v AS SELECT * FROM ioc.t FINAL WHERE g IN (SELECT 1)",
        ],
        "c1",
        keys,
    )
    assert out == [
        "ALTER TABLE ioc.t_local ADD COLUMN x UInt8",
        "ALTER TABLE ioc.t_local ADD COLUMN y UInt8",
        "DROP TABLE IF EXISTS ioc.t ON CLUSTER c1",
        "CREATE TABLE IF NOT EXISTS ioc.t ON CLUSTER c1 AS ioc.t_local "
        "ENGINE = Distributed(c1, ioc, t_local, cityHash64(a))",
        "DROP TABLE IF EXISTS ioc.v ON CLUSTER c1",
        "CREATE VIEW IF NOT EXISTS ioc.v ON CLUSTER c1 AS SELECT * FROM ioc.t FINAL "
        "WHERE g GLOBAL IN (SELECT 1)",
    ]
    with pytest.raises(MigrationError, match="no migration creates"):
        for_cluster(["ALTER TABLE ioc.u ADD COLUMN x UInt8"], "c1", keys)


def test_only_a_known_cluster_of_one_shard_is_accepted() -> None:
    check_one_shard([(1, 1), (1, 2), (1, 3)], "c1")
    with pytest.raises(MigrationError, match="no cluster 'c1'"):
        check_one_shard([], "c1")
    with pytest.raises(MigrationError, match="2 shards"):
        check_one_shard([(1, 1), (2, 1)], "c1")


def test_a_statement_without_a_cluster_form_is_refused() -> None:
    with pytest.raises(MigrationError, match="no cluster form"):
        for_cluster(["RENAME TABLE ioc.a TO ioc.b"], "c1", {})


def test_the_registry_is_one_copy_on_every_node() -> None:
    database, table = registry_ddl("ioc", "c1")
    assert database == "CREATE DATABASE IF NOT EXISTS ioc ON CLUSTER c1"
    assert "ReplicatedMergeTree('/clickhouse/tables/all/ioc/schema_migrations', '{replica}')" in (
        table
    )


def test_cluster_clients_fail_over_and_insert_synchronously() -> None:
    one = clickhouse_client(settings_for_tests(), role="migrator")
    assert list(one.connection.hosts) == [("127.0.0.1", 9440)]  # TLS (decision 0037)
    assert "insert_distributed_sync" not in one.settings
    cluster = clickhouse_client(
        settings_for_tests(clickhouse_cluster="c1", clickhouse_alt_hosts="127.0.0.1:9450"),
        role="sink",
    )
    assert list(cluster.connection.hosts) == [("127.0.0.1", 9440), ("127.0.0.1", 9450)]
    assert cluster.settings == CLUSTER_CLIENT_SETTINGS


def test_a_cluster_name_is_an_identifier() -> None:
    with pytest.raises(ValueError, match="clickhouse_cluster"):
        settings_for_tests(clickhouse_cluster="c1; DROP")
