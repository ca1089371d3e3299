"""Issue 17's fault-injection suite: every fault of the issue injected, one after another,
into one pipeline run under a steady feed through the real connectors, and at the end
every event row and every KPI row reconciled: 0 lost, 0 counted twice (docs/faults.md).

The feed (feed.py) is one seeded scenario dated by tests/clock.py: QR scans through the
HTTP gateway, traffic and energy readings over MQTT, dossier changes through the
PostgreSQL outbox. Behind the connectors run ``ioc worker`` and ``ioc sink``, writing to a
private ClickHouse. While the feed runs:

1. ClickHouse is hung (SIGSTOP) for 60 s; meanwhile, one after another,
2. Mosquitto is restarted (the bridge's QoS 1 session must survive, with messages in it),
3. PostgreSQL is restarted while the poller polls,
4. the gateway gets SIGTERM with a request in flight, and a new one is started;
5. then ClickHouse is SIGKILLed during an insert and restarted,
6. then the sink is SIGKILLed during its insert and restarted.

Each fault's time to recover is measured and printed as a table (``pytest -s``; also in
tmp_path/logs/recovery.txt and in every failure message).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.sources.mqtt.security import TEST_ACCOUNT
from ioc.settings import Settings
from ioc.wiring.connectors import device_login, pg_conninfo
from schemas.base import Event
from schemas.privacy import PiiHasher
from schemas.results import Domain
from tests.integration.faults import faults as fault
from tests.integration.faults.feed import (
    HttpFeeder,
    MqttFeeder,
    OutboxFeeder,
    Pace,
    scenario_streams,
)
from tests.integration.faults.pipeline import QR_APP, Pipeline, open_pipeline, until
from tests.integration.faults.reconcile import (
    event_problems,
    expected_kpis,
    kafka_problems,
    kpi_problems,
    places,
    settle,
    source_logs,
)
from tests.integration.faults.tail import KafkaTail
from tests.integration.streams.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.scenario_date, pytest.mark.faults]

SPAN_S = 100.0
"""Wall time the feed is spread over: it must outlast the faults up to the sink's kill."""
SEED = 41


@pytest.fixture
def pipeline(kafka_ready: Settings, unique: str, tmp_path: Path) -> Iterator[Pipeline]:
    p = open_pipeline(unique, tmp_path)
    try:
        p.start()
        yield p
    finally:
        p.close()


def interleave(*streams: list[Event]) -> list[Event]:
    """One device feed of several streams, each in its own order, evenly mixed."""
    ranked = [(i / len(s), n, e) for n, s in enumerate(streams) for i, e in enumerate(s)]
    return [e for _, _, e in sorted(ranked, key=lambda r: (r[0], r[1]))]


def test_every_fault_under_a_steady_feed_loses_and_doubles_nothing(
    pipeline: Pipeline, settings: Settings
) -> None:
    p = pipeline
    topic = {d: p.stack.source(d) for d in Domain}
    streams = scenario_streams(SEED)
    pace = Pace(time.monotonic(), SPAN_S)
    http = HttpFeeder(
        streams[Domain.QR], pace, base_url=f"http://127.0.0.1:{p.http_port}",
        api_key=p.api_key, source=QR_APP,
        hasher=PiiHasher(settings.pii_hmac_key.get_secret_value().encode(), settings.pii_key_id),
    )  # fmt: skip
    mqtt = MqttFeeder(
        interleave(streams[Domain.TRAFFIC], streams[Domain.ENERGY]), pace,
        port=p.mosquitto.port, login=device_login(p.settings, TEST_ACCOUNT),
        topics={Domain.TRAFFIC: p.settings.mqtt_traffic_topics,
                Domain.ENERGY: p.settings.mqtt_energy_topics},
    )  # fmt: skip
    outbox = OutboxFeeder(
        streams[Domain.DOSSIER], pace, conninfo=pg_conninfo(p.settings),
        schema=p.settings.outbox_schema,
    )  # fmt: skip
    feeders = [http, mqtt, outbox]
    tail = KafkaTail(p.settings, {topic[d]: "event_id" for d in Domain} | {
        topic[Domain.DOSSIER]: "outbox_id"
    })  # fmt: skip
    rows: list[fault.Recovery] = []
    report = ""
    began = time.monotonic()
    tail.start()
    for feeder in feeders:
        feeder.start()
    try:
        until(p.committed, 60, "the sink's first write", p)
        hang = fault.Hang(p)
        hang.start()
        fault.feeding(*feeders)
        rows.append(fault.mosquitto_restarted(p, mqtt, tail, [topic[Domain.TRAFFIC],
                                                               topic[Domain.ENERGY]]))  # fmt: skip
        rows.append(fault.postgres_restarted(p, outbox, tail, topic[Domain.DOSSIER]))
        rows.append(fault.gateway_sigterm(p, http, tail, topic[Domain.QR]))
        rows.append(hang.result())
        fault.feeding(*feeders)
        rows.append(fault.clickhouse_killed(p))
        fault.feeding(*feeders)
        rows.append(fault.sink_killed(p))

        settle(p, feeders, tail)
        logs = source_logs(p)
        problems, copies = kafka_problems(logs, http, mqtt, outbox)
        client = p.clickhouse.client(p.settings, "migrator")
        found, events = event_problems(client.execute, http, mqtt, outbox, places(logs))
        problems += found
        expected = expected_kpis(logs)
        kpis: dict[str, int] = {}

        def kpis_equal() -> bool:
            # The sink's last batch may still be on its way: polled a little.
            nonlocal found, kpis
            found, kpis = kpi_problems(client.execute, expected)
            return not found

        with contextlib.suppress(pytest.fail.Exception):  # the differing rows are the failure
            wait_for(kpis_equal, 20, "the KPI rows to equal the reference", 1.0)
        problems += found
        rewritten = events.pop("rewritten")
        report = fault.table(rows) + (
            f"\nreconciled: event rows {_counts(events)} = the accepted events "
            f"({rewritten} duplicate rows before OPTIMIZE, {copies} copies in Kafka); "
            f"KPI rows {_counts(kpis)} = the reference's "
            f"{sum(len(w) for w in expected.values())} windows; run {time.monotonic() - began:.0f} s"
        )
    finally:
        for feeder in feeders:
            feeder.halt.set()
        tail.stop()
        report = report or fault.table(rows) + "\n(stopped before the reconciliation)"
        print(f"\n{report}")
        (p.stack.log_dir / "recovery.txt").write_text(report + "\n")
    assert not problems, f"{report}\n{len(problems)} differences:\n" + "\n".join(problems[:60])


def _counts(tables: dict[str, int]) -> str:
    return ", ".join(f"{name.split('_', 1)[1]} {n}" for name, n in tables.items())
