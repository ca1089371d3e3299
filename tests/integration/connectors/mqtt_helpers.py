"""MQTT helpers shared by the bridge tests (fixtures live in conftest.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import paho.mqtt.client as mqtt

from connectors.sources.mqtt.bridge import MqttBridge
from ioc.settings import Settings
from ioc.wiring import connectors as wire
from schemas.timeutil import utcnow
from tests.integration.connectors.conftest import LoopThread, counter


def publish(client: mqtt.Client, topic: str, payload: bytes) -> None:
    info = client.publish(topic, payload, qos=1)
    info.wait_for_publish(10)
    assert info.is_published()


def start(lt: LoopThread, settings: Settings) -> MqttBridge:
    bridge = wire.bridge(settings)
    lt.run(bridge.start())
    lt.run(bridge.subscribed.wait(), timeout=20)
    return bridge


def handled(bridge: MqttBridge, stream: str) -> float:
    return sum(
        counter(
            bridge.registry,
            "ioc_connector_events_total",
            connector="mqtt",
            stream=stream,
            outcome=o,
        )
        for o in ("accepted", "rejected", "duplicate")
    )


def fiware_traffic(i: int) -> dict[str, Any]:
    end = utcnow() - timedelta(seconds=i)
    return {
        "id": f"urn:ngsi-ld:TrafficFlowObserved:{i}",
        "type": "TrafficFlowObserved",
        "refRoadSegment": f"urn:ngsi-ld:RoadSegment:QL13-{i % 4:02d}",
        "dateObservedFrom": (end - timedelta(seconds=60)).isoformat(),
        "dateObservedTo": end.isoformat(),
        "intensity": 20 + i,
        "averageVehicleSpeed": 35.5,
        "occupancy": 0.25,
    }


def our_energy(i: int) -> dict[str, Any]:
    return {
        "feeder_id": f"FD-{i % 5:02d}",
        "area_code": "689",
        "measured_at": (utcnow() - timedelta(seconds=i)).isoformat(),
        "active_power_kw": 2.5,
        "energy_kwh_total": 1000.0 + i,
        "voltage_v": {"l1": 221.0, "l2": 219.0, "l3": 220.0},
        "frequency_hz": 50.0,
    }
