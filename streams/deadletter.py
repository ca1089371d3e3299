"""Dead letters of the workers: what failed, why, and from which topic/partition/offset.

Workers read topics other tools can write to (kcat, kafka-console-producer), so a
rejected payload may hold raw personal data. Connectors hash it before producing;
here, where the HMAC key is not needed for anything else, identifiers are *masked*
(schemas.privacy): values of personal-data fields are replaced and long digit runs
(citizen ids, phone numbers) and plates blanked, before the payload is truncated into
the dead letter.
"""

from __future__ import annotations

import re
from datetime import datetime

from schemas.privacy import MAX_PAYLOAD, mask_error, mask_key, mask_payload
from schemas.results import DeadLetter

__all__ = ["dead_letter", "redact"]


def redact(raw: bytes | None) -> str:
    """A masked, truncated text form of a rejected payload."""
    return mask_payload(raw, MAX_PAYLOAD)


def dead_letter(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    error: str,
    producer: str,
    failed_at: datetime,
    record_timestamp_ms: int | None,
) -> DeadLetter:
    """The dead letter of one source record."""
    return DeadLetter(
        source_topic=topic,
        partition=partition,
        offset=offset,
        key=None if key is None else mask_key(key),
        reason=reason if re.fullmatch(r"[A-Za-z0-9_.:\-/]{1,64}", reason) else "invalid",
        error=mask_error(error),
        payload=redact(value),
        producer=producer,
        failed_at=failed_at,
        record_timestamp_ms=record_timestamp_ms,
    )
