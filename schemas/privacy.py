"""Personal data, in one place: where it is, what it looks like, how it is hidden.

A citizen ID or a licence plate never leaves a connector raw: not in events, not in
dead letters, not in logs. Connectors replace it by a keyed hash before producing
(:class:`PiiHasher`, HMAC-SHA256 with a key from settings; the key id is recorded beside
the hash so keys can rotate). A keyed hash is still personal data (Law 91/2025/QH15):
raw events have a retention period and can be erased by hash.

Everything downstream that stores a payload it could not read (a worker's or the sink's
dead letter) masks it without a key instead (:func:`mask_payload`): values of
:data:`MASKED_FIELDS` replaced, citizen-id- and plate-shaped text blanked, nesting cut at
:data:`MAX_DEPTH`. Both ways use the same field lists and the same two patterns, and every
dead-letter writer cuts key, error and payload at the same limits (:data:`MAX_KEY`,
:data:`MAX_ERROR`, :data:`MAX_PAYLOAD`): one set of rules, whoever writes.

The ground floor: this module imports nothing of connectors, streams or ioc.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import orjson

# --- fields ----------------------------------------------------------------------------

PERSON_FIELDS = frozenset(
    {"citizen_id", "cccd", "cmnd", "id_number", "national_id", "identity_number", "subject_id"}
)
"""Field names that carry a person's identifier (a QR scan's person, a dossier's applicant)."""
VEHICLE_FIELDS = frozenset({"licence_plate", "license_plate", "plate", "plate_number", "bien_so"})
"""Field names that carry a licence plate (a QR scan's vehicle)."""
PII_FIELDS = PERSON_FIELDS | VEHICLE_FIELDS | {"applicant_id", "phone", "phone_number"}
"""Field names (any nesting, case-insensitive) whose values identify a person: hashed by
the connectors."""
MASKED_FIELDS = PII_FIELDS | {"name", "full_name"}
"""Also blanked in dead letters: a name is personal data, though no contract carries one."""

# --- patterns --------------------------------------------------------------------------

# Free text (a body that is not JSON, an error message, a key) can still hold an
# identifier. One pattern of each kind serves the keyed scrubbing at the connectors and
# the keyless masking downstream; each is the union of the two that were used before.

ID_NUMBER = re.compile(r"\d{9,}")
"""Digit runs of nine or more, whole: 9-digit CMND and 12-digit CCCD numbers, and phone
numbers. The connectors used to match exactly 9 or 12 digits, the masking any run of 9 or
more; the union is the latter, so connectors now hash a 10-digit phone number in free text
too (and any longer run, such as a millisecond timestamp written as text)."""

PLATE = re.compile(
    r"""
    (?<![0-9A-Za-z])
    \d{2} [A-Za-z]{1,2} \d?          # province code, series (61A, 29LD, 51F1)
    [\s.\-]{0,2}                      # up to two separators: 61A-, 51F1 , 61A.-
    \d{3} (?: [\s.]? \d{1,2} (?: \.\d{2} )? )?  # 123, 123.45, 123 45, 12345, 1234.56
    (?![0-9A-Za-z])
    """,
    re.VERBOSE,
)
"""Plate-shaped words such as 61A-123.45, 61A12345, 51F1 12345 or 61A-123.

The union of the connectors' pattern (series digit, up to two separators, 4-5 digits)
and the masking's (3-5 digits, optional .dd, word boundaries): every text either matched
is matched (a unit test holds the two as oracles). Boundaries are the looser of the two
(not an ASCII letter or digit, so ``_61A-123`` counts), and a few neighbouring shapes
neither matched are hidden too (``61A.-123``, ``51F1 123``): masking errs on the side of
hiding."""

# --- dead-letter limits ----------------------------------------------------------------

MAX_KEY = 1_024
"""Characters of a record key a dead letter keeps (every writer used 1,024: the bound of
``DeadLetter.key``)."""
MAX_ERROR = 4_096
"""Characters of an error message a dead letter keeps. The connectors and the sink used
4,096, the bound of ``DeadLetter.error``; the workers 4,000, for no stated reason."""
MAX_PAYLOAD = 4_096
"""Characters of a rejected payload a dead letter keeps, whoever writes it. The workers
kept 4,096 (their tests assert it), the connectors 16,384, the sink 65,536 (the bound of
``DeadLetter.payload``, which stays as it is so older letters still decode). The smallest
is kept: a dead letter says why a record failed, the first 4 KiB show its shape, and a
hostile megabyte is cut early. The connectors say how much they cut (:func:`truncate`, the
note within the limit); workers and the sink cut without a word, as before."""

MAX_DEPTH = 32
"""A contract nests two levels; a payload nested hundreds of levels would exhaust
Python's recursion while being masked or redacted (a 500 instead of a 422 at the
connectors, a crashed agent in a worker): deeper containers become :data:`TOO_DEEP`."""
TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels>"


def truncate(text: str, limit: int = MAX_PAYLOAD) -> str:
    """``text`` if it fits in ``limit`` characters, else its start and how much was cut.

    The result is at most ``limit`` characters, the note included.
    """
    if len(text) <= limit:
        return text
    # The note is no longer than this one, as fewer than len(text) characters are cut.
    keep = max(limit - len(f"...[truncated {len(text)} characters]"), 0)
    return f"{text[:keep]}...[truncated {len(text) - keep} characters]"[:limit]


# --- keyed: the connectors -------------------------------------------------------------

REDACTED_PREFIX = "hmac:"
_SEPARATORS = re.compile(r"[\s.\-_]+")


