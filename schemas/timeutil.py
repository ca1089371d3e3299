"""Time helpers shared by every contract: UTC inside, Asia/Ho_Chi_Minh for display."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; refuse naive ones (their zone would be a guess)."""
    if value.tzinfo is UTC:
        # Hot path: contracts store UTC already; utcoffset() of other tzinfo
        # classes (pydantic's TzInfo) is a Python call worth skipping.
        return value
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a timezone offset")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # e.g. 0001-01-01T00:00:00+07:00: a ValueError so validation reports it, not a crash
        raise ValueError("timestamp is out of range once converted to UTC") from None


def to_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch, the unit Kafka record timestamps use."""
    # Integer arithmetic: float seconds * 1000 loses a millisecond on ~0.6% of exact values.
    return (to_utc(value) - EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    """An aware UTC datetime from epoch milliseconds."""
    return EPOCH + timedelta(milliseconds=ms)


def utcnow() -> datetime:
    """The current wall clock, aware."""
    return datetime.now(tz=UTC)
