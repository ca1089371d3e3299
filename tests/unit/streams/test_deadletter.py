"""Dead letters carry where a record came from, and never raw identifiers."""

from __future__ import annotations

import pytest

from schemas.privacy import MASK
from streams.deadletter import dead_letter, redact
from tests.factories import T0

pytestmark = pytest.mark.unit


def test_personal_data_is_masked_in_json_and_in_text() -> None:
    masked = redact(
        b'{"citizen_id": "079201001234", "note": "call 0912345678", "plate": "61A-123.45"}'
    )
    for raw in ("079201001234", "0912345678", "61A-123.45"):
        assert raw not in masked
    assert masked.count(MASK) == 3
    text = redact(b"cccd=079201001234 bien so 61A-12345")
    for raw in ("079201001234", "61A-12345"):
        assert raw not in text


def test_a_dead_letter_names_topic_partition_offset_and_reason() -> None:
    letter = dead_letter(
        topic="ioc.qr.scans.v1", partition=2, offset=41, key=b"CP-1", value=b"x" * 100_000,
        reason="invalid_json", error="bad", producer="ioc-worker", failed_at=T0, record_timestamp_ms=7,
    )  # fmt: skip
    assert (letter.source_topic, letter.partition, letter.offset, letter.reason) == (
        "ioc.qr.scans.v1",
        2,
        41,
        "invalid_json",
    )
    assert len(letter.payload) <= 4_096


@pytest.mark.parametrize("depth", [40, 500, 1_000])
def test_a_deeply_nested_payload_is_dead_lettered_not_a_crash(depth: int) -> None:
    # orjson parses up to 1,024 levels; masking them recursively exhausted Python's stack
    # and crashed the agent on the record it was dead-lettering.
    raw = b'{"meter_id": ' + b"[" * depth + b'"079203001234"' + b"]" * depth + b"}"
    text = redact(raw)
    assert "079203001234" not in text
    assert "<nested deeper than 32 levels>" in text
