"""What every connector does at the edge, in one place.

Raw identifiers become keyed hashes before validation (so nothing raw can be
produced, not even by accident), payloads are validated strictly, event time is
checked against the receiver's clock, and whatever is refused becomes a dead letter
with its personal data redacted.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.base import Event
from schemas.codec import decode
from schemas.domains import CONTRACTS, DomainContract
from schemas.errors import ContractError
from schemas.privacy import MAX_ERROR, MAX_KEY, PERSON_FIELDS, VEHICLE_FIELDS, PiiHasher
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

# Which identifiers each stream takes is the connectors' business; what personal data
# looks like, how it is hashed and how a dead letter is redacted is schemas.privacy's.
_APPLICANT_FIELDS = PERSON_FIELDS | {"applicant_id"}
MAX_IDENTIFIER_CHARS = 64


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


CONNECTOR_PSEUDONYMS: dict[str, frozenset[str]] = {
    "qr": frozenset({"subject_hash", "pii_key_id"}),
    "dossier": frozenset({"applicant_hash"}),
}
"""Fields only a connector writes (the keyed hash and its key id); a client's are refused."""


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
    supplied = sorted(set(lowered) & CONNECTOR_PSEUDONYMS.get(stream, frozenset()))
    if supplied:
        # Only the connector's keyed hash is a pseudonym: a client's unkeyed SHA-256 of a
        # 12-digit citizen id would pass the contract and be reversible by brute force.
        raise ContractError(
            "client_pseudonym",
            f"{', '.join(supplied)} is set by the connector; send the raw identifier "
            "(citizen_id or licence_plate; applicant_id for dossiers)",
            tuple(str(lowered[s]) for s in supplied),
        )
    if stream == "qr":
        present = [lowered[n] for n in sorted(PERSON_FIELDS | VEHICLE_FIELDS) if n in lowered]
        if not present:
            return data
        if len(present) > 1:
            fields = tuple(str(p) for p in present)
            raise ContractError("validation", "give exactly one subject identifier", fields)
        name = present[0]
        raw = _identifier(data, name)
        del data[name]
        data["subject_hash"] = hasher.hash(raw)
        data["pii_key_id"] = hasher.key_id
        kind = "vehicle" if str(name).lower() in VEHICLE_FIELDS else "person"
        data.setdefault("subject_kind", kind)
    elif stream == "dossier":
        present = [lowered[n] for n in sorted(_APPLICANT_FIELDS) if n in lowered]
        if len(present) > 1:
            raise ContractError(
                "validation", "give one applicant identifier", tuple(map(str, present))
            )
        if present:
            raw = _identifier(data, present[0])
            del data[present[0]]
            data["applicant_hash"] = hasher.hash(raw)
    return data


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
            key=self.hasher.scrub_text(key)[:MAX_KEY] if key else None,
            reason=reason,
            error=self.hasher.scrub_text(error)[:MAX_ERROR],
            payload=self.hasher.redact_payload(payload),
            producer=producer,
            failed_at=self.clock(),
        )
