"""Dead letters of the workers: what failed, why, and from which topic/partition/offset.

Workers read topics other tools can write to (kcat, kafka-console-producer), so a
rejected payload may hold raw personal data. Connectors hash it before producing;
here, where the HMAC key is not needed for anything else, identifiers are *masked*:
values of personal-data fields are replaced and long digit runs (citizen ids, phone
numbers) blanked, before the payload is truncated into the dead letter.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import orjson

from schemas.results import DeadLetter

MAX_PAYLOAD = 4_096
MAX_ERROR = 4_000
MASK = "<redacted>"
PII_FIELDS = frozenset(
    {
        "citizen_id", "cccd", "cmnd", "id_number", "national_id", "identity_number",
        "licence_plate", "license_plate", "plate", "plate_number", "bien_so",
        "subject_id", "applicant_id", "phone", "phone_number", "name", "full_name",
    }
)  # fmt: skip
_DIGITS = re.compile(r"\d{9,}")
_PLATE = re.compile(r"\b\d{2}[A-Za-z]{1,2}[-\s.]?\d{3,5}(?:\.\d{2})?\b")


def _mask_text(text: str) -> str:
    return _PLATE.sub(MASK, _DIGITS.sub(MASK, text))


MAX_DEPTH = 32
"""Deeper values are cut: a contract nests two levels, and a payload nested hundreds of
levels (parsed fine by orjson, which stops at 1,024) would exhaust Python's recursion
while being masked, crashing the worker on the record it was dead-lettering."""
TOO_DEEP = "<nested deeper than 32 levels>"


def _mask(value: Any, depth: int = 0) -> Any:
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {
            k: (MASK if str(k).lower() in PII_FIELDS else _mask(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask(v, depth + 1) for v in value]
    if isinstance(value, str):
        return _mask_text(value)
    return value


def redact(raw: bytes | None) -> str:
    """A masked, truncated text form of a rejected payload."""
    if raw is None:
        return ""
    try:
        text = orjson.dumps(_mask(orjson.loads(raw))).decode()
    except (orjson.JSONDecodeError, UnicodeDecodeError, TypeError):
        text = _mask_text(raw.decode("utf-8", errors="replace"))
    return text[:MAX_PAYLOAD]


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
        key=None if key is None else _mask_text(key.decode("utf-8", errors="replace"))[:1_024],
        reason=reason if re.fullmatch(r"[A-Za-z0-9_.:\-/]{1,64}", reason) else "invalid",
        error=_mask_text(error)[:MAX_ERROR],
        payload=redact(value),
        producer=producer,
        failed_at=failed_at,
        record_timestamp_ms=record_timestamp_ms,
    )
