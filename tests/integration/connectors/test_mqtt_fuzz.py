"""Hostile MQTT payloads: each is written or dead-lettered (and acknowledged), the bridge
stays connected, and a valid reading afterwards still goes through."""

from __future__ import annotations

import orjson
import paho.mqtt.client as mqtt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.sources.edge import TopicRoutes
from ioc.settings import Settings
from tests.integration.connectors.conftest import (
    LoopThread,
    counter,
    read_topic,
    values,
    wait_until,
)
from tests.integration.connectors.hostile import bodies
from tests.integration.connectors.mqtt_helpers import (
    fiware_traffic,
    handled,
    our_energy,
    publish,
    start,
)

pytestmark = pytest.mark.integration


def test_bridge_survives_hostile_payloads(
    loop_thread: LoopThread,
    mqtt_settings: Settings,
    routes: TopicRoutes,
    publisher: mqtt.Client,
    unique: str,
) -> None:
    bridge = start(loop_thread, mqtt_settings)
    published = {"traffic": 0, "energy": 0}
    topics = {
        "traffic": f"it/{unique}/traffic/TS-F/obs",
        "energy": f"it/{unique}/energy/EM-F/reading",
    }
    payloads = st.one_of(
        st.tuples(st.just("traffic"), bodies(fiware_traffic(0))),
        st.tuples(st.just("energy"), bodies(our_energy(0))),
    )
    try:

        @settings(
            max_examples=120,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(item=payloads)
        def probe(item: tuple[str, bytes]) -> None:
            stream, payload = item
            publish(publisher, topics[stream], payload)
            published[stream] += 1

        # Fixed hostile items first: a 200 KB message of nested brackets stopped the
        # bridge's worker silently (unacknowledged forever, "connected" all along).
        # The valid reading with one field nested past Python's recursion (orjson still
        # parses it), 200 KB of nested lists side by side, and what orjson refuses.
        valid = orjson.dumps({**our_energy(2), "feeder_id": "<deep>"})
        deep_field = valid.replace(b'"<deep>"', b"[" * 900 + b'"FD-01"' + b"]" * 900)
        wide = b"[" + b",".join([b"[" * 500 + b"]" * 500] * 200) + b"]"
        for payload in (deep_field, wide, b"\xff\xfe\x00", b"[" * 100_000):
            publish(publisher, topics["energy"], payload)
            published["energy"] += 1
        probe()
        total = sum(published.values())
        wait_until(
            lambda: handled(bridge, "traffic") + handled(bridge, "energy") == total, 60, "fuzz"
        )
        assert bridge.registry.get_sample_value("ioc_mqtt_connected") == 1
        # The gauge drops after a batch's counters (read from another thread): wait for it.
        wait_until(
            lambda: bridge.registry.get_sample_value("ioc_mqtt_unacked") == 0, 10, "all acked"
        )
        publish(publisher, f"it/{unique}/energy/EM-OK/reading", orjson.dumps(our_energy(1)))
        wait_until(lambda: handled(bridge, "energy") == published["energy"] + 1, 20, "valid one")
        reg = bridge.registry

        def outcome(o: str) -> float:
            return sum(
                counter(reg, "ioc_connector_events_total", connector="mqtt", stream=s, outcome=o)
                for s in ("traffic", "energy")
            )

        accepted, rejected = outcome("accepted"), outcome("rejected")
        assert accepted + rejected + outcome("duplicate") == total + 1
    finally:
        loop_thread.run(bridge.stop())

    events = read_topic(mqtt_settings, routes.topic("traffic")) + read_topic(
        mqtt_settings, routes.topic("energy")
    )
    assert len(events) == accepted
    dead = values(read_topic(mqtt_settings, routes.deadletter))
    assert len(dead) == rejected > 0
