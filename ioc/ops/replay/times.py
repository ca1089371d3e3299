"""Instants on the replay command line: ISO 8601 with an offset, never a guessed zone."""

from __future__ import annotations

from datetime import datetime

from schemas.errors import IocError
from schemas.timeutil import LOCAL_TZ, to_ms


class ReplayUsageError(IocError):
    """The options of a replay verb do not make a plan."""


def parse_instant(text: str, option: str) -> datetime:
    """An aware datetime from ISO 8601; a naive one is refused (its zone would be a guess)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ReplayUsageError(f"{option}: not an ISO 8601 datetime: {text!r}") from None
    if value.tzinfo is None:
        raise ReplayUsageError(f"{option} needs a UTC offset, e.g. 2026-11-26T08:00:00+07:00")
    return value


def parse_range(start: str, end: str) -> tuple[int, int]:
    """(from_ms, to_ms) of ``--from``/``--to``; the range must not be empty."""
    lo, hi = to_ms(parse_instant(start, "--from")), to_ms(parse_instant(end, "--to"))
    if hi <= lo:
        raise ReplayUsageError(f"--to ({end}) must be after --from ({start})")
    return lo, hi


def local(ms: int) -> str:
    """An epoch-ms instant as local ISO text, for plans and summaries."""
    return datetime.fromtimestamp(ms / 1000, LOCAL_TZ).isoformat(timespec="seconds")
