"""FIWARE and our own field names map to the same contracts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.sources.edge import STREAMS, EdgeValidator, TimePolicy
from connectors.sources.mqtt.mapping import map_energy, map_traffic
from schemas.errors import ContractError
from schemas.events import EnergyReading, TrafficObservation
from schemas.privacy import PiiHasher

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
V = EdgeValidator(
    PiiHasher(b"k", "k1"),
    TimePolicy(timedelta(minutes=5), timedelta(days=30)),
    clock=lambda: NOW,
)


def traffic(fields: dict[str, object]) -> TrafficObservation:
    event = V.validate(STREAMS["traffic"], fields, source="mqtt-bridge")
    assert isinstance(event, TrafficObservation)
    return event


def energy(fields: dict[str, object]) -> EnergyReading:
    event = V.validate(STREAMS["energy"], fields, source="mqtt-bridge")
    assert isinstance(event, EnergyReading)
    return event


OURS_TRAFFIC = {
    "segment_id": "QL13-01",
    "observed_at": NOW.isoformat(),
    "period_s": 60,
    "intensity": 40,
    "average_speed_kmh": 41.5,
    "occupancy": 0.2,
}


def test_fiware_key_values_and_ours_give_the_same_event() -> None:
    fiware = {
        "id": "urn:ngsi-ld:TrafficFlowObserved:TS-1-2026",
        "type": "TrafficFlowObserved",
        "refRoadSegment": "urn:ngsi-ld:RoadSegment:QL13-01",
        "dateObserved": f"{(NOW - timedelta(seconds=60)).isoformat()}/{NOW.isoformat()}",
        "intensity": 40,
        "averageVehicleSpeed": 41.5,
        "occupancy": 0.2,
        "laneDirection": "forward",
    }
    a = traffic(map_traffic(fiware, "TS-1"))
    b = traffic(map_traffic(OURS_TRAFFIC, "TS-1"))
    assert a == b
    assert a.period_s == 60
    assert a.sensor_id == "TS-1"


def test_fiware_normalised_form_from_to_and_lane() -> None:
    fiware = {
        "type": "TrafficFlowObserved",
        "refRoadSegment": {"type": "Relationship", "object": "urn:ngsi-ld:RoadSegment:QL14-02"},
        "dateObservedFrom": {"type": "Property", "value": "2026-11-26T15:55:00+07:00"},
        "dateObservedTo": {"type": "Property", "value": "2026-11-26T16:00:00+07:00"},
        "intensity": {"type": "Property", "value": 300},
        "averageVehicleSpeed": {"type": "Property", "value": 22.0},
        "occupancy": {"type": "Property", "value": 0.5},
        "laneId": {"type": "Property", "value": 2},
        "congested": {"type": "Property", "value": True},
    }
    event = traffic(map_traffic(fiware, "TS-9"))
    assert event.segment_id == "QL14-02"
    assert event.period_s == 300
    assert event.lane_id == "2"
    assert event.congested is True
    assert event.observed_at == NOW


def test_unknown_attributes_still_refused() -> None:
    with pytest.raises(ContractError) as exc:
        traffic(map_traffic({**OURS_TRAFFIC, "brightness": 3}, "TS-1"))
    assert exc.value.fields == ("brightness",)


def test_three_phase_measurement_in_watts_becomes_kw() -> None:
    fiware = {
        "type": "ThreePhaseAcMeasurement",
        "dateObserved": NOW.isoformat(),
        "activePower": {"L1": 1000.0, "L2": 1200.0, "L3": 1000.0},
        "totalActiveEnergyImport": 1234.5,
        "phaseVoltage": {"L1": 221.0, "L2": 220.0, "L3": 219.0},
        "current": {"L1": 5.0, "L2": 5.5, "L3": 4.5, "N": 0.2},
        "frequency": 50.01,
        "powerFactor": {"L1": 0.9, "L2": 0.95, "L3": 1.0},
        "feeder_id": "FD-1",
        "area_code": "689",
    }
    event = energy(map_energy(fiware, "EM-1"))
    assert event.meter_id == "EM-1"
    assert event.active_power_kw == pytest.approx(3.2)
    assert event.voltage_v.values() == [221.0, 220.0, 219.0]
    assert event.current_a is not None
    assert event.current_a.l3 == 4.5
    assert event.power_factor == pytest.approx(0.95)
    assert event.energy_kwh_total == 1234.5


def test_total_active_power_and_total_power_factor_win() -> None:
    fields = map_energy(
        {
            "dateObserved": NOW.isoformat(),
            "totalActivePower": 5000,
            "activePower": {"L1": 1.0},
            "totalPowerFactor": 0.8,
            "powerFactor": 0.1,
            "totalActiveEnergyImport": 1.0,
            "phaseVoltage": {"l1": 230.0},
            "feeder_id": "FD-1",
            "area_code": "689",
        },
        "EM-2",
    )
    event = energy(fields)
    assert event.active_power_kw == 5.0
    assert event.power_factor == 0.8


@pytest.mark.parametrize(
    "bad",
    [{"phaseVoltage": {"L4": 1.0}}, {"powerFactor": {"L1": "x"}}, {"activePower": {"L1": True}}],
)
def test_bad_phase_objects_name_the_field(bad: dict[str, object]) -> None:
    with pytest.raises(ContractError):
        map_energy(bad, "EM-3")
