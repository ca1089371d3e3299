"""One ingest request, independent of the web framework: parse, validate, write, answer.

A batch is accepted item by item: valid items are written, invalid ones are
dead-lettered and named in the answer (422). Refusing a whole batch for one bad
item would make a client either drop the good events or retry forever; with
per-item ids a retry of a partly accepted batch is still harmless.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka.errors import KafkaError

from connectors.sources.base import ConnectorMetrics
from connectors.sources.edge import EdgeValidator, TopicRoutes
from connectors.sources.http.idempotency import idempotent_event_id
from connectors.sources.http.keys import ApiKey
from connectors.sources.link import KafkaLink
from schemas.base import Event
from schemas.domains import DomainContract
from schemas.errors import ContractError, ServiceUnavailableError
from schemas.results import DeadLetter

PRODUCER_NAME = "http-gateway"


@dataclass(slots=True)
class IngestResult:
    """The answer to give, and what happened to each item."""

    status: int
    body: dict[str, Any]
    accepted: int = 0
    rejected: int = 0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Rejected:
    index: int
    error: ContractError
    payload: Any

    def describe(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "reason": self.error.reason,
            "fields": list(self.error.fields),
            "message": str(self.error),
        }


class PayloadTooLargeError(ContractError):
    """More items than one request may carry."""


class Ingestor:
    """Turns a request body into acknowledged Kafka records and dead letters."""

    def __init__(
        self,
        *,
        validator: EdgeValidator,
        routes: TopicRoutes,
        link: KafkaLink,
        metrics: ConnectorMetrics,
        max_batch: int,
        kafka_timeout_s: float,
    ) -> None:
        self._validator = validator
        self._routes = routes
        self._link = link
        self._metrics = metrics
        self._max_batch = max_batch
        self._timeout = kafka_timeout_s

    def _items(self, body: bytes) -> tuple[list[Any], bool]:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError:
            # orjson also refuses NaN/Infinity literals and invalid UTF-8: not JSON.
            raise ContractError("invalid_json", "the body is not valid UTF-8 JSON") from None
        if isinstance(parsed, dict):
            return [parsed], False
        if isinstance(parsed, list):
            if not parsed:
                raise ContractError("empty_batch", "a batch needs at least one event")
            if len(parsed) > self._max_batch:
                raise PayloadTooLargeError(
                    "batch_too_large", f"at most {self._max_batch} events per request"
                )
            return parsed, True
        raise ContractError("invalid_shape", "expected a JSON object or an array of objects")

    def _check_one(
        self, stream: DomainContract, key: ApiKey, item: Any, event_id: uuid.UUID | None
    ) -> Event:
        if isinstance(item, dict) and "source" in item and item["source"] != key.source:
            # A key writes as its own source only: sources are how data quality is tracked.
            raise ContractError(
                "source_mismatch", f"source: this API key writes as {key.source!r}", ("source",)
            )
        return self._validator.validate(stream, item, source=key.source, event_id=event_id)

    async def ingest(
        self, stream: DomainContract, key: ApiKey, body: bytes, idempotency_key: str | None
    ) -> IngestResult:
        """Validate and write one request; ServiceUnavailableError when Kafka does not ack."""
        topic = self._routes.topic(stream.name)
        try:
            items, is_batch = self._items(body)
        except PayloadTooLargeError as exc:
            self._metrics.count(stream.name, "rejected")
            return IngestResult(413, {"error": exc.reason, "message": str(exc)}, rejected=1)
        except ContractError as exc:
            if exc.reason == "empty_batch":  # nothing was sent, so nothing to dead-letter
                answer = {"accepted": 0, "rejected": 0, "error": exc.reason, "message": str(exc)}
                return IngestResult(422, answer)
            rejected = [_Rejected(0, exc, body)]
            await self._write(stream, topic, key, [], rejected)
            return self._answer(stream, [], rejected, is_batch=False)

        accepted: list[tuple[int, Event]] = []
        rejected = []
        for index, item in enumerate(items):
            event_id = (
                idempotent_event_id(key.source, stream.name, idempotency_key, index)
                if idempotency_key
                else None
            )
            try:
                accepted.append((index, self._check_one(stream, key, item, event_id)))
            except ContractError as exc:
                rejected.append(_Rejected(index, exc, item))
        await self._write(stream, topic, key, [e for _, e in accepted], rejected)
        return self._answer(stream, accepted, rejected, is_batch=is_batch)

    async def _write(
        self,
        stream: DomainContract,
        topic: str,
        key: ApiKey,
        events: list[Event],
        rejected: list[_Rejected],
    ) -> None:
        letters = [
            self._validator.dead_letter(
                source_topic=topic,
                reason=r.error.reason,
                error=f"item {r.index}: {r.error}",
                payload=r.payload,
                producer=PRODUCER_NAME,
                key=key.source,
            )
            for r in rejected
        ]
        producer = self._link.producer  # raises ServiceUnavailableError while disconnected
        with self._metrics.produce_seconds.time():
            try:
                await asyncio.wait_for(self._send(producer, topic, events, letters), self._timeout)
            except (TimeoutError, KafkaError) as exc:
                self._link.report(ok=False)
                raise ServiceUnavailableError(f"Kafka did not acknowledge: {exc!r}") from exc
        self._link.report(ok=True)
        for r in rejected:
            self._metrics.dead_lettered(stream.name, r.error.reason)

    async def _send(
        self, producer: Any, topic: str, events: list[Event], letters: list[DeadLetter]
    ) -> None:
        if events:
            await producer.send_events(topic, events)
        if letters:
            await producer.send_dead_letters(letters, self._routes.deadletter)

    def _answer(
        self,
        stream: DomainContract,
        accepted: list[tuple[int, Event]],
        rejected: list[_Rejected],
        *,
        is_batch: bool,
    ) -> IngestResult:
        self._metrics.count(stream.name, "accepted", len(accepted))
        self._metrics.count(stream.name, "rejected", len(rejected))
        errors = [r.describe() for r in rejected]
        body: dict[str, Any]
        if is_batch:
            body = {
                "accepted": len(accepted),
                "rejected": len(rejected),
                "event_ids": [{"index": i, "event_id": str(e.event_id)} for i, e in accepted],
                "errors": errors,
            }
        elif accepted:
            body = {"accepted": 1, "rejected": 0, "event_id": str(accepted[0][1].event_id)}
        else:
            body = {"accepted": 0, "rejected": 1, "errors": errors}
        status = 422 if rejected else 200
        return IngestResult(status, body, accepted=len(accepted), rejected=len(rejected))
