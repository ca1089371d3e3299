"""Personal data: the patterns, keyed scrubbing and redaction, keyless masking, the limits.

The dead letters built from these: tests/unit/connectors/test_edge.py (connectors) and
tests/unit/streams/test_deadletter.py (workers).
"""

from __future__ import annotations

import re

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.privacy import (
    ID_NUMBER,
    MASK,
    MAX_ERROR,
    MAX_KEY,
    MAX_PAYLOAD,
    PII_FIELDS,
    PLATE,
    PiiHasher,
    mask_error,
    mask_key,
    mask_payload,
    mask_text,
    normalise_identifier,
    truncate,
)
from schemas.results import DeadLetter

pytestmark = pytest.mark.unit

HASHER = PiiHasher(b"unit-key", "k9")
CITIZEN = "079201001234"
PLATE_TEXT = "61A-123.45"

# The patterns the two were before they became one: what either matched is still matched.
_OLD_CONNECTOR_ID = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")
_OLD_CONNECTOR_PLATE = re.compile(
    r"(?<![0-9A-Za-z])\d{2}[A-Za-z]{1,2}\d?[\s.\-]{0,2}\d{3}[\s.]?\d{1,2}(?![0-9A-Za-z])"
)
_OLD_MASKING_ID = re.compile(r"\d{9,}")
_OLD_MASKING_PLATE = re.compile(r"\b\d{2}[A-Za-z]{1,2}[-\s.]?\d{3,5}(?:\.\d{2})?\b")


def _covered(pattern: re.Pattern[str], text: str) -> set[int]:
    return {i for m in pattern.finditer(text) for i in range(*m.span())}


_PIECES = st.one_of(
    st.text("0123456789", min_size=1, max_size=13),
    st.sampled_from(["A", "F", "LD", "z", "_", "đ", "x", "-", ".", " ", "  ", ".-", "\n"]),
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=9).map("".join))
def test_one_pattern_of_each_kind_hides_what_either_old_one_hid(text: str) -> None:
    old_plates = _covered(_OLD_CONNECTOR_PLATE, text) | _covered(_OLD_MASKING_PLATE, text)
    assert old_plates <= _covered(PLATE, text)
    old_ids = _covered(_OLD_CONNECTOR_ID, text) | _covered(_OLD_MASKING_ID, text)
    assert old_ids <= _covered(ID_NUMBER, text)


@pytest.mark.parametrize(
    "plate",
    ["61A-123.45", "61A12345", "51F1 12345", "29LD 1234", "61A-123", "61a 12345", "61A-1234.56"],
)
def test_plate_shapes_of_both_old_patterns(plate: str) -> None:
    assert PLATE.fullmatch(plate)
    assert mask_text(f"xe {plate}.") == f"xe {MASK}."
    assert plate not in HASHER.scrub_text(f"xe {plate}.")


def test_dates_times_and_short_numbers_are_not_identifiers() -> None:
    text = "2026-11-26T09:00:00+07:00 area 689 count 12345678 v1.2.3"
    assert mask_text(text) == text
    assert HASHER.scrub_text(text) == text


def test_hash_is_keyed_and_spelling_blind() -> None:
    assert HASHER.hash("61A-123.45") == HASHER.hash("61a 12345") == HASHER.hash("61A12345")
    assert normalise_identifier(" 61a-123.45 ") == "61A12345"
    assert HASHER.hash(CITIZEN) != PiiHasher(b"other-key", "k9").hash(CITIZEN)
    assert len(HASHER.hash(CITIZEN)) == 64
    with pytest.raises(ValueError, match="must not be empty"):
        PiiHasher(b"", "k0")


def test_redact_hashes_personal_fields_at_any_depth_and_cuts_nesting() -> None:
    out = HASHER.redact({"a": [{"Citizen_ID": CITIZEN, "phone": None, "n": 1}]})
    assert out == {"a": [{"Citizen_ID": f"hmac:{HASHER.hash(CITIZEN)}", "phone": None, "n": 1}]}
    deep: object = CITIZEN
    for _ in range(100):
        deep = [deep]
    assert "<nested deeper than 32 levels>" in orjson.dumps(HASHER.redact(deep)).decode()
    assert {"citizen_id", "licence_plate", "applicant_id", "phone"} <= PII_FIELDS
    assert HASHER.redact_text(f"body {CITIZEN}", [CITIZEN, ""]) == (
        f"body hmac:{HASHER.hash(CITIZEN)}"
    )


