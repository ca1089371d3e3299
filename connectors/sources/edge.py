"""What every connector does at the edge, in one place.

Raw identifiers become keyed hashes before validation (so nothing raw can be
produced, not even by accident), payloads are validated strictly, event time is
checked against the receiver's clock, and whatever is refused becomes a dead letter
with its personal data redacted.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from connectors.pii import PiiHasher
from schemas.base import Event
from schemas.codec import decode
from schemas.domains import CONTRACTS, DomainContract
from schemas.errors import ContractError
from schemas.results import DeadLetter
from schemas.timeutil import utcnow
from schemas.topics import DEADLETTER

STREAMS: dict[str, DomainContract] = {c.name: c for c in CONTRACTS.values()}
"""The event streams by the short name clients use."""


@dataclass(frozen=True, slots=True)
class TopicRoutes:
    """Where a connector writes: one topic per stream, and the dead-letter topic."""

    events: Mapping[str, str]
    deadletter: str = DEADLETTER

    @classmethod
    def default(cls, suffix: str = "") -> TopicRoutes:
        """The registry's topics, each with ``suffix`` appended (tests use unique ones)."""
        return cls({n: s.topic + suffix for n, s in STREAMS.items()}, DEADLETTER + suffix)

    def topic(self, stream: str) -> str:
        """The topic of one stream."""
        return self.events[stream]


# --- personal data -------------------------------------------------------------------

_PERSON_FIELDS = frozenset(
    {"citizen_id", "cccd", "cmnd", "id_number", "national_id", "identity_number", "subject_id"}
)
_VEHICLE_FIELDS = frozenset({"licence_plate", "license_plate", "plate", "plate_number", "bien_so"})
_APPLICANT_FIELDS = _PERSON_FIELDS | {"applicant_id"}
MAX_IDENTIFIER_CHARS = 64

# Free text (a body that is not JSON, an error message) can still hold an identifier:
# 9-digit CMND / 12-digit CCCD numbers, and plates such as 61A-123.45 or 51F1 12345.
_ID_NUMBER = re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)")
_PLATE = re.compile(
    r"(?<![0-9A-Za-z])\d{2}[A-Za-z]{1,2}\d?[\s.\-]{0,2}\d{3}[\s.]?\d{1,2}(?![0-9A-Za-z])"
)


def _identifier(payload: Mapping[str, Any], name: str) -> str:
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ContractError("validation", f"{name}: must be a string", (name,))
    text = str(value).strip()
    if not text or len(text) > MAX_IDENTIFIER_CHARS:
        raise ContractError(
            "validation", f"{name}: must be 1-{MAX_IDENTIFIER_CHARS} characters", (name,)
        )
    return text


def hash_personal_data(
    stream: str, payload: Mapping[str, Any], hasher: PiiHasher
) -> dict[str, Any]:
    """A copy of ``payload`` with a raw citizen id or plate replaced by its keyed hash.

    QR scans take ``citizen_id`` (a person) or ``licence_plate`` (a vehicle) and get
    ``subject_hash`` + ``pii_key_id``; dossiers take ``applicant_id`` and get
    ``applicant_hash``. Any other personal field is left in place, so strict
    validation refuses it as unknown and it is dead-lettered redacted.
    """
    data = dict(payload)
    lowered = {str(k).lower(): k for k in data}
    if stream == "qr":
        present = [lowered[n] for n in sorted(_PERSON_FIELDS | _VEHICLE_FIELDS) if n in lowered]
        if not present:
            return data
        if len(present) > 1 or "subject_hash" in data:
            fields = tuple(str(p) for p in present) + (
                ("subject_hash",) if "subject_hash" in data else ()
            )
            raise ContractError("validation", "give exactly one subject identifier", fields)
        name = present[0]
        raw = _identifier(data, name)
        del data[name]
        data["subject_hash"] = hasher.hash(raw)
        data["pii_key_id"] = hasher.key_id
        kind = "vehicle" if str(name).lower() in _VEHICLE_FIELDS else "person"
        data.setdefault("subject_kind", kind)
    elif stream == "dossier":
        present = [lowered[n] for n in sorted(_APPLICANT_FIELDS) if n in lowered]
        if len(present) > 1 or (present and "applicant_hash" in data):
            raise ContractError(
                "validation", "give one applicant identifier", tuple(map(str, present))
            )
        if present:
            raw = _identifier(data, present[0])
            del data[present[0]]
            data["applicant_hash"] = hasher.hash(raw)
    return data


