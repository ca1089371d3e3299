"""The sink's pure parts: row mapping, batch bookkeeping, poison bisection."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from clickhouse_driver import errors as ch_errors

from connectors.sinks.clickhouse.batch import Batch
from connectors.sinks.clickhouse.rows import COLUMNS, Origin, rows_for
from connectors.sinks.clickhouse.writer import OutageError, TableWriter, is_poison
from tests.factories import anomaly, dead_letter, dossier, energy, kpi, qr_scan, traffic

pytestmark = pytest.mark.unit

ORIGIN = Origin("ioc.traffic.obs.v1", 2, 41)


@pytest.mark.parametrize(
    "value", [traffic(), qr_scan(), energy(), dossier(), kpi(), anomaly(), dead_letter()]
)
def test_every_row_has_its_table_columns(value: Any) -> None:
    for table, row in rows_for(value, ORIGIN, 123):
        assert len(row) == len(COLUMNS[table]), table
        assert row[COLUMNS[table].index("written_at_ms")] == 123


def test_an_anomaly_row_carries_its_evidence() -> None:
    cols = COLUMNS["anomalies"]
    (_, row) = rows_for(anomaly(expected=198.0, expected_low=198.0), ORIGIN, 0)[0]
    evidence = ("observed", "expected", "expected_low", "expected_high", "score", "detector")
    assert {c: row[cols.index(c)] for c in evidence} == {
        "observed": 190.0,
        "expected": 198.0,
        "expected_low": 198.0,
        "expected_high": None,  # no bound on that side: NULL
        "score": 0.9,
        "detector": "threshold",
    }


def test_dossier_event_also_updates_state() -> None:
    tables = [t for t, _ in rows_for(dossier(status="completed"), ORIGIN, 0)]
    assert tables == ["events_dossier", "dossier_state"]
    (_, state) = rows_for(dossier(status="completed"), ORIGIN, 0)[1]
    assert state[COLUMNS["dossier_state"].index("is_open")] == 0
    (_, state) = rows_for(dossier(status="processing"), ORIGIN, 0)[1]
    assert state[COLUMNS["dossier_state"].index("is_open")] == 1


def test_raw_events_carry_their_kafka_position() -> None:
    (_, row) = rows_for(traffic(), ORIGIN, 0)[0]
    cols = COLUMNS["events_traffic"]
    assert (row[cols.index("kafka_partition")], row[cols.index("kafka_offset")]) == (2, 41)


def test_dead_letter_id_is_its_position_in_the_dead_letter_topic() -> None:
    (_, row) = rows_for(dead_letter(), Origin("ioc.deadletter.v1", 0, 7), 0)[0]
    assert row[0] == "ioc.deadletter.v1/0/7"


def test_batch_offsets_are_next_to_consume_and_due_by_size_or_age() -> None:
    batch = Batch(started=100.0)
    assert not batch.is_due(10, 1.0, now=200.0), "an empty batch is never due"
    batch.add("events_traffic", (1,), ORIGIN)
    batch.covered("t", 0, 5)
    batch.covered("t", 0, 3)
    assert batch.offsets == {("t", 0): 6}
    assert not batch.is_due(10, 1.0, now=100.5)
    assert batch.is_due(10, 1.0, now=101.0)
    assert batch.is_due(1, 99.0, now=100.0)
    batch.drop_partitions({("t", 0)})
    assert batch.offsets == {}


class FakeClient:
    """Refuses any insert that contains a row whose first value is 'bad'."""

    def __init__(self, outage: bool = False) -> None:
        self.outage = outage
        self.inserted: list[Any] = []

    def execute(self, query: str, params: Any = None, **kwargs: Any) -> Any:
        if self.outage:
            raise ch_errors.NetworkError("Connection refused")
        if "bad" in params[0]:
            raise struct.error("argument out of range")
        self.inserted.extend(params[0])
        return None


def test_poison_rows_are_isolated_and_the_rest_written() -> None:
    client = FakeClient()
    rows = [(v,) for v in ["a", "bad", "b", "c", "bad", "d", "e"]]
    rejected = TableWriter(client, "db").write("deadletter", [r + ("",) * 10 for r in rows])
    assert [r.index for r in rejected] == [1, 4]
    assert sorted(client.inserted) == ["a", "b", "c", "d", "e"]


def test_an_outage_is_not_mistaken_for_poison() -> None:
    with pytest.raises(OutageError):
        TableWriter(FakeClient(outage=True), "db").write("deadletter", [("a",) + ("",) * 10])
    assert not is_poison(ch_errors.NetworkError("down"))
    assert not is_poison(ch_errors.ServerException("too many parts", code=252))
    assert is_poison(ch_errors.TypeMismatchError("Column event_time: argument out of range"))


class _Recording:
    def __init__(self) -> None:
        self.inserts: list[tuple[str, list[list[Any]]]] = []

    def execute(self, query: str, params: Any = None, **kwargs: Any) -> Any:
        self.inserts.append((query, params))


def test_written_at_is_stamped_at_insert_not_at_buffering() -> None:
    client = _Recording()
    writer = TableWriter(client, "db", clock=lambda: 5_000)
    rows = [row for _, row in rows_for(traffic(), ORIGIN, 123)]
    assert writer.write("events_traffic", rows) == []
    (_, data) = client.inserts[0]
    assert data[COLUMNS["events_traffic"].index("written_at_ms")] == [5_000]


def test_a_retry_sends_the_same_block_as_its_first_attempt() -> None:
    """The stamp of the first attempt is kept: the same rows make the same block, which a
    replicated table de-duplicates (decision 0036)."""
    client = _Recording()
    ticks = iter(range(5_000, 6_000))
    writer = TableWriter(client, "db", clock=lambda: next(ticks))
    rows = [row for _, row in rows_for(traffic(), ORIGIN, 123)]
    writer.write("events_traffic", rows, written_at=4_242)
    writer.write("events_traffic", rows, written_at=4_242)
    first, retry = client.inserts
    assert first == retry
    assert first[1][COLUMNS["events_traffic"].index("written_at_ms")] == [4_242]
