"""Mosquitto -> Kafka, acknowledging each MQTT message only after Kafka acknowledged it.

paho runs its network loop in its own thread and hands messages to the asyncio loop;
one worker takes them in arrival order in small batches, writes events and dead
letters to Kafka (acks=all), and only then sends the PUBACKs, in the same order.
A crash before the PUBACK means the broker redelivers (persistent session, QoS 1);
the redelivery maps to the same event_id, so it is skipped here when this process
already wrote it and de-duplicated downstream otherwise.

Throughput is bounded by Mosquitto's ``max_inflight_messages`` (default 20): the
broker sends no more unacknowledged messages than that, so a batch is at most 20
messages per Kafka round trip unless the broker is configured otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from aiokafka.errors import KafkaError
from prometheus_client import CollectorRegistry, Counter, Gauge

from connectors.sources.base import Connector
from connectors.sources.edge import STREAMS, EdgeValidator, TopicRoutes
from connectors.sources.link import KafkaLink
from connectors.sources.mqtt.mapping import MAPPERS
from connectors.sources.mqtt.security import MqttLogin, make_client
from connectors.sources.producer import EventProducer
from schemas.base import Event
from schemas.errors import ContractError, ServiceUnavailableError
from schemas.results import DeadLetter

log = logging.getLogger(__name__)
SOURCE = "mqtt-bridge"
"""The ``source`` of bridged events; part of their derived ids, so never change it."""


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "ioc-mqtt-bridge"
    login: MqttLogin = field(default_factory=MqttLogin)
    """Its own account (read-only on the device topics) over TLS (decision 0033)."""
    topics: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "traffic": ("city/traffic/+/obs",),
            "energy": ("city/energy/+/reading",),
        }
    )
    keepalive_s: int = 30
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    max_batch: int = 100
    seen_capacity: int = 100_000


@dataclass(frozen=True, slots=True)
class Inbound:
    """One MQTT message, tagged with the connection it arrived on."""

    mid: int
    qos: int
    topic: str
    payload: bytes
    session: int


@dataclass(slots=True)
class _Batch:
    items: list[Inbound]
    events: list[tuple[str, Event]] = field(default_factory=list)
    letters: list[tuple[str, DeadLetter]] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


class MqttBridge(Connector):
    """Subscribes at QoS 1 with a persistent session; manual, ordered acknowledgements."""

    name = "mqtt"

    def __init__(
        self,
        *,
        config: BridgeConfig,
        validator: EdgeValidator,
        routes: TopicRoutes,
        producer_factory: Callable[[], EventProducer],
        registry: CollectorRegistry | None = None,
    ) -> None:
        super().__init__(registry)
        self.config = config
        self._validator = validator
        self._routes = routes
        self.link = KafkaLink(producer_factory, self.metrics.kafka_up)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._session = 0
        self._accepting = False
        self._queue: asyncio.Queue[Inbound | None] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: mqtt.Client | None = None
        self.connected = Gauge(
            "ioc_mqtt_connected", "1 while connected to the broker", registry=self.registry
        )
        self.connects = Counter(
            "ioc_mqtt_connects", "Connections made (the first and every reconnect)",
            registry=self.registry,
        )  # fmt: skip
        self.pending = Gauge(
            "ioc_mqtt_unacked", "Messages received and not yet acknowledged", registry=self.registry
        )
        self.subscribed = asyncio.Event()

    # --- paho thread ---------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _u: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            # A wrong password or an unknown account: paho keeps retrying with backoff.
            log.warning("MQTT connect refused: %s (user %r)", rc, self.config.login.username)
            return
        self._session += 1
        self.connects.inc()
        self.connected.set(1)
        # Subscribing again is harmless with a persistent session, and needed without one.
        patterns = [(p, 1) for ps in self.config.topics.values() for p in ps]
        client.subscribe(patterns)

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, codes: Any, _p: Any) -> None:
        if any(c.is_failure for c in codes):
            log.error("MQTT subscription refused: %s", codes)
            return
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.subscribed.set)

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        self.connected.set(0)
        log.warning("MQTT disconnected (%s); paho reconnects with backoff", rc)

    def _on_message(self, _c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        # Runs on paho's thread: hand over and return. Once stopping, new messages are
        # left unacknowledged; the broker keeps them for the persistent session.
        if not self._accepting or self._loop is None:
            return
        try:
            topic = message.topic
        except UnicodeDecodeError:
            topic = "<invalid utf-8 topic>"
        item = Inbound(message.mid, message.qos, topic, bytes(message.payload), self._session)
        self._loop.call_soon_threadsafe(self._enqueue, item)

    # --- asyncio side --------------------------------------------------------------

    def _enqueue(self, item: Inbound) -> None:
        self._queue.put_nowait(item)
        self.pending.inc()

    async def start(self) -> None:
        """Connect to Kafka (in the background) and to the broker; start the worker."""
        self._loop = asyncio.get_running_loop()
        await self.link.start(wait=False)
        client = make_client(
            self.config.login, self.config.client_id, clean_session=False, manual_ack=True
        )
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(self.config.reconnect_min_s, self.config.reconnect_max_s)
        self._client = client
        self._accepting = True
        self._worker = asyncio.create_task(self._run(), name="mqtt-bridge-worker")
        client.connect_async(self.config.host, self.config.port, self.config.keepalive_s)
        client.loop_start()

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Stop taking messages, finish what was received, then disconnect."""
        self._accepting = False
        if self._worker is not None:
            self._queue.put_nowait(None)
            try:
                await asyncio.wait_for(asyncio.shield(self._worker), timeout_s)
            except TimeoutError:
                # Kafka is not answering: leave the rest unacknowledged for redelivery.
                self._worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._worker
            self._worker = None
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None
        self.connected.set(0)
        await self.link.stop()

    async def stopped(self) -> None:
        """Return when the bridge's worker task ends; raise what ended it.

        ``ioc connector mqtt`` waits on this beside SIGTERM: a worker that died would
        otherwise leave a process that looks connected and acknowledges nothing.
        """
        if self._worker is not None:
            await asyncio.shield(self._worker)

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            if first is None:
                return
            items = [first]
            done = False
            while len(items) < self.config.max_batch and not self._queue.empty():
                nxt = self._queue.get_nowait()
                if nxt is None:
                    done = True
                    break
                items.append(nxt)
            await self._handle(self._map(_Batch(items)))
            self.pending.dec(len(items))
            if done:
                return

    def _stream_for(self, topic: str) -> tuple[str, str | None] | None:
        for stream, patterns in self.config.topics.items():
            for pattern in patterns:
                if mqtt.topic_matches_sub(pattern, topic):
                    levels, parts = pattern.split("/"), topic.split("/")
                    plus = [parts[i] for i, p in enumerate(levels) if p == "+" and i < len(parts)]
                    return stream, (plus[0] if plus else None)
        return None

    def _map(self, batch: _Batch) -> _Batch:
        in_batch: set[str] = set()
        for item in batch.items:
            match = self._stream_for(item.topic)
            stream = match[0] if match else "unknown"
            topic = self._routes.events.get(stream, self._routes.deadletter)
            try:
                if match is None:
                    raise ContractError("unknown_topic", f"no stream for MQTT topic {item.topic!r}")
                try:
                    payload = orjson.loads(item.payload)
                except orjson.JSONDecodeError:
                    raise ContractError("invalid_json", "payload is not UTF-8 JSON") from None
                if not isinstance(payload, dict):
                    raise ContractError("invalid_shape", "payload must be a JSON object")
                fields = MAPPERS[stream](payload, match[1])
                event = self._validator.validate(STREAMS[stream], fields, source=SOURCE)
            except Exception as exc:
                # Any message the bridge cannot turn into an event is dead-lettered and
                # counted, never allowed to stop the bridge: a ContractError names the
                # reason, anything else (a mapper that trips on a value) says so.
                reason = exc.reason if isinstance(exc, ContractError) else "unprocessable"
                if not isinstance(exc, ContractError):
                    log.warning("mqtt topic %s: %r; dead-lettered", item.topic, exc)
                letter = self._validator.dead_letter(
                    source_topic=topic,
                    reason=reason,
                    error=f"mqtt topic {item.topic}: {exc}",
                    payload=item.payload,
                    producer=SOURCE,
                    key=item.topic,
                )
                batch.letters.append((stream, letter))
                continue
            event_id = str(event.event_id)
            if event_id in self._seen or event_id in in_batch:
                batch.duplicates.append(stream)  # a QoS 1 redelivery already written
                continue
            in_batch.add(event_id)
            batch.events.append((topic, event))
        return batch

    async def _handle(self, batch: _Batch) -> None:
        delay = 0.5
        while True:
            try:
                await self._write(batch)
                self.link.report(ok=True)
                break
            except (KafkaError, ServiceUnavailableError, TimeoutError) as exc:
                self.link.report(ok=False)
                # Not acknowledged, so nothing is lost: retry until Kafka answers.
                log.warning("Kafka write failed (%r); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        for _topic, event in batch.events:
            self._remember(str(event.event_id))
            self.metrics.count(self._stream_of(event), "accepted")
        for stream, letter in batch.letters:
            self.metrics.count(stream, "rejected")
            self.metrics.dead_lettered(stream, letter.reason)
        for stream in batch.duplicates:
            self.metrics.count(stream, "duplicate")
        self._ack(batch.items)

    async def _write(self, batch: _Batch) -> None:
        await self.link.wait_connected()
        producer = self.link.producer
        with self.metrics.produce_seconds.time():
            by_topic: dict[str, list[Event]] = {}
            for topic, event in batch.events:
                by_topic.setdefault(topic, []).append(event)
            for topic, events in by_topic.items():
                await producer.send_events(topic, events)
            if batch.letters:
                letters = [letter for _stream, letter in batch.letters]
                await producer.send_dead_letters(letters, self._routes.deadletter)

    def _ack(self, items: list[Inbound]) -> None:
        client = self._client
        if client is None:
            return
        for item in items:
            # A message from an earlier connection must not be acked on this one: its
            # mid may now name another message. The broker redelivers it instead.
            if item.qos > 0 and item.session == self._session:
                client.ack(item.mid, item.qos)

    def _remember(self, event_id: str) -> None:
        self._seen[event_id] = None
        if len(self._seen) > self.config.seen_capacity:
            self._seen.popitem(last=False)

    @staticmethod
    def _stream_of(event: Event) -> str:
        return next(n for n, s in STREAMS.items() if isinstance(event, s.model))
