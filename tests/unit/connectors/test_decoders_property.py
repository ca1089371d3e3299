"""Property tests of the decoders the codec's own tests do not reach: the file connector's
JSON Lines and CSV paths, and the outbox's status-history rows.

Whatever the bytes or the column values, every input becomes either an event or a dead
letter with a reason: nothing raises out of the decoder, nothing is dropped.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sources.edge import EdgeValidator, TimePolicy, TopicRoutes
from connectors.sources.files import FileConnector, FileJob
from connectors.sources.outbox.rows import map_row
from connectors.sources.outbox.sql import HistoryRow
from schemas.privacy import PiiHasher
from tests.integration.connectors.hostile import bodies

pytestmark = pytest.mark.unit

NOW = datetime.now(tz=UTC)
VALIDATOR = EdgeValidator(
    PiiHasher(b"unit-key", "k9"), TimePolicy(timedelta(minutes=5), timedelta(days=30))
)
TRAFFIC = {
    "sensor_id": "TS-1",
    "segment_id": "QL13-01",
    "observed_at": NOW.isoformat(),
    "period_s": 60,
    "intensity": 3,
}


class Producer:
    def __init__(self) -> None:
        self.events: list[Any] = []
        self.letters: list[Any] = []

    async def send_events(self, topic: str, events: list[Any]) -> list[Any]:
        self.events += events
        return []

    async def send_dead_letters(self, letters: list[Any], topic: str) -> list[Any]:
        self.letters += letters
        return []


def replay(content: bytes, suffix: str) -> tuple[int, Producer, Any]:
    connector = FileConnector(
        validator=VALIDATOR, routes=TopicRoutes.default(), producer_factory=Producer
    )
    producer = Producer()
    connector.link._producer = producer  # type: ignore[assignment]  # no broker here
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"in{suffix}"
        path.write_bytes(content)
        report = asyncio.run(connector.run(FileJob(path=path, stream="traffic", batch_size=7)))
    return report.read, producer, report


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(bodies(TRAFFIC), min_size=1, max_size=12))
def test_every_jsonl_line_is_an_event_or_a_dead_letter(lines: list[bytes]) -> None:
    content = b"\n".join(line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines)
    read, producer, report = replay(content, ".jsonl")
    assert report.accepted + report.rejected == read
    assert len(producer.events) == report.accepted
    assert len(producer.letters) == report.rejected
    assert all(letter.reason for letter in producer.letters)


CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "NaN", "1e999", "-1", "0", "3", "60", NOW.isoformat(), "QL13-01"]),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from([*TRAFFIC, "occupancy", "average_speed_kmh", "x"]), min_size=1,
             max_size=8, unique=True),
    st.lists(st.lists(CELLS, min_size=0, max_size=9), min_size=1, max_size=8),
)  # fmt: skip
def test_every_csv_row_is_an_event_or_a_dead_letter(
    header: list[str], rows: list[list[str]]
) -> None:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    read, producer, report = replay(buffer.getvalue().encode(), ".csv")
    assert report.accepted + report.rejected == read
    assert len(producer.events) + len(producer.letters) == read


TEXT = st.one_of(st.text(max_size=40), st.sampled_from(["", "x" * 5_000, "\x00", "received"]))
LOW, HIGH = datetime(1900, 1, 1), datetime(2200, 1, 1)  # noqa: DTZ001  # bounds, naive by API
TIMES = st.datetimes(LOW, HIGH, timezones=st.just(UTC)) | st.datetimes(LOW, HIGH)  # naive too


@settings(max_examples=150, deadline=None)
@given(
    st.builds(
        HistoryRow,
        id=st.integers(min_value=-(2**63), max_value=2**63 - 1),
        dossier_id=TEXT, procedure_code=TEXT, agency_code=TEXT, area_code=TEXT,
        level=st.integers(min_value=-5, max_value=10**12), channel=TEXT,
        status=TEXT | st.sampled_from(["received", "processing", "completed"]),
        previous_status=st.none() | TEXT, applicant_id=st.none() | TEXT,
        changed_at=TIMES, received_at=st.none() | TIMES, due_at=st.none() | TIMES,
        paid_online=st.booleans(), digitized=st.booleans(),
        previous_agency=st.none() | TEXT, previous_area=st.none() | TEXT,
    ),
    st.booleans(),
)  # fmt: skip
def test_every_status_history_row_is_events_or_a_dead_letter(
    row: HistoryRow, snapshot: bool
) -> None:
    out = map_row(row, VALIDATOR, "ioc.dossier.status.v1", snapshot=snapshot)
    assert bool(out.events) != (out.letter is not None)
    if out.letter is not None:
        assert out.letter.reason
        assert out.letter.offset == (row.id if row.id >= 0 else None)
