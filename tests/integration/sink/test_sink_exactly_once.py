"""Every record lands once, a replay changes nothing, a poison row is dead-lettered alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ioc.ops.db.executors import ClickHouseExecutor
from ioc.settings import Settings
from schemas.privacy import MAX_PAYLOAD
from schemas.topics import (
    ANOMALIES,
    DEADLETTER,
    DOSSIER_STATUS,
    ENERGY_READINGS,
    KPI,
    QR_SCANS,
    TRAFFIC_OBS,
)
from tests.factories import (
    T0,
    anomaly,
    dead_letter,
    dossier,
    energy,
    kpi,
    qr_scan,
    subject_hash,
    traffic,
)
from tests.integration.sink.harness import drive, end_offsets, make_output, produce, unique_topics

pytestmark = pytest.mark.integration


def count(ch: ClickHouseExecutor, database: str, table: str, where: str = "1") -> int:
    return int(ch.execute(f"SELECT count() FROM {database}.{table} FINAL WHERE {where}")[0][0])


def test_sink_writes_each_record_once_and_a_replay_changes_nothing(
    settings: Settings, clickhouse: ClickHouseExecutor, database: str, unique: str
) -> None:
    specs = unique_topics(settings, unique)
    minute = timedelta(minutes=1)
    traffic_events = [
        traffic(sensor_id=f"TS-{i % 7}", observed_at=T0 + i * minute) for i in range(300)
    ]
    qr_events = [
        qr_scan(subject_hash=subject_hash(str(i)), scanned_at=T0 + i * minute) for i in range(60)
    ]
    energy_events = [energy(meter_id=f"EM-{i % 5}", measured_at=T0 + i * minute) for i in range(80)]
    dossier_events = [
        dossier(
            dossier_id=f"D-{i % 10}",
            outbox_id=i,
            status="received" if i < 10 else "completed",
            changed_at=T0 + i * minute,
        )
        for i in range(25)
    ]
    # One window emitted three times (sequence 0, 1, 2): one row, the last version.
    kpis = [kpi(entity_id=f"TS-{i}", sequence=0) for i in range(10)] + [
        kpi(entity_id="TS-0", sequence=s, parts={**kpi().parts.model_dump(), "vehicles": 40 + s})
        for s in (1, 2)
    ]
    # an-0 carries a one-sided band (its evidence), the others none (as older records).
    band = {"expected": 198.0, "expected_low": 198.0}
    anomalies = [anomaly(anomaly_id=f"an-{i}", sequence=0) for i in range(4)] + [
        anomaly(anomaly_id="an-0", sequence=1, state="resolved", ended_at=T0 + minute, **band)
    ]
    letters = [dead_letter(offset=i) for i in range(3)]

    produce(settings, specs[TRAFFIC_OBS].name, traffic_events + traffic_events[:50])  # redelivered
    raw_pii = b'{"source": 1, "citizen_id": "079201001234", "note": "plate 61A-123.45"}'
    produce(settings, specs[TRAFFIC_OBS].name, [b"{not json 079201001234", b"\xff\xfe", raw_pii])
    produce(settings, specs[QR_SCANS].name, qr_events)
    produce(settings, specs[ENERGY_READINGS].name, energy_events)
    produce(settings, specs[DOSSIER_STATUS].name, dossier_events)
    produce(settings, specs[KPI].name, kpis)
    produce(settings, specs[ANOMALIES].name, anomalies)
    produce(settings, specs[DEADLETTER].name, letters)
    # What an attacker (or a broken tool) can write into the result topics the sink reads.
    hostile = [
        b'{"entity_id": ' + b"[" * 900 + b"]" * 900 + b"}",  # orjson parses it
        b"[" * 5_000,
        b"\xff\xfe\x00 not utf-8",
        b'{"parts": {"vehicles": 1e999}}',
        b'{"entity_id": "' + b"x" * 1_000_000 + b'"}',  # a megabyte
        b'{"entity_id": "a", "entity_id": "b"}',
    ]
    for name in (KPI, ANOMALIES):
        produce(settings, specs[name].name, hostile)

    expected = {
        "events_traffic": 300,
        "events_qr": 60,
        "events_energy": 80,
        "events_dossier": 25,
        "dossier_state": 10,
        "kpi_traffic": 10,
        "anomalies": 4,
        "deadletter": 3 + 3 + 2 * 6,
    }

    def all_written() -> bool:
        return all(count(clickhouse, database, t) >= n for t, n in expected.items())

    sink = make_output(settings, specs, database, f"sink-{unique}")
    assert drive(sink, all_written, timeout_s=60), {
        t: count(clickhouse, database, t) for t in expected
    }
    assert {t: count(clickhouse, database, t) for t in expected} == expected
    assert sink.revocations == 0

    # The latest version wins, whatever order the sink saw them in.
    vehicles = clickhouse.execute(
        f"SELECT vehicles FROM {database}.kpi_traffic_live WHERE entity_id = 'TS-0'"
    )
    assert vehicles == [(42,)]
    assert clickhouse.execute(
        f"SELECT state FROM {database}.anomalies_live WHERE anomaly_id = 'an-0'"
    ) == [("resolved",)]
    # Its evidence reads back from the live view, the band's missing side as NULL.
    assert clickhouse.execute(
        "SELECT anomaly_id, observed, expected, expected_low, expected_high, score, detector "
        f"FROM {database}.anomalies_live WHERE anomaly_id IN ('an-0', 'an-1') ORDER BY anomaly_id"
    ) == [
        ("an-0", 190.0, 198.0, 198.0, None, 0.9, "threshold"),
        ("an-1", 190.0, 220.0, None, None, 0.9, "threshold"),
    ]
    # dossier_state: the highest outbox id per dossier decides; completed is not open.
    assert count(clickhouse, database, "dossier_state", "is_open = 1") == 0
    # Bad input is data: dead-lettered with a reason, not dropped.
    reasons = dict(
        clickhouse.execute(
            f"SELECT reason, count() FROM {database}.deadletter FINAL "
            f"WHERE source_topic = '{specs[TRAFFIC_OBS].name}' GROUP BY reason"
        )
    )
    assert reasons == {"invalid_json": 2, "validation": 1}
    for name in (KPI, ANOMALIES):
        rows = clickhouse.execute(
            f"SELECT reason, length(payload) FROM {database}.deadletter FINAL "
            f"WHERE source_topic = '{specs[name].name}'"
        )
        assert sorted(r for r, _ in rows) == sorted(
            ["too_deep", "invalid_json", "invalid_json", "invalid_json", "validation", "validation"]
        ), (name, rows)
        assert max(n for _, n in rows) <= MAX_PAYLOAD  # the megabyte is cut
    # Masked like every dead letter: no raw citizen id or plate is stored.
    payloads = " ".join(
        p for (p,) in clickhouse.execute(f"SELECT payload FROM {database}.deadletter FINAL")
    )
    assert "<redacted>" in payloads
    assert "079201001234" not in payloads
    assert "61A-123.45" not in payloads
    # written_at_ms is stamped, at or after the event time.
    assert clickhouse.execute(
        f"SELECT min(written_at_ms >= event_time_ms) FROM {database}.events_traffic"
    ) == [(1,)]

    # Replay everything under a new group: the tables' keys collapse it.
    replay = make_output(settings, specs, database, f"replay-{unique}")
    ends = end_offsets(settings, [s.name for s in specs.values()])
    assert drive(replay, lambda: replay.committed == ends, 60), (replay.committed, ends)
    assert {t: count(clickhouse, database, t) for t in expected} == expected


def test_poison_row_is_dead_lettered_and_its_batch_mates_written(
    settings: Settings, clickhouse: ClickHouseExecutor, database: str, unique: str
) -> None:
    specs = unique_topics(settings, unique)
    good = [traffic(sensor_id=f"TS-{i}") for i in range(20)]
    # Valid by contract, but before 1970: the DateTime/UInt64 columns cannot hold it.
    poison = traffic(sensor_id="TS-poison", observed_at=datetime(1969, 12, 31, tzinfo=UTC))
    produce(settings, specs[TRAFFIC_OBS].name, [*good[:10], poison, *good[10:]])

    def written() -> bool:
        return (
            count(clickhouse, database, "events_traffic") >= 20
            and count(clickhouse, database, "deadletter") >= 1
        )

    sink = make_output(settings, specs, database, f"sink-{unique}")
    assert drive(sink, written, timeout_s=60)
    assert count(clickhouse, database, "events_traffic") == 20
    assert count(clickhouse, database, "events_traffic", "sensor_id = 'TS-poison'") == 0
    rows = clickhouse.execute(
        f"SELECT reason, source_offset, error FROM {database}.deadletter FINAL"
    )
    assert len(rows) == 1
    reason, offset, error = rows[0]
    assert reason == "clickhouse_rejected"
    assert offset == 10
    assert "events_traffic" in error
