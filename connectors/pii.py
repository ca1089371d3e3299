"""Personal data is replaced by a keyed hash before anything is produced.

A citizen ID or a licence plate never leaves the connector raw: not in events, not
in dead letters, not in logs. HMAC-SHA256 with a key from settings; the key id is
recorded beside the hash so keys can rotate. A keyed hash is still personal data
(Law 91/2025/QH15): raw events have a retention period and can be erased by hash.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from schemas.redaction import MAX_DEPTH, PII_FIELDS, TOO_DEEP

REDACTED_PREFIX = "hmac:"
_SEPARATORS = re.compile(r"[\s.\-_]+")


def normalise_identifier(raw: str) -> str:
    """One spelling per real identifier: '61A-123.45' and '61a 12345' hash alike."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()


class PiiHasher:
    """Keyed hashing of identifiers, and redaction of payloads for dead letters."""

    def __init__(self, key: bytes, key_id: str) -> None:
        if not key:
            raise ValueError("the PII hash key must not be empty")
        self._key = key
        self.key_id = key_id

    def hash(self, raw: str) -> str:
        """64 hex characters of HMAC-SHA256 over the normalised identifier."""
        digest = hmac.new(self._key, normalise_identifier(raw).encode(), hashlib.sha256)
        return digest.hexdigest()

    def redact(self, value: Any, depth: int = 0) -> Any:
        """A copy of a decoded payload with every PII field replaced by its hash.

        Containers deeper than :data:`schemas.redaction.MAX_DEPTH` become :data:`TOO_DEEP`: a
        payload nested hundreds of levels would otherwise exhaust Python's recursion on
        its way to a dead letter (a 500 instead of a 422).
        """
        if isinstance(value, Mapping | list) and depth >= MAX_DEPTH:
            return TOO_DEEP
        if isinstance(value, Mapping):
            return {
                k: (
                    self._redact_leaf(v)
                    if str(k).lower() in PII_FIELDS
                    else self.redact(v, depth + 1)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.redact(v, depth + 1) for v in value]
        return value

    def _redact_leaf(self, value: Any) -> Any:
        if value is None:
            return None
        return f"{REDACTED_PREFIX}{self.hash(str(value))}"

    def redact_text(self, text: str, known: list[str]) -> str:
        """Replace known raw identifiers inside free text (e.g. a non-JSON body)."""
        for raw in known:
            if raw:
                text = text.replace(raw, f"{REDACTED_PREFIX}{self.hash(raw)}")
        return text