def test_scrub_text_hides_id_numbers_and_plates() -> None:
    text = f"bad {CITIZEN} and {PLATE_TEXT} and 61A12345 and cmnd 123456789 near 2026-11-26"
    out = HASHER.scrub_text(text)
    for raw in (CITIZEN, PLATE_TEXT, "61A12345", "123456789"):
        assert raw not in out
    assert "2026-11-26" in out


def test_redact_payload_structured_text_and_truncated() -> None:
    structured = HASHER.redact_payload({"citizen_id": CITIZEN, "note": f"id {CITIZEN}", CITIZEN: 1})
    assert CITIZEN not in structured
    assert orjson.loads(structured)["citizen_id"] == f"hmac:{HASHER.hash(CITIZEN)}"
    raw = HASHER.redact_payload(f"{{oops {PLATE_TEXT}".encode("utf-16"))
    assert isinstance(raw, str)
    huge = HASHER.redact_payload("x" * 100_000)
    assert len(huge) < 17_000
    assert huge.endswith("characters]")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le", "utf-32-be"])
def test_redaction_sees_through_other_encodings(encoding: str) -> None:
    text = HASHER.redact_payload(f"id {CITIZEN} plate {PLATE_TEXT}".encode(encoding))
    assert CITIZEN not in text.replace("\x00", "")
    assert "hmac:" in text


def test_masking_without_a_key() -> None:
    masked = mask_payload(b'{"Full_Name": "A", "x": [{"cccd": 1}], "note": "0912345678"}')
    assert orjson.loads(masked) == {"Full_Name": MASK, "x": [{"cccd": MASK}], "note": MASK}
    assert mask_payload(None) == ""
    assert mask_payload(b"\xff cccd 079201001234") == "\ufffd cccd <redacted>"
    assert mask_payload(b"x" * 10_000, 10) == "x" * 10


def test_every_dead_letter_writer_cuts_at_the_same_limits() -> None:
    assert (MAX_KEY, MAX_ERROR, MAX_PAYLOAD) == (1_024, 4_096, 4_096)
    bounds = {name: DeadLetter.model_fields[name].metadata for name in ("key", "error", "payload")}
    for name, limit in (("key", MAX_KEY), ("error", MAX_ERROR), ("payload", MAX_PAYLOAD)):
        assert any(getattr(m, "max_length", 0) >= limit for m in bounds[name]), name
    assert mask_key(b"k" * 5_000) == "k" * MAX_KEY
    assert mask_key(f"city/{CITIZEN}".encode()) == f"city/{MASK}"
    assert mask_error("e" * 5_000) == "e" * MAX_ERROR
    assert len(mask_payload(b"p" * 100_000)) == MAX_PAYLOAD
    assert MAX_PAYLOAD - 50 < len(HASHER.redact_payload(b"p" * 100_000)) <= MAX_PAYLOAD


@pytest.mark.parametrize("size", [0, 1, 4_095, 4_096, 4_097, 10_000, 1_000_000])
def test_truncate_says_how_much_it_cut_within_the_limit(size: int) -> None:
    out = truncate("x" * size)
    if size <= MAX_PAYLOAD:
        assert out == "x" * size
        return
    assert len(out) <= MAX_PAYLOAD
    kept = len(out) - len(out.lstrip("x"))
    assert out == "x" * kept + f"...[truncated {size - kept} characters]"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32", "utf-16-le", "utf-32-be"])
def test_masking_without_a_key_sees_through_other_encodings(encoding: str) -> None:
    # A worker's or the sink's dead letter of a record written with kcat in UTF-16.
    raw = f'{{"note": "id {CITIZEN}"}}'.encode(encoding)
    assert CITIZEN not in mask_payload(raw).replace("\x00", "")
    assert CITIZEN not in mask_key(f"{CITIZEN}".encode(encoding)).replace("\x00", "")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789ABCDEFGHKLMNPSTUVXYZ-. ", min_size=4, max_size=14))
def test_a_hashed_field_is_the_events_hash_not_hashed_again(plate: str) -> None:
    # The dead letter of a rejected event carries the same pseudonym as the events do,
    # whatever the raw value looked like (a hash with a long digit run was hashed again).
    text = HASHER.redact_payload({"licence_plate": plate, "citizen_id": CITIZEN, "n": 1})
    out = orjson.loads(text)
    assert out["licence_plate"] == f"hmac:{HASHER.hash(plate)}"
    assert out["citizen_id"] == f"hmac:{HASHER.hash(CITIZEN)}"
