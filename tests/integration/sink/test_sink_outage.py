"""ClickHouse away for longer than max.poll.interval.ms — stopped, SIGKILLed mid-insert, or
hung (SIGSTOP) for 60 s — under a steady feed: nothing lost, nothing twice, no rebalance.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from ioc.ops.db.executors import ClickHouseExecutor
from ioc.ops.db.migrate import migrate
from ioc.settings import Settings
from schemas.topics import KPI, TRAFFIC_OBS
from tests.factories import T0, kpi, traffic
from tests.integration.conftest import free_port
from tests.integration.services import PrivateClickHouse
from tests.integration.sink.harness import drive, make_output, produce, unique_topics

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.fixture
def private_clickhouse(tmp_path: Path) -> Iterator[PrivateClickHouse]:
    server = PrivateClickHouse(tmp_path / "stack", free_port(), free_port())
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("fault", ["stopped", "killed", "hung"])
def test_outage_longer_than_poll_interval_loses_nothing_and_keeps_the_group(
    settings: Settings, private_clickhouse: PrivateClickHouse, unique: str, fault: str
) -> None:
    executor = ClickHouseExecutor(private_clickhouse.client(settings, "migrator"))
    database = "ioc"
    migrate(executor, database)
    specs = unique_topics(settings, unique)
    n_events, n_kpis = 3_000, 300

    def feed() -> None:
        # Events keep flowing before, during and after the outage.
        for batch in range(30):
            produce(
                settings,
                specs[TRAFFIC_OBS].name,
                [
                    traffic(sensor_id=f"TS-{i % 40}", observed_at=T0 + timedelta(seconds=i))
                    for i in range(batch * 100, (batch + 1) * 100)
                ],
            )
            produce(
                settings,
                specs[KPI].name,
                [kpi(entity_id=f"TS-{i}", sequence=0) for i in range(batch * 10, (batch + 1) * 10)],
            )
            time.sleep(pause_s)

    feeder = threading.Thread(target=feed, daemon=True)
    outage_s = 60.0 if fault == "hung" else settings.consumer_max_poll_interval_ms / 1000 + 3
    pause_s = max(0.5, (outage_s + 6) / 30)  # the feed outlasts the outage
    restarted = threading.Event()

    def outage() -> None:
        # In its own thread: the sink's loop must keep polling while the server is away.
        time.sleep(2)
        private_clickhouse.fail(fault, outage_s)
        restarted.set()

    def count(table: str) -> int:
        try:
            return int(executor.execute(f"SELECT count() FROM {database}.{table} FINAL")[0][0])
        except Exception:
            return -1

    health_seen: set[bool] = set()

    def done() -> bool:
        return (
            restarted.is_set()
            and count("events_traffic") == n_events
            and count("kpi_traffic") == n_kpis
        )

    sink = make_output(private_clickhouse.settings(settings), specs, database, f"sink-{unique}")
    controller = threading.Thread(target=outage, daemon=True)
    feeder.start()
    controller.start()

    def during(_elapsed: float) -> None:
        health_seen.add(sink.healthy)  # what /health says, read between every two steps

    assert drive(sink, done, timeout_s=outage_s + 90, during=during), (
        count("events_traffic"),
        count("kpi_traffic"),
    )
    feeder.join(timeout=30)
    controller.join(timeout=30)
    assert restarted.is_set()
    assert count("events_traffic") == n_events
    assert count("kpi_traffic") == n_kpis
    assert sink.metrics.retries._value.get() > 0, "the outage was not noticed"
    assert sink.revocations == 0, "the group rebalanced during the outage"
    assert health_seen == {True, False}, "/health did not follow the outage"
    assert sink.healthy
    assert sink.assignments == 1
