"""What every event contract shares: identity, version, timezone-aware time, NFC text.

Strict at the edge, tolerant inside: connectors validate with
``schemas.codec.decode(..., strict=True)`` (unknown fields rejected at every level);
stream consumers use the plain model (unknown fields ignored). Both reject an
unknown *major* version: a minor version only ever adds optional fields, a breaking
change is a new major version and a new topic.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from schemas.timeutil import to_utc

# Namespace of every derived event id. Never change it: ids of retried and
# redelivered events must stay what they were.
EVENT_ID_NAMESPACE = uuid.UUID("5b0c3f5e-7a39-4f64-9c1e-1d0c6b1f0a01")
NIL_UUID = uuid.UUID(int=0)
ASCII_INPUT = "ascii_input"
"""Validation-context flag: the payload's bytes were pure ASCII (so already NFC)."""

UtcDatetime = Annotated[AwareDatetime, AfterValidator(to_utc)]
"""An aware timestamp, stored in UTC. Naive timestamps are rejected, never guessed."""

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-/]+$")]
"""Identifiers that joins use (entity ids, area codes): ASCII, never names."""

Text = Annotated[str, Field(max_length=512)]


def derive_event_id(source: str, entity: str, event_time: datetime, sequence: int = 0) -> uuid.UUID:
    """UUIDv5 of (source, entity, event time, sequence).

    A retried HTTP request or a redelivered MQTT message carries the same four
    values, so it gets the same id and is de-duplicated downstream.
    """
    name = f"{source}|{entity}|{to_utc(event_time).isoformat()}|{sequence}"
    return uuid.uuid5(EVENT_ID_NAMESPACE, name)


def _nfc(value: Any) -> Any:
    # Hot path (every event on every consumer): return the very same object when
    # nothing changes, and skip ASCII text, which is always NFC.
    if isinstance(value, str):
        if value.isascii() or unicodedata.is_normalized("NFC", value):
            return value
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        changed = {k: n for k, v in value.items() if (n := _nfc(v)) is not v}
        return {**value, **changed} if changed else value
    if isinstance(value, list):
        items = [_nfc(v) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value


class Contract(BaseModel):
    """Base of events and results: no NaN/Infinity, NFC text, validated on assignment."""

    model_config = ConfigDict(extra="ignore", allow_inf_nan=False, validate_assignment=False)

    @model_validator(mode="before")
    @classmethod
    def _normalise_text(cls, data: Any, info: ValidationInfo) -> Any:
        # Vietnamese text arrives both composed and decomposed; joins and
        # de-duplication must not depend on which keyboard produced it.
        # A decoder that saw pure-ASCII bytes says so: nothing to normalise.
        if info.context and info.context.get(ASCII_INPUT):
            return data
        return _nfc(data)


class HandEdited(Contract):
    """A part of a file people edit by hand (a profile, its calendar): a misspelt field fails."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Event(Contract):
    """Common fields of the four event streams."""

    SCHEMA_MAJOR: ClassVar[int] = 1
    SCHEMA_MINOR: ClassVar[int] = 0
    KEY_FIELD: ClassVar[str]
    """The field whose value is the Kafka key: the event's group."""
    TIME_FIELD: ClassVar[str]
    """The field that holds event time; workers take time only from here."""

    event_id: uuid.UUID = Field(
        default=NIL_UUID,
        description="Client id; when absent, UUIDv5 of (source, entity, event time, sequence)",
    )
    source: Code = Field(description="The connector or client that produced the event")
    schema_version: str = Field(default="1.0", pattern=r"^[0-9]+\.[0-9]+$")

    @field_validator("schema_version")
    @classmethod
    def _known_major(cls, value: str) -> str:
        if int(value.split(".", 1)[0]) != cls.SCHEMA_MAJOR:
            raise ValueError(
                f"unknown major schema_version {value!r}; "
                f"this reader understands {cls.SCHEMA_MAJOR}.x"
            )
        return value

    @model_validator(mode="after")
    def _derive_missing_id(self) -> Self:
        if self.event_id == NIL_UUID:
            entity, sequence = self.identity()
            self.event_id = derive_event_id(self.source, entity, self.event_time, sequence)
        return self

    @property
    def event_time(self) -> datetime:
        """Event time (UTC), whatever the stream calls it."""
        value: datetime = getattr(self, self.TIME_FIELD)
        return value

    @property
    def key(self) -> str:
        """The Kafka key: the event's group (segment, feeder, check-point, agency)."""
        return str(getattr(self, self.KEY_FIELD))

    def identity(self) -> tuple[str, int]:
        """(entity, sequence) that make the derived event id unique per real-world event."""
        raise NotImplementedError

    def to_json(self) -> bytes:
        """The wire form: UTF-8 JSON, UTC timestamps."""
        return self.model_dump_json().encode()