def scrub_text(text: str, hasher: PiiHasher) -> str:
    """Replace identifier-looking substrings of free text by their keyed hash."""

    def _sub(match: re.Match[str]) -> str:
        return f"hmac:{hasher.hash(match.group(0))}"

    return _PLATE.sub(_sub, _ID_NUMBER.sub(_sub, text))


def _scrub_strings(value: Any, hasher: PiiHasher) -> Any:
    if isinstance(value, str):
        return scrub_text(value, hasher)
    if isinstance(value, dict):
        return {scrub_text(str(k), hasher): _scrub_strings(v, hasher) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_strings(v, hasher) for v in value]
    return value


MAX_DEAD_LETTER_PAYLOAD = 16_384


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _readable(raw: bytes) -> str:
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


def redact_payload(raw: Any, hasher: PiiHasher) -> str:
    """The text a dead letter stores: personal fields hashed, free text scrubbed, truncated."""
    if isinstance(raw, bytes | bytearray | memoryview):
        text = scrub_text(_readable(bytes(raw)), hasher)
    elif isinstance(raw, str):
        text = scrub_text(raw, hasher)
    else:
        try:
            text = orjson.dumps(_scrub_strings(hasher.redact(raw), hasher)).decode()
        except TypeError:
            text = scrub_text(repr(raw), hasher)
    if len(text) > MAX_DEAD_LETTER_PAYLOAD:
        cut = len(text) - MAX_DEAD_LETTER_PAYLOAD
        text = f"{text[:MAX_DEAD_LETTER_PAYLOAD]}...[truncated {cut} characters]"
    return text


# --- validation ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimePolicy:
    """Events too far in the future (clock skew) or older than the replay horizon are refused.

    Kafka >= 4 refuses records stamped more than 1 h ahead and fails the whole batch, and
    records older than the retention (= replay horizon) are deleted at once.
    """

    max_skew: timedelta
    horizon: timedelta

    def check(self, event: Event, now: datetime, *, check_age: bool = True) -> None:
        """Raise ContractError ``clock_skew`` or (with ``check_age``) ``too_old``."""
        when = event.event_time
        if when > now + self.max_skew:
            raise ContractError(
                "clock_skew",
                f"{event.TIME_FIELD}: {when.isoformat()} is more than "
                f"{int(self.max_skew.total_seconds())} s ahead of the receiver's clock",
                (event.TIME_FIELD,),
            )
        if check_age and when < now - self.horizon:
            raise ContractError(
                "too_old",
                f"{event.TIME_FIELD}: {when.isoformat()} is older than the replay horizon "
                f"({self.horizon.days} days)",
                (event.TIME_FIELD,),
            )


@dataclass(slots=True)
class EdgeValidator:
    """Raw payload -> validated event, or ContractError with a reason and the bad fields."""

    hasher: PiiHasher
    policy: TimePolicy
    clock: Callable[[], datetime] = field(default=utcnow)

    def validate(
        self,
        stream: DomainContract,
        item: Any,
        *,
        source: str,
        event_id: uuid.UUID | None = None,
        now: datetime | None = None,
        check_age: bool = True,
    ) -> Event:
        """Hash personal data, fill source and id, validate strictly, check event time."""
        if not isinstance(item, dict):
            raise ContractError(
                "invalid_shape", f"expected a JSON object, got {type(item).__name__}"
            )
        data = hash_personal_data(stream.name, item, self.hasher)
        data.setdefault("source", source)
        if event_id is not None and data.get("event_id") is None:
            data["event_id"] = str(event_id)
        event = decode(stream.model, data, strict=True)
        self.policy.check(event, now if now is not None else self.clock(), check_age=check_age)
        return event

    def dead_letter(
        self,
        *,
        source_topic: str,
        reason: str,
        error: str,
        payload: Any,
        producer: str,
        key: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> DeadLetter:
        """A dead letter whose payload and error text carry no raw identifier."""
        return DeadLetter(
            source_topic=source_topic,
            partition=partition,
            offset=offset,
            key=scrub_text(key, self.hasher)[:1_024] if key else None,
            reason=reason,
            error=scrub_text(error, self.hasher)[:4_096],
            payload=redact_payload(payload, self.hasher),
            producer=producer,
            failed_at=self.clock(),
        )
