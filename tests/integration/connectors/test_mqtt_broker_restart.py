"""Issue 17's fault: Mosquitto restarted (by its own script) under the bridge. The bridge's
persistent QoS 1 session survives the restart on the broker's disk: messages published
while the bridge was away, and while the broker was down and back, reach Kafka once each.

A private broker (deploy/local/mosquitto.sh in the test's folder, on a free port), so the
session's restart does not touch the stack's broker. Kafka is the stack's.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from connectors.sources.edge import TopicRoutes
from connectors.sources.mqtt.security import TEST_ACCOUNT, make_client
from ioc.settings import Settings
from ioc.wiring.connectors import device_login
from tests.integration.connectors.conftest import LoopThread, read_topic, values, wait_until
from tests.integration.connectors.mqtt_helpers import fiware_traffic, handled, publish, start
from tests.integration.services import PrivateService

pytestmark = [pytest.mark.integration, pytest.mark.faults]


def test_a_broker_restart_keeps_the_bridges_session_and_loses_nothing(
    loop_thread: LoopThread, mqtt_settings: Settings, routes: TopicRoutes, unique: str,
    tmp_path: Path,
) -> None:  # fmt: skip
    broker = PrivateService("mosquitto", tmp_path / "broker")
    port = broker.port
    settings = mqtt_settings.model_copy(
        update={"mosquitto_port": port, "tls_ca_file": str(broker.ca_file)}
    )
    topic = f"it/{unique}/traffic/TS-{{}}/obs"

    def publish_all(first: int, count: int) -> None:
        client = make_client(device_login(settings, TEST_ACCOUNT), f"pub-{unique}-{first}")
        client.connect("127.0.0.1", port)
        client.loop_start()
        try:
            for i in range(first, first + count):
                publish(client, topic.format(i % 7), orjson.dumps(fiware_traffic(i)))
        finally:
            client.loop_stop()
            client.disconnect()

    broker.start()
    try:
        bridge = start(loop_thread, settings)
        publish_all(0, 10)
        wait_until(lambda: handled(bridge, "traffic") == 10, 20, "the first 10")
        loop_thread.run(bridge.stop())
        # Away: the broker queues these for the bridge's persistent session ...
        publish_all(10, 10)
        # ... and keeps them on disk across its own restart.
        began = time.monotonic()
        restarted = broker.restart()
        bridge = start(loop_thread, settings)
        try:
            wait_until(lambda: handled(bridge, "traffic") == 10, 30, "the 10 queued while away")
            recovered = time.monotonic() - began
            # Running through a second restart: the bridge reconnects by itself.
            broker.restart()
            publish_all(20, 10)
            wait_until(lambda: handled(bridge, "traffic") == 20, 60, "the 10 after reconnecting")
        finally:
            loop_thread.run(bridge.stop())
        print(f"Mosquitto restart {restarted:.1f} s; queued messages in Kafka {recovered:.1f} s")
    finally:
        broker.stop()
    records = values(read_topic(settings, routes.topic("traffic")))
    assert len({r["event_id"] for r in records}) == len(records) == 30  # once each
    assert sorted(r["intensity"] for r in records) == [20 + i for i in range(30)]  # all of them
