"""ioc clickhouse-exporter's collector, on a fake server: names as ClickHouse's built-in
endpoint names them, zeros for the events the rules need, ``clickhouse_up`` 0 while the
server does not answer and a reconnection once it does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from ioc.ops.db.exporter import ClickHouseCollector, families, with_zeros

pytestmark = pytest.mark.unit


class FakeServer:
    def __init__(self) -> None:
        self.down = False
        self.connections = 0
        self.closed = 0

    def connect(self) -> FakeServer:
        if self.down:
            raise ConnectionRefusedError("connection refused")
        self.connections += 1
        return self

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        if self.down:
            raise TimeoutError("timed out")
        if "system.metrics" in sql:
            return [("Query", 2.0), ("TCPConnection", 1.0)]
        if "system.events" in sql:
            return [("Query", 17.0), ("FailedInsertQuery", 3.0)]
        return [("MaxPartCountForPartition", 12.0), ("jemalloc.resident", 5.0)]

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        raise AssertionError("the exporter never writes")

    def close(self) -> None:
        self.closed += 1


def scrape(collector: ClickHouseCollector) -> dict[str, str]:
    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    return dict(
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


def test_names_and_types_are_the_built_in_endpoints() -> None:
    server = FakeServer()
    found = scrape(ClickHouseCollector(server.connect))
    assert found["clickhouse_up"] == "1.0"
    assert found["ClickHouseMetrics_TCPConnection"] == "1.0"
    assert found["ClickHouseProfileEvents_Query"] == "17.0"  # no _total: the server's name
    assert found["ClickHouseProfileEvents_FailedInsertQuery"] == "3.0"
    assert found["ClickHouseAsyncMetrics_MaxPartCountForPartition"] == "12.0"
    assert found["ClickHouseAsyncMetrics_jemalloc_resident"] == "5.0"  # "." is not a name
    # Events the rules read exist before they first happen.
    assert found["ClickHouseProfileEvents_RejectedInserts"] == "0.0"


def test_a_server_that_does_not_answer_is_up_0_and_is_reconnected() -> None:
    server = FakeServer()
    collector = ClickHouseCollector(server.connect)
    assert scrape(collector)["clickhouse_up"] == "1.0"
    server.down = True
    found = scrape(collector)
    assert found == {"clickhouse_up": "0.0"}
    assert server.closed == 1  # the broken connection is dropped
    assert scrape(collector) == {"clickhouse_up": "0.0"}  # connecting fails too
    server.down = False
    assert scrape(collector)["clickhouse_up"] == "1.0"
    assert server.connections == 2


def test_with_zeros_keeps_the_values_it_has() -> None:
    assert with_zeros([("Query", 4)], ["Query", "FailedQuery"]) == [
        ("Query", 4.0), ("FailedQuery", 0.0)
    ]  # fmt: skip


def test_families_type_events_untyped_and_the_rest_as_gauges() -> None:
    (event,) = families("ClickHouseProfileEvents_", [("Query", 1)])
    (gauge,) = families("ClickHouseMetrics_", [("Query", 1)])
    assert (event.type, gauge.type) == ("unknown", "gauge")
