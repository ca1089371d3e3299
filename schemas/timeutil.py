"""Time helpers shared by every contract: UTC inside, Asia/Ho_Chi_Minh for display."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def to_utc(value: datetime) -> datetime:
    """Convert an aware datetime to UTC; refuse naive ones (their zone would be a guess)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamp must carry a timezone offset")
    return value.astimezone(UTC)


def to_ms(value: datetime) -> int:
    """Milliseconds since the Unix epoch, the unit Kafka record timestamps use."""
    return int(to_utc(value).timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """An aware UTC datetime from epoch milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def utcnow() -> datetime:
    """The current wall clock, aware."""
    return datetime.now(tz=UTC)
