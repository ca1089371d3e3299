"""File replay: JSONL or CSV -> one stream's topic, with a field map and pacing.

``--speedup X`` replays the original event-time spacing X times faster; ``--rate N``
caps events per second; with both, each event waits for the later of the two. Rows
that do not validate are dead-lettered with their line number as the offset.
"""

from __future__ import annotations

import asyncio
import csv
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import orjson
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry

from connectors.sources.base import ConfigurationError, Connector, ConnectorError
from connectors.sources.edge import STREAMS, EdgeValidator, TopicRoutes
from connectors.sources.link import KafkaLink
from connectors.sources.producer import EventProducer
from schemas.base import Event
from schemas.domains import DomainContract
from schemas.errors import ContractError
from schemas.results import DeadLetter

FileFormat = Literal["jsonl", "csv"]
log = logging.getLogger(__name__)
SOURCE = "file"


def parse_mapping(pairs: list[str]) -> dict[str, str]:
    """``["src=dst", "old="]`` -> rename src to dst (dotted = nested); an empty dst drops."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        src, sep, dst = pair.partition("=")
        if not sep or not src:
            raise ConfigurationError(f"--map expects src=dst, got {pair!r}")
        mapping[src.strip()] = dst.strip()
    return mapping


def apply_mapping(record: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Rename and drop fields, then nest dotted names (``voltage_v.l1`` -> voltage_v.l1)."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = mapping.get(key, key)
        if not name:
            continue
        parts = name.split(".")
        node = out
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ContractError("validation", f"{name}: clashes with field {part}", (name,))
            node = child
        node[parts[-1]] = value
    return out


def detect_format(path: Path) -> FileFormat:
    """By suffix: .csv is CSV, everything else JSON Lines."""
    return "csv" if path.suffix.lower() == ".csv" else "jsonl"


def read_records(path: Path, fmt: FileFormat) -> Iterator[tuple[int, Any]]:
    """(line number, record or the raw line that did not parse)."""
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                # An empty cell is an absent value, so optional fields stay unset.
                yield reader.line_num, {k: v for k, v in row.items() if k and v not in ("", None)}
        return
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if line.strip():
                yield number, line


@dataclass(frozen=True, slots=True)
class FileJob:
    path: Path
    stream: str
    topic: str | None = None
    """None = the stream's routed topic."""
    fmt: FileFormat | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    rate: float | None = None
    speedup: float | None = None
    batch_size: int = 500


@dataclass(slots=True)
class FileReport:
    read: int = 0
    accepted: int = 0
    rejected: int = 0
    seconds: float = 0.0


class _Pacer:
    """When each event may go: event-time spacing / speedup, and at most ``rate`` per s."""

    def __init__(self, rate: float | None, speedup: float | None) -> None:
        self._rate, self._speedup = rate, speedup
        self._t0: datetime | None = None
        self._w0 = time.monotonic()
        self._sent = 0

    def due(self, event_time: datetime | None) -> float:
        due = self._w0
        if self._rate:
            due = max(due, self._w0 + self._sent / self._rate)
        if self._speedup and event_time is not None:
            if self._t0 is None:
                self._t0 = event_time
            due = max(due, self._w0 + (event_time - self._t0).total_seconds() / self._speedup)
        self._sent += 1
        return due


@dataclass(slots=True)
class _Replay:
    """One run's state: what is pending for the next write, and the tally."""

    job: FileJob
    spec: DomainContract
    topic: str
    pacer: _Pacer = field(init=False)
    report: FileReport = field(default_factory=FileReport)
    events: list[Event] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pacer = _Pacer(self.job.rate, self.job.speedup)


