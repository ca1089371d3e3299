"""The MQTT bridge against real Mosquitto and Kafka: counts, acks after Kafka, redelivery."""

from __future__ import annotations

import orjson
import paho.mqtt.client as mqtt
import pytest

from connectors.sources.edge import TopicRoutes
from connectors.sources.mqtt.security import make_client
from ioc.settings import Settings
from ioc.wiring import connectors as wire
from tests.integration.conftest import free_port
from tests.integration.connectors.conftest import (
    LoopThread,
    assert_murmur2_partitioning,
    counter,
    read_topic,
    values,
    wait_until,
)
from tests.integration.connectors.mqtt_helpers import (
    fiware_traffic,
    handled,
    our_energy,
    publish,
    start,
)

pytestmark = pytest.mark.integration


def test_bridge_counts_reconcile_and_duplicates_count_once(
    loop_thread: LoopThread,
    mqtt_settings: Settings,
    routes: TopicRoutes,
    publisher: mqtt.Client,
    unique: str,
) -> None:
    bridge = start(loop_thread, mqtt_settings)
    try:
        sent = 0
        readings = [orjson.dumps(our_energy(i)) for i in range(30)]
        for i in range(30):
            publish(
                publisher, f"it/{unique}/traffic/TS-{i:02d}/obs", orjson.dumps(fiware_traffic(i))
            )
            publish(publisher, f"it/{unique}/energy/EM-{i:03d}/reading", readings[i])
            sent += 2
        for i in range(5):  # the same readings again (a device retrying): same event ids
            publish(publisher, f"it/{unique}/energy/EM-{i:03d}/reading", readings[i])
            sent += 1
        bad = [
            b"\x00\xff not json 079201001234",
            orjson.dumps({**our_energy(99), "citizen_id": "079201001234"}),
            orjson.dumps([our_energy(98)]),
            orjson.dumps({**our_energy(97), "voltage_v": {"l1": "NaN"}}),
        ]
        for payload in bad:
            publish(publisher, f"it/{unique}/energy/EM-BAD/reading", payload)
            sent += 1
        wait_until(
            lambda: handled(bridge, "traffic") + handled(bridge, "energy") == sent, 30, "bridge"
        )
        reg = bridge.registry

        def outcome(stream: str, o: str) -> float:
            return counter(
                reg, "ioc_connector_events_total", connector="mqtt", stream=stream, outcome=o
            )

        assert outcome("traffic", "accepted") == 30
        assert outcome("energy", "accepted") == 30
        assert outcome("energy", "duplicate") == 5
        assert outcome("energy", "rejected") == len(bad)
        # The gauge drops after a batch's counters (read from another thread): wait for it.
        wait_until(lambda: reg.get_sample_value("ioc_mqtt_unacked") == 0, 10, "all acked")
    finally:
        loop_thread.run(bridge.stop())

    traffic = read_topic(mqtt_settings, routes.topic("traffic"))
    energy = read_topic(mqtt_settings, routes.topic("energy"))
    assert len(traffic) == 30
    assert len(energy) == 30
    assert len({v["event_id"] for v in values(traffic + energy)}) == 60
    assert {v["sensor_id"] for v in values(traffic)} == {f"TS-{i:02d}" for i in range(30)}
    assert_murmur2_partitioning(traffic, 3)
    assert_murmur2_partitioning(energy, 3)
    dead = values(read_topic(mqtt_settings, routes.deadletter))
    assert sorted(d["reason"] for d in dead) == [
        "invalid_json",
        "invalid_shape",
        "unknown_field",
        "validation",
    ]
    assert all("079201001234" not in orjson.dumps(d).decode() for d in dead)


def test_unacknowledged_messages_are_redelivered_and_written_once(
    loop_thread: LoopThread,
    mqtt_settings: Settings,
    routes: TopicRoutes,
    publisher: mqtt.Client,
    unique: str,
) -> None:
    # 1. Kafka unreachable: the bridge receives but must not acknowledge anything.
    down = mqtt_settings.model_copy(update={"kafka_port": free_port()})
    first = start(loop_thread, down)
    for i in range(10):
        publish(publisher, f"it/{unique}/traffic/TS-{i:02d}/obs", orjson.dumps(fiware_traffic(i)))
    wait_until(
        lambda: first.registry.get_sample_value("ioc_mqtt_unacked") == 10, 20, "10 in flight"
    )
    loop_thread.run(first.stop(timeout_s=0.5))
    # 2. Published while no bridge is connected: the persistent session keeps them.
    for i in range(10, 15):
        publish(publisher, f"it/{unique}/traffic/TS-{i:02d}/obs", orjson.dumps(fiware_traffic(i)))

    # 3. Kafka reachable, acknowledgements suppressed: written, then redelivered again.
    second = wire.bridge(mqtt_settings)
    second._ack = lambda items: None  # type: ignore[method-assign]  # a crash before PUBACK
    loop_thread.run(second.start())
    wait_until(lambda: handled(second, "traffic") == 15, 20, "15 written without ack")
    loop_thread.run(second.stop())

    # 4. A normal bridge: gets all 15 again, acknowledges them; Kafka has each id once more.
    third = start(loop_thread, mqtt_settings)
    try:
        wait_until(lambda: handled(third, "traffic") == 15, 20, "15 redelivered")
    finally:
        loop_thread.run(third.stop())
    fourth = start(loop_thread, mqtt_settings)  # nothing left to redeliver
    try:
        publish(publisher, f"it/{unique}/traffic/TS-99/obs", orjson.dumps(fiware_traffic(99)))
        wait_until(lambda: handled(fourth, "traffic") == 1, 20, "only the new message")
    finally:
        loop_thread.run(fourth.stop())

    records = values(read_topic(mqtt_settings, routes.topic("traffic")))
    ids = [r["event_id"] for r in records]
    # 15 written by the crashed bridge + 15 by its successor (same ids) + 1 new.
    assert len(ids) == 31
    assert len(set(ids)) == 16


def test_bridge_reconnects_after_losing_the_broker_connection(
    loop_thread: LoopThread,
    mqtt_settings: Settings,
    routes: TopicRoutes,
    publisher: mqtt.Client,
    unique: str,
) -> None:
    bridge = start(loop_thread, mqtt_settings)
    try:
        publish(publisher, f"it/{unique}/traffic/TS-01/obs", orjson.dumps(fiware_traffic(1)))
        wait_until(lambda: handled(bridge, "traffic") == 1, 20, "first message")
        # Another client taking the same client id makes the broker drop the bridge's
        # connection (MQTT session takeover); it leaves at once, and paho reconnects.
        thief = make_client(
            wire.mqtt_login(mqtt_settings), mqtt_settings.mqtt_client_id, clean_session=False
        )
        thief.connect("127.0.0.1", mqtt_settings.mosquitto_port)
        thief.disconnect()
        wait_until(
            lambda: bridge.registry.get_sample_value("ioc_mqtt_connects_total") == 2,
            20,
            "reconnect",
        )
        wait_until(
            lambda: bridge.registry.get_sample_value("ioc_mqtt_connected") == 1, 20, "connected"
        )
        publish(publisher, f"it/{unique}/traffic/TS-02/obs", orjson.dumps(fiware_traffic(2)))
        wait_until(lambda: handled(bridge, "traffic") == 2, 20, "message after reconnect")
    finally:
        loop_thread.run(bridge.stop())
    assert len(read_topic(mqtt_settings, routes.topic("traffic"))) == 2
