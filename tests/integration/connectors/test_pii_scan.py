"""After every connector ran with raw citizen ids and plates — in valid events, invalid
ones, non-JSON bodies and database rows — no topic holds a raw value anywhere."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import orjson
import psycopg
import pytest

from connectors.sources.edge import TopicRoutes
from connectors.sources.files import FileJob
from connectors.sources.http.keys import add_key
from connectors.sources.mqtt.security import TEST_ACCOUNT, make_client
from connectors.sources.outbox.seed import StatusChange, record_change
from ioc.ops.kafka_admin import admin_client
from ioc.settings import Settings
from ioc.wiring import connectors as wire
from ioc.wiring.connectors import device_login
from schemas.privacy import normalise_identifier
from schemas.timeutil import utcnow
from tests.integration.connectors.conftest import LoopThread, read_topic, wait_until
from tests.integration.connectors.mqtt_helpers import fiware_traffic, handled, publish, start

pytestmark = pytest.mark.integration

CITIZENS = ["079201001234", "070999888777", "070111222333"]
PLATES = ["61A-123.45", "51F1-678.90", "93C 246.80"]


def forbidden() -> list[bytes]:
    raw = CITIZENS + PLATES
    return sorted({v.encode() for v in raw} | {normalise_identifier(v).encode() for v in raw})


def qr(**kw: object) -> dict[str, object]:
    return {
        "checkpoint_id": "CP-01",
        "area_code": "689",
        "scanned_at": utcnow().isoformat(),
        "direction": "in",
        "device_id": "DEV-1",
        **kw,
    }


def run_gateway(lt: LoopThread, settings: Settings, tmp_path: Path) -> None:
    key = add_key(tmp_path / "keys.json", "pii-test", ["*"])
    gateway = wire.gateway(
        settings.model_copy(update={"http_api_keys_file": str(tmp_path / "keys.json")}), port=0
    )
    lt.run(gateway.start())
    lt.run(gateway.link.wait_connected(), timeout=30)
    headers = {"Authorization": f"Bearer {key}"}
    bodies: list[tuple[str, bytes]] = [
        ("qr", orjson.dumps(qr(citizen_id=CITIZENS[0]))),
        (
            "qr",
            orjson.dumps(
                [qr(licence_plate=PLATES[0]), qr(licence_plate=PLATES[1], direction="up")]
            ),
        ),
        ("qr", orjson.dumps(qr(citizen_id=CITIZENS[1], note=f"called {CITIZENS[2]}"))),
        ("qr", orjson.dumps({CITIZENS[2]: PLATES[2]})),
        ("qr", f"not json {CITIZENS[0]} {PLATES[2]}".encode()),
        ("qr", f'{{"citizen_id": "{CITIZENS[1]}"}}'.encode("utf-16")),
        ("qr", f"{CITIZENS[2]} {PLATES[1]}".encode("utf-32-le")),
        ("traffic", orjson.dumps({**fiware_traffic(1), "licence_plate": PLATES[1]})),
    ]
    try:
        with httpx.Client(base_url=gateway.url, timeout=30) as client:
            for stream, body in bodies:
                response = client.post(
                    f"/v1/streams/{stream}/events", content=body, headers=headers
                )
                assert response.status_code in (200, 422), response.text
    finally:
        lt.run(gateway.stop())


def run_bridge(lt: LoopThread, settings: Settings, unique: str) -> None:
    bridge = start(lt, settings)
    client = make_client(device_login(settings, TEST_ACCOUNT), f"pii-pub-{unique}")
    client.connect("127.0.0.1", settings.mosquitto_port)
    client.loop_start()
    try:
        topic = f"it/{unique}/traffic/TS-1/obs"
        publish(client, topic, orjson.dumps({**fiware_traffic(2), "plate": PLATES[2]}))
        publish(client, topic, f"{PLATES[0]} {CITIZENS[0]}".encode())
        publish(client, topic, orjson.dumps(fiware_traffic(3)))
        wait_until(lambda: handled(bridge, "traffic") == 3, 20, "bridge")
    finally:
        client.loop_stop()
        client.disconnect()
        lt.run(bridge.stop())


def run_outbox(lt: LoopThread, settings: Settings) -> None:
    conninfo = wire.pg_conninfo(settings)
    wire.prepare_outbox_db(settings)
    now = utcnow()
    with psycopg.connect(**conninfo, options=f"-c search_path={settings.outbox_schema}") as conn:
        for i, (citizen, status) in enumerate(
            [(CITIZENS[0], "received"), (CITIZENS[1], "processing"), (CITIZENS[2], "lost")]
        ):
            record_change(
                conn,
                StatusChange(
                    dossier_id=f"P.{i}", procedure_code="1.000001", agency_code="000.00.31.H10",
                    area_code="689", level=4, channel="online", status=status,
                    changed_at=now - timedelta(minutes=i), applicant_id=citizen,
                ),
            )  # fmt: skip
    poller = wire.poller(settings)
    lt.run(poller.start())
    try:
        wait_until(
            lambda: poller.position is not None and poller.position.last_id >= 3, 30, "outbox"
        )
    finally:
        lt.run(poller.stop())


def run_file(lt: LoopThread, settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "qr.jsonl"
    path.write_bytes(
        orjson.dumps(qr(licence_plate=PLATES[2]))
        + b"\n"
        + f"broken {CITIZENS[2]}\n".encode()
        + orjson.dumps(qr(cmnd=CITIZENS[1], citizen_id=CITIZENS[0]))
        + b"\n"
    )
    connector = wire.file_connector(settings)
    lt.run(connector.start())
    try:
        report = lt.run(connector.run(FileJob(path, "qr")))
    finally:
        lt.run(connector.stop())
    assert (report.accepted, report.rejected) == (1, 2)


def test_no_raw_identifier_in_any_topic(
    loop_thread: LoopThread,
    mqtt_settings: Settings,
    routes: TopicRoutes,
    tmp_path: Path,
    unique: str,
) -> None:
    settings = mqtt_settings.model_copy(
        update={
            "outbox_schema": f"pii_{unique}",
            "outbox_position_schema": f"pii_{unique}_position",
            "outbox_consumer": f"pii-{unique}",
            "outbox_initial": "history",
            "outbox_poll_interval_s": 0.05,
        }
    )
    try:
        run_gateway(loop_thread, settings, tmp_path)
        run_bridge(loop_thread, settings, unique)
        run_outbox(loop_thread, settings)
        run_file(loop_thread, settings, tmp_path)
    finally:
        with psycopg.connect(**wire.pg_conninfo(settings), autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS pii_{unique}, pii_{unique}_position CASCADE")

    admin = admin_client(settings)
    try:
        topics = sorted(
            t for t in admin.list_topics() if t.endswith(settings.connector_topic_suffix)
        )
    finally:
        admin.close()
    assert len(topics) == 5  # every topic the connectors wrote, dead letters included
    scanned = 0
    for topic in topics:
        for record in read_topic(settings, topic):
            blob = b"|".join(
                [record.key or b"", record.value or b""]
                + [k.encode() + b"=" + (v or b"") for k, v in record.headers]
            )
            # Encodings the sender used must not hide a value either (UTF-16 NULs).
            blob = blob.replace(b"\\u0000", b"").replace(b"\x00", b"")
            for raw in forbidden():
                assert raw not in blob, f"raw {raw!r} in {topic} offset {record.offset}"
            scanned += 1
    assert scanned >= 15
    dead = [orjson.loads(r.value) for r in read_topic(settings, routes.deadletter)]
    assert {d["producer"] for d in dead} == {"http-gateway", "mqtt-bridge", "one-stop-shop", "file"}
    hashed = [
        v
        for v in (r.value for r in read_topic(settings, routes.topic("qr")))
        if b"subject_hash" in v
    ]
    assert len(hashed) == 3  # gateway: citizen + plate; file: plate
