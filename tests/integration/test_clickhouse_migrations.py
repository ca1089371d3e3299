"""`ioc db migrate` on the real ClickHouse server (18.16) and on chdb (current ClickHouse)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ioc.ops.db.executors import ChdbExecutor, ClickHouseExecutor, SqlExecutor
from ioc.ops.db.migrate import load, migrate
from schemas.timeutil import LOCAL_TZ

pytestmark = pytest.mark.integration

EXPECTED_TABLES = {
    "schema_migrations",
    "erased_subjects",
    "events_qr",
    "events_traffic",
    "events_energy",
    "events_dossier",
    "kpi_traffic",
    "kpi_energy",
    "kpi_qr",
    "kpi_dossier",
    "anomalies",
    "dossier_state",
    "deadletter",
    "areas",
    "entities",
    "generations",
    "area_paths",
    "dq",
}
EXPECTED_VIEWS = {
    "live_generation",
    "kpi_traffic_live",
    "kpi_energy_live",
    "kpi_qr_live",
    "kpi_dossier_live",
    "anomalies_live",
    "dossier_state_latest",
    "group_areas",
    "kpi_traffic_by_area",
    "kpi_energy_by_area",
    "kpi_qr_by_area",
    "qr_distinct_by_area_day",
    "kpi_dossier_by_area",
    "dq_live",
    "dq_by_source",
    "dq_invalid_by_reason",
}
SAMPLE_TIME = datetime(2026, 11, 26, 16, 59, 59, tzinfo=UTC)  # 23:59:59 in Hồ Chí Minh City


def sample(ch_type: str, column: str) -> tuple[Any, str]:
    """A value for a column of this type, and its toString() as the server should print it."""
    inner = re.sub(r"^(Nullable|LowCardinality)\((.*)\)$", r"\2", ch_type)
    inner = re.sub(r"^(Nullable|LowCardinality)\((.*)\)$", r"\2", inner)
    if inner.startswith("Array("):
        value, text = sample(inner.removeprefix("Array(")[:-1], column)
        quoted = isinstance(value, (str, uuid.UUID))
        return [value], f"['{text}']" if quoted else f"[{text}]"
    if inner == "UUID":
        value = uuid.uuid5(uuid.NAMESPACE_URL, column)
        return value, str(value)
    if inner.startswith("DateTime"):
        return SAMPLE_TIME, SAMPLE_TIME.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
    if inner.startswith(("UInt", "Int")):
        return 7, "7"
    if inner.startswith("Float"):
        return 1.5, "1.5"
    if inner.startswith("String"):
        text = f"Bình Phước {column}"
        return text, text
    raise AssertionError(f"no sample for type {ch_type} of {column}")


def columns(executor: SqlExecutor, table: str) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in executor.execute(f"DESCRIBE TABLE {table}")]


def tables(executor: SqlExecutor, database: str, *, views: bool = False) -> set[str]:
    rows = executor.execute(f"SELECT name, engine FROM system.tables WHERE database = '{database}'")
    return {str(name) for name, engine in rows if (str(engine) == "View") == views}


def check_migrate_twice_and_round_trip(executor: SqlExecutor, database: str) -> None:
    first = migrate(executor, database)
    assert [m.number for m in first] == [m.number for m in load()]
    second = migrate(executor, database)
    assert second == [], "a second migrate must apply nothing"
    recorded = executor.execute(f"SELECT count() FROM {database}.schema_migrations")
    assert int(recorded[0][0]) == len(first)
    assert tables(executor, database) == EXPECTED_TABLES
    assert tables(executor, database, views=True) == EXPECTED_VIEWS
    for view in sorted(EXPECTED_VIEWS):
        executor.execute(f"SELECT * FROM {database}.{view} LIMIT 1")

    for table in sorted(EXPECTED_TABLES - {"schema_migrations", "generations"}):
        cols = columns(executor, f"{database}.{table}")
        names = [c for c, _ in cols]
        values, expected = zip(*(sample(t, c) for c, t in cols), strict=True)
        executor.insert(f"{database}.{table}", names, [values])
        got = executor.execute(
            f"SELECT {', '.join(f'toString({c})' for c in names)} FROM {database}.{table}"
        )
        assert len(got) == 1, f"{table}: expected one row, got {got}"
        assert dict(zip(names, map(str, got[0]), strict=True)) == dict(
            zip(names, expected, strict=True)
        ), table


@pytest.fixture
def server_db(clickhouse: ClickHouseExecutor, unique: str) -> Iterator[str]:
    database = f"ioc_test_{unique}"
    yield database
    clickhouse.execute(f"DROP DATABASE IF EXISTS {database}")


def test_migrate_on_real_server(clickhouse: ClickHouseExecutor, server_db: str) -> None:
    version = str(clickhouse.execute("SELECT version()")[0][0])
    assert version.startswith("18."), f"expected Debian's old server here, got {version}"
    check_migrate_twice_and_round_trip(clickhouse, server_db)


def test_migrate_on_chdb(chdb: ChdbExecutor) -> None:
    version = str(chdb.execute("SELECT version()")[0][0])
    assert int(version.split(".")[0]) >= 24
    check_migrate_twice_and_round_trip(chdb, "ioc")


def test_raw_event_key_deduplicates_redelivery(
    clickhouse: ClickHouseExecutor, server_db: str
) -> None:
    """The table key is what makes a redelivered event count once (no insert tokens needed)."""
    migrate(clickhouse, server_db)
    cols = columns(clickhouse, f"{server_db}.events_traffic")
    names = [c for c, _ in cols]
    row = [sample(t, c)[0] for c, t in cols]
    clickhouse.insert(f"{server_db}.events_traffic", names, [row])
    row[names.index("written_at_ms")] = 8
    clickhouse.insert(f"{server_db}.events_traffic", names, [row])
    final = clickhouse.execute(f"SELECT count() FROM {server_db}.events_traffic FINAL")
    assert int(final[0][0]) == 1


def check_anomaly_evidence_on_top_of_0008(executor: SqlExecutor, database: str) -> None:
    """0009 on a database at 0008: its anomalies stay readable, with no band (NULL)."""
    at_0008 = [m for m in load() if m.number <= 8]
    migrate(executor, database, migrations=at_0008)
    old = [c for c, _ in columns(executor, f"{database}.anomalies")]
    assert "expected_low" not in old
    values = [sample(t, c)[0] for c, t in columns(executor, f"{database}.anomalies")]
    values[old.index("generation")] = 1  # the live generation the migrations seed
    executor.insert(f"{database}.anomalies", old, [values])
    assert [m.number for m in migrate(executor, database)] == [m.number for m in load()][8:]
    cols = dict(columns(executor, f"{database}.anomalies"))
    assert (cols["expected_low"], cols["expected_high"]) == ("Nullable(Float64)",) * 2
    assert dict(columns(executor, f"{database}.anomalies_live"))["expected_high"] == (
        "Nullable(Float64)"
    )
    rows = executor.execute(
        f"SELECT observed, expected, expected_low, expected_high FROM {database}.anomalies_live"
    )
    assert [tuple(r) for r in rows] == [(1.5, 1.5, None, None)]


def test_anomaly_evidence_on_top_of_0008_on_real_server(
    clickhouse: ClickHouseExecutor, server_db: str
) -> None:
    check_anomaly_evidence_on_top_of_0008(clickhouse, server_db)


def test_anomaly_evidence_on_top_of_0008_on_chdb(chdb: ChdbExecutor) -> None:
    check_anomaly_evidence_on_top_of_0008(chdb, "ioc")
