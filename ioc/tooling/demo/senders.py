"""Simulator outputs that go through the real connectors (docs/simulator.md, ``Output``).

- :class:`HttpOutput`: QR scans, as a check-point app would POST them to the gateway;
- :class:`MqttOutput`: traffic and energy telemetry, as sensors publish it (QoS 1);
- :class:`OutboxOutput`: dossier status changes, written into the one-stop-shop
  database through its own write path, for the outbox poller to pick up;
- :class:`RoutingOutput`: each topic to its sink.

Events arrive validated and hashed; what a device would not send (our ``source``, the
simulator's derived ids) is left out, so each connector stamps and derives its own.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import orjson
import psycopg
from paho.mqtt import client as mqtt

from connectors.sources.mqtt.security import MqttLogin, make_client
from connectors.sources.outbox.seed import StatusChange, record_change
from ioc.tooling.simulator.identities import IdentityBook
from schemas.base import Event
from schemas.events import DossierStatus, DossierStatusChange
from schemas.topics import DOSSIER_STATUS, ENERGY_READINGS, QR_SCANS, TRAFFIC_OBS

DEVICE_DROPS = ("event_id", "source", "schema_version")


def device_payload(event: Event, keep_id: bool = False) -> dict[str, Any]:
    """The event as its device would send it: our own stamps removed."""
    data: dict[str, Any] = orjson.loads(event.to_json())
    for name in DEVICE_DROPS:
        if keep_id and name == "event_id":
            continue
        data.pop(name, None)
    return data


def _retry_delay(response: httpx.Response, attempt: int) -> float:
    """429: the gateway's Retry-After (at most 5 s); 503: exponential backoff."""
    backoff = min(5.0, 0.2 * 2.0**attempt)
    if response.status_code != 429:
        return backoff
    try:
        return min(5.0, float(response.headers["Retry-After"]))
    except (KeyError, ValueError):
        return backoff


class HttpOutput:
    """Batches of QR scans to ``POST /v1/streams/qr/events``, with an Idempotency-Key."""

    def __init__(self, base_url: str, api_key: str, *, batch_size: int = 200) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.batch_size = batch_size
        self._buffer: list[Event] = []
        self._client: httpx.AsyncClient | None = None
        self.accepted = 0
        self.identities: IdentityBook | None = None
        """Where the raw ids behind the simulator's hashes are: set before the first send."""

    async def start(self) -> None:
        """Open the HTTP client."""
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=15.0)

    def _as_app_sends(self, event: Event) -> dict[str, Any]:
        # A check-point app sends the raw citizen id or plate; the gateway hashes it (and
        # refuses a pseudonym from a client), so the stored hash is the same as ours.
        data = device_payload(event, keep_id=True)
        if self.identities is None:
            raise RuntimeError("HttpOutput.identities is not set")
        kind, raw = self.identities.subject_of(data.pop("subject_hash"))
        data.pop("pii_key_id", None)
        data["citizen_id" if kind == "person" else "licence_plate"] = raw
        return data

    async def send(self, topic: str, event: Event) -> None:
        """Buffer; post a full batch."""
        self._buffer.append(event)
        if len(self._buffer) >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        """Post what is buffered; retry on 503 (Kafka away) and 429 (over the key's limits)."""
        if not self._buffer or self._client is None:
            return
        batch, self._buffer = self._buffer, []
        # The app's own ids are kept: a retry of this batch carries the same ids.
        body = orjson.dumps([self._as_app_sends(e) for e in batch])
        key = hashlib.sha256(b"".join(str(e.event_id).encode() for e in batch)).hexdigest()
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Idempotency-Key": key,
            "Content-Type": "application/json",
        }
        for attempt in range(30):
            response = await self._client.post(
                "/v1/streams/qr/events", content=body, headers=headers
            )
            if response.status_code not in (429, 503):
                break
            await asyncio.sleep(_retry_delay(response, attempt))
        if response.status_code not in (200, 422):
            raise RuntimeError(f"gateway answered {response.status_code}: {response.text[:300]}")
        self.accepted += len(batch)

    async def close(self) -> None:
        """Flush, then close the client."""
        try:
            await self.flush()
        finally:
            if self._client is not None:
                await self._client.aclose()


