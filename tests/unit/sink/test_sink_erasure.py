"""Erasure that a replay cannot undo (decision 0041): the pure parts.

The erased set's decisions, the sink's row filter and its register refresh, the
``ioc db erase`` register rows and reason, and the sink dropping (and counting) rows
of an erased subject before it writes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from connectors.sinks.clickhouse.batch import Batch
from connectors.sinks.clickhouse.erasure import ErasureRegister, keep
from connectors.sinks.clickhouse.metrics import SinkMetrics
from connectors.sinks.clickhouse.rows import COLUMNS, Origin, rows_for
from connectors.sinks.clickhouse.sink import ClickHouseSink, SinkConfig
from connectors.sinks.clickhouse.writer import OutageError, TableWriter
from ioc.errors import MigrationError
from ioc.ops.db.erasure import REGISTER_COLUMNS, Erasure, clean_reason, record
from schemas.erasure import ErasedSet
from schemas.timeutil import to_ms
from tests.factories import T0, dead_letter, dossier, qr_scan, subject_hash, traffic

pytestmark = pytest.mark.unit

GONE, STAYS = subject_hash("079201000001"), subject_hash("079201000002")
UNTIL = to_ms(T0) + 60_000
ERASED = ErasedSet.of([(GONE, UNTIL - 1), (GONE, UNTIL)])
ORIGIN = Origin("t", 0, 1)


def test_a_hash_is_erased_up_to_its_cover_and_new_events_are_new_data() -> None:
    assert len(ERASED) == 1
    assert ERASED.until_ms[GONE] == UNTIL  # erased twice: the latest cover
    assert ERASED.covers(GONE, UNTIL)
    assert not ERASED.covers(GONE, UNTIL + 1)  # a later scan, a plate given to another car
    assert not ERASED.covers(STAYS, 0)
    assert not ERASED.covers(None, 0)


def test_free_text_and_raw_records_are_searched_for_standalone_hashes() -> None:
    assert ERASED.named_in(f'{{"subject_hash": "{GONE}"}}')
    assert not ERASED.named_in(f"{STAYS} and a{GONE}")  # inside a longer hex run: no hash
    assert not ErasedSet().named_in(GONE)
    record = qr_scan(subject_hash=GONE).model_dump_json().encode()
    assert ERASED.names_in_record(record, UNTIL)
    assert not ERASED.names_in_record(record, UNTIL + 1)
    assert not ERASED.names_in_record(None, 0)
    assert not ERASED.names_in_record(qr_scan(subject_hash=STAYS).model_dump_json().encode(), 0)


def _rows(*values: Any) -> tuple[str, list[Any]]:
    pairs = [rows_for(v, ORIGIN, 0)[0] for v in values]  # a dossier's event row, not its state
    assert len({t for t, _ in pairs}) == 1
    return pairs[0][0], [row for _, row in pairs]


def test_the_sink_keeps_rows_of_everyone_else() -> None:
    table, rows = _rows(qr_scan(subject_hash=GONE), qr_scan(subject_hash=STAYS),
                        qr_scan(subject_hash=GONE, scanned_at=T0 + timedelta(hours=1)))  # fmt: skip
    kept, origins, dropped = keep(ERASED, table, rows, [ORIGIN] * 3)
    assert dropped == 1
    assert kept == rows[1:]  # the later scan is new data
    assert len(origins) == 2

    table, rows = _rows(dossier(applicant_hash=GONE), dossier(applicant_hash=None))
    assert keep(ERASED, table, rows, [ORIGIN] * 2)[2] == 1

    payload = f'{{"subject_hash": "{GONE}", "scanned_at": "2026-11-26"}}'
    table, rows = _rows(dead_letter(payload=payload), dead_letter())
    kept, _, dropped = keep(ERASED, table, rows, [ORIGIN] * 2)
    assert (dropped, kept) == (1, rows[1:])

    table, rows = _rows(traffic())  # names no one
    assert keep(ERASED, table, rows, [ORIGIN]) == (rows, [ORIGIN], 0)
    table, rows = _rows(qr_scan(subject_hash=GONE))
    assert keep(ErasedSet(), table, rows, [ORIGIN])[2] == 0


class Register:
    """A ClickHouse client holding a register and recording inserts."""

    def __init__(self, rows: list[tuple[str, int, int]]) -> None:
        self.rows = rows  # (hash, erased_at_ms, until_ms)
        self.queries: list[str] = []
        self.inserted: dict[str, list[Any]] = {}
        self.down = False

    def execute(self, query: str, params: Any = None, **kwargs: Any) -> Any:
        if self.down:
            raise ConnectionRefusedError("connection refused")
        self.queries.append(query)
        if query.startswith("INSERT"):
            table = query.split()[2].split(".")[1]
            self.inserted.setdefault(table, []).extend(zip(*params, strict=True))
            return None
        if "count()" in query:
            return [(len(self.rows), max((r[1] for r in self.rows), default=0))]
        assert "GROUP BY subject_hash" in query
        return [(h, u) for h, _, u in self.rows]


def test_the_register_is_reloaded_only_when_it_changed() -> None:
    client = Register([(GONE, 1, UNTIL)])
    register = ErasureRegister(client, "db")
    assert register.refresh().covers(GONE, UNTIL)
    assert register.refresh().covers(GONE, UNTIL)
    assert register.reloads == 1  # the second check was one small query
    assert len(client.queries) == 3
    client.rows.append((STAYS, 2, UNTIL))
    assert register.refresh().covers(STAYS, 0)
    assert register.reloads == 2


def _sink(client: Register) -> ClickHouseSink:
    return ClickHouseSink(
        SinkConfig(kafka={}, group_id="ioc-sink-test"),
        TableWriter(client, "db"),
        {},
        SinkMetrics(CollectorRegistry()),
    )


def test_the_sink_drops_and_counts_rows_of_an_erased_subject_before_each_write() -> None:
    client = Register([])
    sink = _sink(client)
    batch = Batch()
    for value in (qr_scan(subject_hash=GONE), qr_scan(subject_hash=STAYS)):
        for table, row in rows_for(value, ORIGIN, 0):
            batch.add(table, row, ORIGIN)
    client.rows.append((GONE, 1, UNTIL))  # erased after the rows were buffered
    sink._write(batch)
    hashes = [r[COLUMNS["events_qr"].index("subject_hash")] for r in client.inserted["events_qr"]]
    assert hashes == [STAYS]
    dropped = sink.metrics.erased_dropped.labels(table="events_qr")._value.get()
    assert dropped == 1


def test_the_sink_does_not_write_without_the_register() -> None:
    client = Register([])
    sink = _sink(client)
    batch = Batch()
    batch.add("events_qr", rows_for(qr_scan(), ORIGIN, 0)[0][1], ORIGIN)
    client.down = True
    with pytest.raises(OutageError, match="erasure register"):
        sink._write(batch)  # kept and retried, never written unchecked


def test_the_register_row_holds_the_hash_the_cover_and_the_reason_only() -> None:
    class Executor:
        def __init__(self) -> None:
            self.rows: list[Any] = []

        def insert(self, table: str, columns: Any, rows: Any) -> None:
            assert table == "db.erased_subjects"
            assert tuple(columns) == REGISTER_COLUMNS
            self.rows.extend(rows)

    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    executor = Executor()
    record(executor, "db", [Erasure(GONE, "k1", "request 117", "ops")], 300, now)  # type: ignore[arg-type]
    assert executor.rows == [(GONE, "k1", now, to_ms(now), to_ms(now) + 300_000, "request 117",
                              "ops")]  # fmt: skip
    with pytest.raises(MigrationError, match="64 lowercase hex"):
        record(executor, "db", [Erasure("079201000001", "k1", "x")], 300, now)  # type: ignore[arg-type]


def test_the_reason_never_stores_the_identifier() -> None:
    assert clean_reason("  request\n 2026-117 ") == "request 2026-117"
    with pytest.raises(MigrationError, match="required"):
        clean_reason("   ")
    with pytest.raises(MigrationError, match="identifier itself"):
        clean_reason("erase 079201000001 please", "079201000001")
    assert "079201000009" not in clean_reason("for 079201000009's sister")
