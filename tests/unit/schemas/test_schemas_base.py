"""What every contract shares: NFC text, aware UTC time, no NaN."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from schemas_strategies import FAST, VIETNAMESE, aware_datetimes, is_utc

from schemas.base import Code, UtcDatetime
from schemas.codec import decode
from schemas.errors import ContractError
from schemas.results import Anomaly, DeadLetter
from schemas.timeutil import from_ms, to_ms, to_utc

pytestmark = pytest.mark.unit

ANOMALY: dict[str, Any] = {
    "anomaly_id": "traffic:QL14:km5:congestion:2025-03-01T00:00Z",
    "domain": "traffic",
    "entity_kind": "segment",
    "entity_id": "QL14:km5",
    "group_id": "QL14:km5",
    "area_code": "25195",
    "metric": "congestion_index",
    "detector": "zscore",
    "severity": "warning",
    "observed": 0.91,
    "expected": 0.4,
    "score": 4.2,
    "state": "open",
    "started_at": "2025-03-01T07:00:00+07:00",
    "updated_at": "2025-03-01T07:15:00+07:00",
    "generation": 1,
    "sequence": 0,
}


class _Stamp(BaseModel):
    at: UtcDatetime
    code: Code | None = None


# --- 5. NFC -------------------------------------------------------------------


def test_decomposed_free_text_comes_back_composed() -> None:
    text = "Ùn tắc ở Đồng Xoài"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    anomaly = decode(Anomaly, {**ANOMALY, "description": nfd})
    assert anomaly.description == text
    assert decode(Anomaly, anomaly.model_dump_json()).description == text


@FAST
@given(
    text=st.one_of(
        st.sampled_from(VIETNAMESE),
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80),
    ),
    form=st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]),
)
def test_free_text_is_always_nfc(text: str, form: str) -> None:
    written = unicodedata.normalize(form, text)
    letter = decode(
        DeadLetter,
        {
            "source_topic": "ioc.qr.scans.v1",
            "reason": "validation",
            "error": written,
            "payload": written,
            "producer": "connector-qr",
            "failed_at": "2025-03-01T07:00:00+07:00",
        },
    )
    assert letter.error == unicodedata.normalize("NFC", written)
    assert unicodedata.is_normalized("NFC", letter.payload)
    if form in {"NFC", "NFD"}:
        assert letter.error == unicodedata.normalize("NFC", text)


def test_nfc_reaches_nested_values() -> None:
    nfd = unicodedata.normalize("NFD", "Đồng Xoài")
    letter = DeadLetter.model_validate(
        {
            "source_topic": "t",
            "reason": "validation",
            "error": nfd,
            "payload": nfd,
            "producer": "p",
            "failed_at": datetime(2025, 3, 1, tzinfo=UTC),
        }
    )
    assert letter.error == letter.payload == "Đồng Xoài"


def test_decomposed_vietnamese_is_not_a_code() -> None:
    with pytest.raises(ContractError) as info:
        decode(Anomaly, {**ANOMALY, "area_code": unicodedata.normalize("NFD", "Đồng Xoài")})
    assert info.value.fields == ("area_code",)


# --- UtcDatetime --------------------------------------------------------------


@FAST
@given(when=aware_datetimes)
def test_aware_times_are_stored_in_utc(when: datetime) -> None:
    stamp = _Stamp(at=when)
    assert stamp.at == when
    assert is_utc(stamp.at)
    assert stamp.at.tzinfo is UTC
    assert _Stamp.model_validate_json(stamp.model_dump_json()).at == when
    assert to_utc(when) == when
    assert from_ms(to_ms(when)) == when.replace(microsecond=when.microsecond // 1000 * 1000)


@pytest.mark.parametrize(
    "naive",
    ["2025-03-01T07:00:00", "2025-03-01 07:00", "2025-03-01", datetime(2025, 3, 1, 7)],  # noqa: DTZ001
)
def test_naive_times_are_rejected_not_guessed(naive: str | datetime) -> None:
    with pytest.raises(ValidationError) as info:
        _Stamp(at=naive)  # type: ignore[arg-type]
    assert info.value.errors()[0]["loc"] == ("at",)


def test_to_utc_refuses_naive() -> None:
    with pytest.raises(ValueError, match="offset"):
        to_utc(datetime(2025, 3, 1))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("2025-03-01T07:00:00+07:00", datetime(2025, 3, 1, tzinfo=UTC)),
        ("2025-03-01T00:00:00Z", datetime(2025, 3, 1, tzinfo=UTC)),
        ("2025-03-01T00:00:00.123456-00:00", datetime(2025, 3, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2025-02-28T19:30:00-04:30", datetime(2025, 3, 1, tzinfo=UTC)),
        ("2025-03-01T00:00:00+0700", datetime(2025, 2, 28, 17, tzinfo=UTC)),
    ],
)
def test_offsets_are_applied(written: str, utc: datetime) -> None:
    assert _Stamp.model_validate({"at": written}).at == utc


@FAST
@given(ms=st.integers(min_value=-(2**41), max_value=2**42))
@example(ms=2_148_570_000_002)  # 2038-01-31T17:00:00.002Z: float maths gave ...001
def test_epoch_milliseconds_are_exact(ms: int) -> None:
    when = from_ms(ms)
    assert is_utc(when)
    assert to_ms(when) == ms
    assert to_ms(when.astimezone(timezone(timedelta(hours=7)))) == ms
    assert to_ms(when + timedelta(microseconds=999)) == ms, "sub-millisecond part is floored"


def test_local_time_conversion_keeps_the_instant() -> None:
    ict = timezone(timedelta(hours=7))
    when = datetime(2025, 3, 1, 7, tzinfo=ict)
    assert to_utc(when) == datetime(2025, 3, 1, tzinfo=UTC)
    assert to_ms(when) == 1_740_787_200_000


# --- Code ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["70", "QL14:km5", "a/b", "x.y-z_1", "A" * 64, "H70.01-250301-0001"]
)
def test_codes_accepted(code: str) -> None:
    assert _Stamp(at=datetime(2025, 1, 1, tzinfo=UTC), code=code).code == code


@pytest.mark.parametrize(
    "code", ["", "A" * 65, "a b", "Đồng", "a\n", "a\tb", "é", "a,b", "a;b", "'", "a*"]
)
def test_codes_rejected(code: str) -> None:
    with pytest.raises(ValidationError):
        _Stamp(at=datetime(2025, 1, 1, tzinfo=UTC), code=code)
