"""Outbox rows -> events: transfers, snapshots, dead letters, the bounded seen-set."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from connectors.sources.edge import EdgeValidator, TimePolicy
from connectors.sources.outbox.position import Position
from connectors.sources.outbox.rows import SOURCE, map_row
from connectors.sources.outbox.sql import HistoryRow
from schemas.events import DossierStatusChange
from schemas.privacy import PiiHasher

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
HASHER = PiiHasher(b"k", "k1")
V = EdgeValidator(HASHER, TimePolicy(timedelta(minutes=5), timedelta(days=30)), clock=lambda: NOW)
ROW = HistoryRow(
    id=42,
    dossier_id="H21.000001",
    procedure_code="1.000123",
    agency_code="000.00.32.H10",
    area_code="690",
    level=4,
    channel="online",
    status="processing",
    previous_status="received",
    applicant_id="070123456789",
    changed_at=NOW - timedelta(hours=1),
    received_at=NOW - timedelta(days=1),
    due_at=NOW + timedelta(days=2),
    paid_online=True,
    digitized=True,
    previous_agency="000.00.31.H10",
    previous_area="689",
)


def test_a_move_yields_transferred_out_keyed_by_the_old_agency_first() -> None:
    out = map_row(ROW, V, "t", snapshot=False)
    assert out.letter is None
    transfer, main = out.events
    assert isinstance(transfer, DossierStatusChange)
    assert transfer.status == "transferred_out"
    assert transfer.key == "000.00.31.H10"
    assert transfer.area_code == "689"
    assert main.key == "000.00.32.H10"
    assert transfer.event_id != main.event_id
    assert {e.source for e in out.events} == {SOURCE}
    assert main.applicant_hash == HASHER.hash("070123456789")  # type: ignore[attr-defined]
    assert "070123456789" not in main.to_json().decode()
    # Deterministic: the same row maps to the same ids (a re-read is a duplicate, not new).
    assert [e.event_id for e in map_row(ROW, V, "t", snapshot=False).events] == [
        transfer.event_id,
        main.event_id,
    ]


def test_same_agency_and_snapshot_rows_have_no_transfer() -> None:
    same = replace(ROW, previous_agency=ROW.agency_code)
    assert len(map_row(same, V, "t", snapshot=False).events) == 1
    assert len(map_row(ROW, V, "t", snapshot=True).events) == 1


def test_snapshot_rows_may_be_older_than_the_horizon() -> None:
    old = replace(ROW, changed_at=NOW - timedelta(days=60), received_at=NOW - timedelta(days=61))
    assert map_row(old, V, "t", snapshot=True).letter is None
    letter = map_row(old, V, "t", snapshot=False).letter
    assert letter is not None
    assert letter.reason == "too_old"


def test_invalid_row_is_one_redacted_dead_letter_with_the_row_id_as_offset() -> None:
    out = map_row(replace(ROW, status="lost"), V, "t", snapshot=False)
    assert out.events == []
    assert out.letter is not None
    assert out.letter.offset == 42
    assert out.letter.producer == SOURCE
    assert "070123456789" not in out.letter.model_dump_json()


def test_seen_set_stays_within_the_overlap_window() -> None:
    position = Position("c")
    position.mark(set(range(1, 101)), overlap=10)
    assert position.last_id == 100
    assert position.low(10) == 90
    assert position.seen_ids == set(range(91, 101))
    position.mark({95, 150}, overlap=10)
    assert position.seen_ids == {150}