class FileConnector(Connector):
    """Replays files into Kafka; one run per call of :meth:`run`."""

    name = "file"
    write_attempts = 6
    """Tries of one batch before the run fails: 0.5 + 1 + 2 + 4 + 8 s of waits, plus a
    request timeout each (a KRaft failover takes about the broker session timeout, 9 s)."""
    retry_min_s = 0.5
    retry_max_s = 8.0

    def __init__(
        self,
        *,
        validator: EdgeValidator,
        routes: TopicRoutes,
        producer_factory: Callable[[], EventProducer],
        registry: CollectorRegistry | None = None,
    ) -> None:
        super().__init__(registry)
        self._validator = validator
        self._routes = routes
        self.link = KafkaLink(producer_factory, self.metrics.kafka_up)

    async def start(self) -> None:
        """Connect to Kafka; fail at once if it does not answer (a batch job, no one waits)."""
        await self.link.start(wait=True)

    async def stop(self) -> None:
        """Flush and disconnect."""
        await self.link.stop()

    async def run(
        self, job: FileJob, on_progress: Callable[[int], None] | None = None
    ) -> FileReport:
        """Replay one file; every line is either acknowledged by Kafka or dead-lettered."""
        if job.stream not in STREAMS:
            raise ConfigurationError(f"unknown stream {job.stream!r}; one of {', '.join(STREAMS)}")
        replay = _Replay(job, STREAMS[job.stream], job.topic or self._routes.topic(job.stream))
        started = time.monotonic()
        try:
            await self._replay(replay, on_progress)
        except UnicodeDecodeError as exc:
            # CSV is decoded as a whole stream: one bad byte stops the file, said clearly.
            raise ConnectorError(f"{job.path}: not UTF-8 ({exc})") from None
        replay.report.seconds = time.monotonic() - started
        return replay.report

    async def _replay(self, r: _Replay, on_progress: Callable[[int], None] | None) -> None:
        async def flush() -> None:
            await self._write(r)
            if on_progress is not None:
                on_progress(len(r.events) + len(r.letters))
            r.events.clear()
            r.letters.clear()

        job = r.job
        for line, raw in read_records(job.path, job.fmt or detect_format(job.path)):
            r.report.read += 1
            try:
                record = orjson.loads(raw) if isinstance(raw, bytes) else raw
                if not isinstance(record, dict):
                    raise ContractError("invalid_shape", "each line must be a JSON object")
                event = self._validator.validate(
                    r.spec, apply_mapping(record, job.mapping), source=SOURCE
                )
            except orjson.JSONDecodeError:
                r.letters.append(self._letter(r, line, "invalid_json", "not JSON", raw))
                continue
            except ContractError as exc:
                r.letters.append(self._letter(r, line, exc.reason, str(exc), raw))
                continue
            wait = r.pacer.due(event.event_time) - time.monotonic()
            if wait > 0:
                await flush()  # what is due goes out before sleeping
                await asyncio.sleep(wait)
            r.events.append(event)
            if len(r.events) + len(r.letters) >= job.batch_size:
                await flush()
        await flush()

    def _letter(self, r: _Replay, line: int, reason: str, error: str, raw: Any) -> DeadLetter:
        return self._validator.dead_letter(
            source_topic=r.topic,
            reason=reason,
            error=f"{r.job.path.name} line {line}: {error}",
            payload=raw,
            producer=SOURCE,
            key=f"{r.job.path.name}:{line}",
            offset=line,
        )

    async def _write(self, r: _Replay) -> None:
        # A broker failover (a leader gone until the controller fences it) outlasts one
        # request timeout: the batch is sent again rather than the file abandoned halfway.
        # A record the failed attempt did write comes twice; its event_id lets the
        # worker and the sink keep one.
        delay = self.retry_min_s
        for attempt in range(1, self.write_attempts + 1):
            try:
                await self._send(r)
                break
            except KafkaError as exc:
                if attempt == self.write_attempts:
                    raise ConnectorError(
                        f"{r.job.path.name}: Kafka refused a batch {attempt} times, last: "
                        f"{type(exc).__name__}: {exc}; {r.report.accepted} events were "
                        "written before it (a re-run writes them again, once each downstream)"
                    ) from exc
                log.warning("a batch failed (%s: %s); sending it again in %.1f s",
                            type(exc).__name__, exc, delay)  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(self.retry_max_s, delay * 2)
        r.report.accepted += len(r.events)
        r.report.rejected += len(r.letters)
        stream = r.spec.name
        self.metrics.count(stream, "accepted", len(r.events))
        self.metrics.count(stream, "rejected", len(r.letters))
        for letter in r.letters:
            self.metrics.dead_lettered(stream, letter.reason)

    async def _send(self, r: _Replay) -> None:
        producer = self.link.producer
        with self.metrics.produce_seconds.time():
            if r.events:
                await producer.send_events(r.topic, r.events)
            if r.letters:
                await producer.send_dead_letters(r.letters, self._routes.deadletter)
