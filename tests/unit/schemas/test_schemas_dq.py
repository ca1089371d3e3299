"""The data-quality record: additive counts, a version and a key per window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from schemas.codec import decode
from schemas.results import UINT32, DataQualityRecord, Domain
from tests.factories import data_quality

pytestmark = pytest.mark.unit

START = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)


def record(**kw: Any) -> DataQualityRecord:
    """The factory's record on partition 2, in START's minute, sequence 2, 4 invalid."""
    here: dict[str, Any] = {
        "partition": 2,
        "window_start": START,
        "window_end": START + timedelta(minutes=1),
        "events": 10,
        "last_seen": START + timedelta(seconds=59),
        "invalid": {"invalid_json": 3, "validation": 1},
        "sequence": 2,
    }
    return data_quality(**{**here, **kw})


def test_version_key_and_total() -> None:
    r = record()
    assert r.domain is Domain.TRAFFIC
    assert r.version == UINT32 + 2
    assert r.key == "traffic:2:mqtt-bridge:2026-11-26T01:30:00+00:00"
    assert r.invalid_total == 4


def test_round_trip_through_the_wire_form() -> None:
    r = record(last_seen=None, invalid={})
    assert decode(DataQualityRecord, r.model_dump_json().encode()) == r


@pytest.mark.parametrize(
    "bad",
    [
        {"window_end": START},
        {"late": 8, "duplicates": 3},  # late and duplicates are part of events
        {"events": -1},
        {"invalid": {"invalid_json": -1}},
        {"invalid": {"not a code": 1}},
        {"source": ""},
        {"partition": -1},
        {"sequence": UINT32},
        {"window_start": START.replace(tzinfo=None)},
    ],
)
def test_inconsistent_records_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        record(**bad)