class MqttOutput:
    """Telemetry at QoS 1 on ``city/traffic/<sensor>/obs`` and ``city/energy/<meter>/reading``.

    Topics come from the bridge's own subscription patterns (the ``+`` is the device),
    so the demo and the bridge always agree. Each device publishes as itself, over TLS, on
    its own connection (the broker lets a sensor publish only its own topic, decision
    0033): ``login_for(device)`` gives its account; connections open at its first reading.
    """

    def __init__(
        self,
        host: str,
        port: int,
        patterns: Mapping[str, str],
        client_id: str,
        login_for: Callable[[str], MqttLogin],
    ) -> None:
        self.host, self.port = host, port
        self.patterns = patterns
        self.client_id = client_id
        self._login_for = login_for
        self._clients: dict[str, mqtt.Client] = {}
        self._pending: list[Any] = []

    async def start(self) -> None:
        """Nothing to do: each device connects on its first reading."""

    async def _client(self, device: str) -> mqtt.Client:
        client = self._clients.get(device)
        if client is None:
            client = make_client(self._login_for(device), f"{self.client_id}-{device}")
            await asyncio.to_thread(client.connect, self.host, self.port, 30)
            client.loop_start()
            self._clients[device] = client
        return client

    def topic(self, stream: str, device: str) -> str:
        """The MQTT topic of one device's stream."""
        return self.patterns[stream].replace("+", device, 1)

    async def send(self, topic: str, event: Event) -> None:
        """Publish at QoS 1; the acknowledgement is awaited in :meth:`flush`."""
        data = device_payload(event)
        if topic == TRAFFIC_OBS:
            device = str(data["sensor_id"])
            target = self.topic("traffic", device)
        else:
            device = str(data["meter_id"])
            target = self.topic("energy", device)
        client = await self._client(device)
        self._pending.append(client.publish(target, orjson.dumps(data), qos=1))
        if len(self._pending) >= 500:
            await self.flush()

    async def flush(self) -> None:
        """Wait until the broker acknowledged every publish."""
        pending, self._pending = self._pending, []
        for info in pending:
            await asyncio.to_thread(info.wait_for_publish, 30)
            if not info.is_published():
                raise RuntimeError(f"MQTT publish {info.mid} was not acknowledged")

    async def close(self) -> None:
        """Flush, disconnect, stop the network thread."""
        try:
            await self.flush()
        finally:
            for client in self._clients.values():
                client.disconnect()
                client.loop_stop()
            self._clients.clear()


class OutboxOutput:
    """Dossier changes through the one-stop-shop system's write path (``record_change``).

    A change already in the history (same dossier, status and time — a second demo
    run over the same simulated hours) is not written twice. ``transferred_out`` is
    not written: in the system a transfer is a change of agency, and the poller
    derives the event from it.
    """

    def __init__(self, conninfo: Mapping[str, Any], schema: str) -> None:
        self.conninfo = dict(conninfo)
        self.schema = schema
        self._buffer: list[DossierStatusChange] = []
        self._conn: psycopg.Connection[Any] | None = None
        self.written = 0

    async def start(self) -> None:
        """Connect (autocommit: each change is its own transaction, as in the system)."""
        self._conn = await asyncio.to_thread(
            psycopg.connect,
            **self.conninfo,
            autocommit=True,
            options=f"-c search_path={self.schema}",
        )

    async def send(self, topic: str, event: Event) -> None:
        """Buffer a change."""
        assert isinstance(event, DossierStatusChange)
        if event.status is not DossierStatus.TRANSFERRED_OUT:
            self._buffer.append(event)
        if len(self._buffer) >= 100:
            await self.flush()

    def _write(self, batch: list[DossierStatusChange]) -> int:
        assert self._conn is not None
        written = 0
        for e in batch:
            seen = self._conn.execute(
                "SELECT 1 FROM dossier_status_history WHERE dossier_id = %s AND status = %s "
                "AND changed_at = %s",
                (e.dossier_id, e.status.value, e.changed_at),
            ).fetchone()
            if seen:
                continue
            record_change(
                self._conn,
                StatusChange(
                    dossier_id=e.dossier_id,
                    procedure_code=e.procedure_code,
                    agency_code=e.agency_code,
                    area_code=e.area_code,
                    level=e.level,
                    channel=e.channel.value,
                    status=e.status.value,
                    changed_at=e.changed_at,
                    received_at=e.received_at,
                    due_at=e.due_at,
                    paid_online=e.paid_online,
                    digitized=e.digitized,
                ),
            )
            written += 1
        return written

    async def flush(self) -> None:
        """Write the buffered changes, in order."""
        batch, self._buffer = self._buffer, []
        if batch:
            self.written += await asyncio.to_thread(self._write, batch)

    async def close(self) -> None:
        """Flush and disconnect."""
        try:
            await self.flush()
        finally:
            if self._conn is not None:
                self._conn.close()


class RoutingOutput:
    """One simulator sink over the three connectors."""

    def __init__(self, http: HttpOutput, mqtt_sink: MqttOutput, outbox: OutboxOutput) -> None:
        self.http = http
        self.routes: dict[str, Any] = {
            QR_SCANS: http,
            TRAFFIC_OBS: mqtt_sink,
            ENERGY_READINGS: mqtt_sink,
            DOSSIER_STATUS: outbox,
        }
        self.sinks: list[HttpOutput | MqttOutput | OutboxOutput] = [http, mqtt_sink, outbox]
        self.sent: dict[str, int] = {}

    async def start(self) -> None:
        """Start every sink."""
        for sink in self.sinks:
            await sink.start()

    async def send(self, topic: str, event: Event) -> None:
        """Route by topic."""
        await self.routes[topic].send(topic, event)
        self.sent[topic] = self.sent.get(topic, 0) + 1

    async def flush(self) -> None:
        """Flush every sink."""
        for sink in self.sinks:
            await sink.flush()

    async def close(self) -> None:
        """Close every sink (each flushes first)."""
        for sink in self.sinks:
            await sink.close()
