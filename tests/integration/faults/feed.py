"""The fault suite's steady feed: one seeded scenario sent through the real connectors as
their clients send it, paced over a fixed span of wall time.

QR scans are POSTed to the HTTP gateway (a check-point app: the raw citizen id or plate,
its own event ids), traffic and energy readings published at QoS 1 to Mosquitto for the
MQTT bridge (a device: no id, the bridge derives it), dossier changes written into the
one-stop-shop database for the outbox poller (the system's own write path). Each client
retries what a fault refused until it is accepted, and records what was: a 200's event
ids, a PUBACK's (derived) event id, a committed history row's id. That record is what
the pipeline's output is reconciled against (tests/integration/faults/reconcile.py).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import paho.mqtt.client as mqtt
import psycopg

from connectors.sources.mqtt.security import MqttLogin, make_client
from connectors.sources.outbox.seed import StatusChange, record_change
from ioc.tooling.demo.senders import device_payload
from schemas.base import Event
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation
from schemas.privacy import PiiHasher
from schemas.results import Domain
from tests.integration.streams.test_worker import LATENESS_MS, month_end_day, profile
from tests.unit.streams import scenario

BRIDGE_SOURCE = "mqtt-bridge"
"""The ``source`` the bridge stamps, part of the ids it derives (connectors.sources.mqtt)."""
RETRY_S = 0.2


def scenario_streams(seed: int) -> dict[Domain, list[Event]]:
    """The scenario of the last day of a recent month (dated by tests/clock.py), each
    real-world event once.

    The scenario's own repeated copies are left out: the duplicates this suite is about
    are the faults' (retries, redeliveries), and a late second copy of an event is
    applied twice by design (the known gap of docs/decisions/0023), not a fault's doing.
    """
    generated = scenario.generate(
        profile(), month_end_day(), seed=seed, lateness_s=LATENESS_MS // 1000
    )
    streams: dict[Domain, list[Event]] = {}
    for domain, events in generated.streams.items():
        seen: set[uuid.UUID] = set()
        streams[domain] = []
        for event in events:
            if event.event_id not in seen:
                seen.add(event.event_id)
                streams[domain].append(event)
    return streams


@dataclass
class Pace:
    """Item i of n is due ``span_s`` × i / n after ``start``: every client is busy over the
    same span, whatever the size of its stream; one held up by a fault catches up."""

    start: float
    span_s: float

    def wait(self, i: int, n: int, stop: threading.Event) -> None:
        stop.wait(max(0.0, self.start + self.span_s * i / n - time.monotonic()))


class RefusedError(Exception):
    """A fault refused the attempt (its outcome known or not): send it again."""


class Feeder(threading.Thread):
    """One client of one connector: sends its items in order, each until accepted."""

    name_: str = ""
    chunk = 1

    def __init__(self, items: list[Any], pace: Pace) -> None:
        super().__init__(daemon=True, name=f"feed-{self.name_}")
        self.items = items
        self.pace = pace
        self.halt = threading.Event()
        self.attempted = 0
        """Items whose sending has begun (a snapshot of it is a recovery's target)."""
        self.accepted: list[Any] = []
        """Ids the service acknowledged, in order."""
        self.refused = 0
        self.error: BaseException | None = None
        self.finished_at: float | None = None

    # --- what each client does ---------------------------------------------------------

    def send(self, chunk: list[Any]) -> list[Any]:
        """Send once; the ids accepted, or RefusedError."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of the connection (after a refusal, and at the end)."""

    # --- the loop ----------------------------------------------------------------------

    def run(self) -> None:
        try:
            i = 0
            while i < len(self.items) and not self.halt.is_set():
                self.pace.wait(i, len(self.items), self.halt)
                chunk = self.items[i : i + self.chunk]
                self.attempted = i + len(chunk)
                ids = self.until_accepted(chunk)
                self.accepted = [*self.accepted, *ids]  # replaced whole: readers need no lock
                i += len(chunk)
            self.finished_at = time.monotonic()
        except BaseException as exc:  # reported by check(); a feeder must not die silently
            self.error = exc
        finally:
            self.close()

    def until_accepted(self, chunk: list[Any]) -> list[Any]:
        while True:
            try:
                return self.send(chunk)
            except RefusedError:
                self.refused += 1
                self.close()
                if self.halt.wait(RETRY_S):
                    raise

    @property
    def done(self) -> bool:
        return len(self.accepted) == len(self.items)

    def check(self) -> None:
        """Fail the test with the feeder's own error, if it died."""
        if self.error is not None:
            raise AssertionError(f"the {self.name_} feed failed: {self.error!r}") from self.error


# --- QR scans, POSTed to the gateway ----------------------------------------------------


@dataclass
class Stall:
    """Hold one request's body half-sent, so that a SIGTERM meets it in flight."""

    armed: threading.Event = field(default_factory=threading.Event)
    in_flight: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    status: int | None = None
    """What the held request was answered (None: refused, so sent again)."""


def app_payload(event: QrScan) -> tuple[dict[str, Any], str]:
    """What a check-point app sends: its own event id, the raw id the gateway hashes."""
    data = device_payload(event, keep_id=True)
    for name in ("subject_hash", "pii_key_id"):
        data.pop(name)
    digits = int(event.subject_hash[:15], 16)
    if event.subject_kind == "vehicle":
        raw = f"93A-{digits % 100_000:05d}"
        data["licence_plate"] = raw
    else:
        raw = f"{digits % 10**12:012d}"
        data["citizen_id"] = raw
    return data, raw


class HttpFeeder(Feeder):
    """Batches of QR scans to ``POST /v1/streams/qr/events``; refused ones are sent again
    with the same event ids (a retry the pipeline de-duplicates)."""

    name_ = "http"
    chunk = 4

    def __init__(
        self, events: list[QrScan], pace: Pace, *, base_url: str, api_key: str, source: str,
        hasher: PiiHasher,
    ) -> None:  # fmt: skip
        self.expected: dict[str, Event] = {}
        items = []
        for event in events:
            data, raw = app_payload(event)
            landed = {**data, "subject_hash": hasher.hash(raw), "pii_key_id": hasher.key_id}
            self.expected[str(event.event_id)] = QrScan.model_validate({**landed, "source": source})
            items.append(data)
        super().__init__(items, pace)
        self.base_url, self.api_key = base_url, api_key
        self.stall = Stall()
        self._client: httpx.Client | None = None

    def _body(self, body: bytes) -> bytes | Iterator[bytes]:
        if not self.stall.armed.is_set():
            return body
        self.stall.armed.clear()

        def held() -> Iterator[bytes]:
            yield body[: len(body) // 2]
            self.stall.in_flight.set()
            self.stall.release.wait(30)
            yield body[len(body) // 2 :]

        return held()

    def send(self, chunk: list[Any]) -> list[Any]:
        if self._client is None:
            self._client = httpx.Client(base_url=self.base_url, timeout=30)
        body = self._body(orjson.dumps(chunk))
        held = not isinstance(body, bytes)
        try:
            response = self._client.post(
                "/v1/streams/qr/events",
                content=body,
                headers={"Authorization": f"Bearer {self.api_key}",
                         "Content-Type": "application/json"},
            )  # fmt: skip
        except httpx.HTTPError as exc:
            raise RefusedError(repr(exc)) from exc
        if held:
            self.stall.status = response.status_code
        if response.status_code in (429, 503):
            raise RefusedError(str(response.status_code))
        assert response.status_code == 200, f"gateway: {response.status_code} {response.text}"
        ids = [e["event_id"] for e in response.json()["event_ids"]]
        assert ids == [item["event_id"] for item in chunk], "the gateway changed an app's ids"
        return ids

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


# --- traffic and energy readings, published over MQTT -----------------------------------


class MqttFeeder(Feeder):
    """Each reading at QoS 1 on its device's topic; accepted at the PUBACK. A publish the
    broker did not acknowledge (it was down) is published again on a new connection."""

    name_ = "mqtt"

    def __init__(
        self, events: list[Event], pace: Pace, *, port: int, login: MqttLogin,
        topics: dict[Domain, str],
    ) -> None:  # fmt: skip
        self.expected: dict[str, Event] = {}
        self.domain_of: dict[str, Domain] = {}
        items = []
        for event in events:
            data = device_payload(event)
            if isinstance(event, TrafficObservation):
                domain, device, model = Domain.TRAFFIC, event.sensor_id, TrafficObservation
            else:
                assert isinstance(event, EnergyReading)
                domain, device, model = Domain.ENERGY, event.meter_id, EnergyReading
            # The id the bridge must derive: the contract's, from what the device sent.
            landed = model.model_validate({**data, "source": BRIDGE_SOURCE})
            eid = str(landed.event_id)
            self.expected[eid], self.domain_of[eid] = landed, domain
            items.append((topics[domain].replace("+", device, 1), orjson.dumps(data), eid))
        super().__init__(items, pace)
        self.port, self.login = port, login
        self._client: mqtt.Client | None = None

    def send(self, chunk: list[Any]) -> list[Any]:
        topic, payload, eid = chunk[0]
        try:
            if self._client is None:
                client = make_client(self.login, f"feed-{uuid.uuid4().hex[:8]}")
                client.connect("127.0.0.1", self.port, keepalive=10)
                client.loop_start()
                self._client = client
            info = self._client.publish(topic, payload, qos=1)
            info.wait_for_publish(5)
        except (OSError, RuntimeError, ValueError) as exc:  # down, or the connection lost
            raise RefusedError(repr(exc)) from exc
        if not info.is_published():
            raise RefusedError("no PUBACK within 5 s")
        return [eid]

    def close(self) -> None:
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None


# --- dossier changes, written where the outbox poller reads -------------------------------


class OutboxFeeder(Feeder):
    """Each change through ``record_change`` (one transaction); accepted at the commit.
    After a lost connection the change is looked up before it is written again: the
    commit may have happened."""

    name_ = "outbox"

    def __init__(
        self, changes: list[DossierStatusChange], pace: Pace, *, conninfo: dict[str, Any],
        schema: str,
    ) -> None:  # fmt: skip
        super().__init__(changes, pace)
        self.conninfo, self.schema = conninfo, schema
        self.status_of: dict[int, str] = {}
        """History row id -> the status written (what events_dossier must hold)."""
        self._conn: psycopg.Connection[Any] | None = None
        self._unsure = False

    def send(self, chunk: list[Any]) -> list[Any]:
        e: DossierStatusChange = chunk[0]
        try:
            if self._conn is None:
                self._conn = psycopg.connect(
                    **self.conninfo, autocommit=True, options=f"-c search_path={self.schema}",
                )  # fmt: skip
            row_id = self._find(self._conn, e) if self._unsure else None
            if row_id is None:
                self._unsure = True
                row_id = record_change(self._conn, _change(e))
            self._unsure = False
        except psycopg.OperationalError as exc:
            raise RefusedError(repr(exc)) from exc
        self.status_of[row_id] = e.status.value
        return [row_id]

    @staticmethod
    def _find(conn: psycopg.Connection[Any], e: DossierStatusChange) -> int | None:
        row = conn.execute(
            "SELECT id FROM dossier_status_history WHERE dossier_id = %s AND status = %s "
            "AND changed_at = %s",
            (e.dossier_id, e.status.value, e.changed_at),
        ).fetchone()
        return None if row is None else int(row[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _change(e: DossierStatusChange) -> StatusChange:
    return StatusChange(
        dossier_id=e.dossier_id, procedure_code=e.procedure_code, agency_code=e.agency_code,
        area_code=e.area_code, level=e.level, channel=e.channel.value, status=e.status.value,
        changed_at=e.changed_at, received_at=e.received_at, due_at=e.due_at,
        paid_online=e.paid_online, digitized=e.digitized,
    )  # fmt: skip
