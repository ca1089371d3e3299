"""What personal data looks like, and how a rejected payload is masked without a key.

Connectors replace personal fields by a keyed hash before producing (connectors.pii);
everything downstream that stores a payload it could not read (a worker's or the sink's
dead letter) masks it with these functions instead: field values of :data:`MASKED_FIELDS`
replaced, citizen-id- and plate-shaped text blanked, nesting cut at :data:`MAX_DEPTH`,
the text truncated. One masking for every dead letter, whoever writes it.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

PII_FIELDS = frozenset(
    {
        "citizen_id", "cccd", "cmnd", "id_number", "national_id", "identity_number",
        "licence_plate", "license_plate", "plate", "plate_number", "bien_so",
        "subject_id", "applicant_id", "phone", "phone_number",
    }
)  # fmt: skip
"""Field names (any nesting, case-insensitive) whose values identify a person: hashed by
the connectors."""
MASKED_FIELDS = PII_FIELDS | {"name", "full_name"}
"""Also blanked in dead letters: a name is personal data, though no contract carries one."""
MASK = "<redacted>"
MAX_DEPTH = 32
"""A contract nests two levels; a payload nested hundreds of levels would exhaust
Python's recursion while being masked."""
TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels>"
_DIGITS = re.compile(r"\d{9,}")
_PLATE = re.compile(r"\b\d{2}[A-Za-z]{1,2}[-\s.]?\d{3,5}(?:\.\d{2})?\b")


def mask_text(text: str) -> str:
    """Blank digit runs of nine or more (citizen ids, phones) and plate-shaped words."""
    return _PLATE.sub(MASK, _DIGITS.sub(MASK, text))


def mask_value(value: Any, depth: int = 0) -> Any:
    """A copy of a decoded payload with personal fields and identifier-shaped text masked."""
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        return TOO_DEEP
    if isinstance(value, dict):
        return {
            k: (MASK if str(k).lower() in MASKED_FIELDS else mask_value(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_value(v, depth + 1) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_payload(raw: bytes | None, limit: int) -> str:
    """A masked text form of a rejected payload, at most ``limit`` characters."""
    if raw is None:
        return ""
    try:
        text = orjson.dumps(mask_value(orjson.loads(raw))).decode()
    except (orjson.JSONDecodeError, UnicodeDecodeError, TypeError):
        text = mask_text(raw.decode("utf-8", errors="replace"))
    return text[:limit]