def normalise_identifier(raw: str) -> str:
    """One spelling per real identifier: '61A-123.45' and '61a 12345' hash alike."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw)).upper()


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def readable(raw: bytes) -> str:
    """Bytes as text a person (or the scrubber) can read, whatever the sender's encoding."""
    text = None
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            # A BOM followed by garbage falls through to the lossy UTF-8 reading below.
            with contextlib.suppress(UnicodeDecodeError):
                text = raw.decode(encoding)
            break
    if text is None:
        text = raw.decode("utf-8", errors="replace")
    # NULs are what UTF-16/32 without a BOM leave between ASCII digits (and that is valid
    # UTF-8): drop them, so an identifier in there is still seen and scrubbed.
    return text.replace("\x00", "")


def parse_key_ring(text: str) -> dict[str, bytes]:
    """``"k1:<key>,k0:<older key>"`` → key id → key (the previous PII keys kept for look-ups).

    Raises ValueError naming the entry (never the key) when an entry has no id or key
    or an id repeats.
    """
    ring: dict[str, bytes] = {}
    for n, entry in enumerate((e.strip() for e in text.split(",")), start=1):
        if not entry:
            continue
        key_id, sep, key = entry.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not key:
            raise ValueError(f"previous PII key #{n}: expected <key id>:<key>")
        if key_id in ring:
            raise ValueError(f"previous PII key #{n}: key id {key_id!r} appears twice")
        ring[key_id] = key.encode()
    return ring


class PiiHasher:
    """Keyed hashing of identifiers, and redaction of payloads and text for dead letters."""

    def __init__(self, key: bytes, key_id: str) -> None:
        if not key:
            raise ValueError("the PII hash key must not be empty")
        self._key = key
        self.key_id = key_id

    @classmethod
    def ring(cls, current: PiiHasher, previous: dict[str, bytes]) -> list[PiiHasher]:
        """The current hasher, then one per previous key.

        What a person was hashed as under every key whose hashes may still be stored.
        """
        return [current, *(cls(key, key_id) for key_id, key in previous.items())]

    def hash(self, raw: str) -> str:
        """64 hex characters of HMAC-SHA256 over the normalised identifier."""
        digest = hmac.new(self._key, normalise_identifier(raw).encode(), hashlib.sha256)
        return digest.hexdigest()

    def redact(self, value: Any, depth: int = 0) -> Any:
        """A copy of a decoded payload with every PII field replaced by its hash.

        Containers deeper than :data:`MAX_DEPTH` become :data:`TOO_DEEP`: a payload nested
        hundreds of levels would otherwise exhaust Python's recursion on its way to a dead
        letter (a 500 instead of a 422).
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

    def scrub_text(self, text: str) -> str:
        """Replace identifier-looking substrings of free text by their keyed hash."""

        def _sub(match: re.Match[str]) -> str:
            return f"{REDACTED_PREFIX}{self.hash(match.group(0))}"

        return PLATE.sub(_sub, ID_NUMBER.sub(_sub, text))

    def scrub(self, value: Any, depth: int = 0) -> Any:
        """:meth:`redact`, with every other string in the payload (keys too) scrubbed.

        One pass, so a hash just put in a personal field is never scrubbed (hashed) again:
        a dead letter's ``hmac:`` value stays the one the events carry.
        """
        if isinstance(value, Mapping | list) and depth >= MAX_DEPTH:
            return TOO_DEEP
        if isinstance(value, Mapping):
            return {
                self.scrub_text(str(k)): (
                    self._redact_leaf(v)
                    if str(k).lower() in PII_FIELDS
                    else self.scrub(v, depth + 1)
                )
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.scrub(v, depth + 1) for v in value]
        if isinstance(value, str):
            return self.scrub_text(value)
        return value

    def redact_payload(self, raw: Any) -> str:
        """The text a dead letter stores: personal fields hashed, free text scrubbed, truncated."""
        if isinstance(raw, bytes | bytearray | memoryview):
            text = self.scrub_text(readable(bytes(raw)))
        elif isinstance(raw, str):
            text = self.scrub_text(raw)
        else:
            try:
                text = orjson.dumps(self.scrub(raw)).decode()
            except TypeError:
                text = self.scrub_text(repr(raw))
        return truncate(text, MAX_PAYLOAD)


# --- keyless: the workers and the sink -------------------------------------------------

MASK = "<redacted>"


def mask_text(text: str) -> str:
    """Blank digit runs of nine or more (citizen ids, phones) and plate-shaped words."""
    return PLATE.sub(MASK, ID_NUMBER.sub(MASK, text))


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


def mask_payload(raw: bytes | None, limit: int = MAX_PAYLOAD) -> str:
    """A masked text form of a rejected payload, at most ``limit`` characters."""
    if raw is None:
        return ""
    try:
        text = orjson.dumps(mask_value(orjson.loads(raw))).decode()
    except (orjson.JSONDecodeError, UnicodeDecodeError, TypeError):
        text = mask_text(readable(raw))  # UTF-16/32 too: digits apart by NULs are still seen
    return text[:limit]


def mask_key(raw: bytes) -> str:
    """A record key as a dead letter keeps it: decoded, masked, at most :data:`MAX_KEY`."""
    return mask_text(readable(raw))[:MAX_KEY]


def mask_error(text: str) -> str:
    """An error message as a dead letter keeps it: masked, at most :data:`MAX_ERROR`."""
    return mask_text(text)[:MAX_ERROR]
