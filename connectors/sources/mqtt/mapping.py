"""MQTT payloads -> contract fields: our own names, or FIWARE attribute names.

Sensors speak FIWARE TrafficFlowObserved / ThreePhaseAcMeasurement (key-values or
NGSI-LD normalised ``{"type": "Property", "value": ...}``) or our field names; both
map to the same contract. FIWARE descriptive attributes we do not model are dropped
on purpose; anything else unknown stays, so strict validation refuses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from schemas.errors import ContractError

# Descriptive NGSI attributes that carry nothing the contracts model.
_FIWARE_DESCRIPTIVE = frozenset(
    {
        "id", "type", "@context", "dateCreated", "dateModified", "dataProvider", "name",
        "description", "alternateName", "address", "location", "areaServed", "seeAlso",
        "owner", "refDevice", "refTargetDevice", "dateEnergyMeteringStarted",
        "laneDirection", "reversedLane", "averageGapDistance", "averageHeadwayTime",
        "averageVehicleLength", "vehicleType", "vehicleSubType", "dateObservedFrom",
        "dateObservedTo", "totalReactiveEnergyImport", "totalApparentEnergyImport",
        "totalActiveEnergyExport", "totalReactiveEnergyExport", "totalApparentEnergyExport",
        "activeEnergyImport", "reactiveEnergyImport", "apparentEnergyImport",
        "activeEnergyExport", "reactiveEnergyExport", "apparentEnergyExport",
        "reactivePower", "apparentPower", "totalReactivePower", "totalApparentPower",
        "displacementPowerFactor", "totalDisplacementPowerFactor", "phaseToPhaseVoltage",
        "thdVoltage", "thdCurrent",
    }
)  # fmt: skip

W_PER_KW = 1_000.0


def _unwrap(value: Any) -> Any:
    """NGSI-LD normalised form -> plain value (Property.value, Relationship.object)."""
    if isinstance(value, dict) and value.get("type") in {"Property", "GeoProperty"}:
        return value.get("value")
    if isinstance(value, dict) and value.get("type") == "Relationship":
        return value.get("object")
    return value


def _entity_code(value: Any) -> Any:
    """``urn:ngsi-ld:RoadSegment:QL13-01`` -> ``QL13-01``; joins use codes, not URNs."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str) and value.startswith("urn:"):
        return value.rsplit(":", 1)[-1]
    return value


def _interval_end(value: Any) -> Any:
    """``dateObserved`` may be an ISO 8601 interval ``start/end``; the end is event time."""
    if isinstance(value, str) and "/" in value:
        return value.split("/", 1)[1]
    return value


def _phases(value: Any, field: str) -> Any:
    """FIWARE ``{L1, L2, L3[, N]}`` -> our ``{l1, l2, l3}``; other shapes pass to validation."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, phase in value.items():
        name = str(key).lower()
        if name == "n":
            continue  # neutral-wire current: not modelled
        if name not in {"l1", "l2", "l3"}:
            raise ContractError("validation", f"{field}.{key}: not a phase", (f"{field}.{key}",))
        out[name] = phase
    return out


def _number_or_phases(value: Any, field: str, reduce: Callable[[list[float], int], float]) -> Any:
    if isinstance(value, dict):
        values = [v for k, v in value.items() if str(k).lower() in {"l1", "l2", "l3"}]
        if not values or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values
        ):
            raise ContractError("validation", f"{field}: phases must be numbers", (field,))
        return reduce(values, len(values))
    return value


def _watts_to_kw(value: Any, field: str) -> Any:
    total = _number_or_phases(value, field, lambda vs, _n: sum(vs))
    if isinstance(total, int | float) and not isinstance(total, bool):
        return total / W_PER_KW
    return total


def _period_s(data: Mapping[str, Any]) -> int | None:
    start, end = data.get("dateObservedFrom"), data.get("dateObservedTo")
    observed = data.get("dateObserved")
    if isinstance(observed, str) and "/" in observed:
        start, end = observed.split("/", 1)
    if not (isinstance(start, str) and isinstance(end, str)):
        return None
    try:
        seconds = (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except (ValueError, TypeError):
        return None  # left to validation: period_s will be reported missing
    return round(seconds)


def map_traffic(payload: Mapping[str, Any], entity: str | None) -> dict[str, Any]:
    """TrafficFlowObserved or our fields -> TrafficObservation fields."""
    data = {k: _unwrap(v) for k, v in payload.items()}
    out: dict[str, Any] = {}
    renames = {"averageVehicleSpeed": "average_speed_kmh"}
    for key, value in data.items():
        if key == "dateObserved":
            out["observed_at"] = _interval_end(value)
        elif key == "dateObservedTo":
            out.setdefault("observed_at", value)
        elif key == "laneId":
            out["lane_id"] = str(value) if isinstance(value, int) else value
        elif key == "refRoadSegment":
            out["segment_id"] = _entity_code(value)
        elif key in renames:
            out[renames[key]] = value
        elif key not in _FIWARE_DESCRIPTIVE:
            out[key] = value
    if "period_s" not in out and (period := _period_s(data)) is not None:
        out["period_s"] = period
    if entity is not None:
        out.setdefault("sensor_id", entity)
    return out


def map_energy(payload: Mapping[str, Any], entity: str | None) -> dict[str, Any]:
    """ThreePhaseAcMeasurement or our fields -> EnergyReading fields (W -> kW)."""
    data = {k: _unwrap(v) for k, v in payload.items()}
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "dateObserved":
            out["measured_at"] = _interval_end(value)
        elif key == "totalActivePower":
            out["active_power_kw"] = _watts_to_kw(value, key)
        elif key == "activePower":
            out.setdefault("active_power_kw", _watts_to_kw(value, key))
        elif key == "totalActiveEnergyImport":
            out["energy_kwh_total"] = value
        elif key == "phaseVoltage":
            out["voltage_v"] = _phases(value, key)
        elif key == "current":
            out["current_a"] = _phases(value, key)
        elif key == "frequency":
            out["frequency_hz"] = value
        elif key == "totalPowerFactor":
            out["power_factor"] = value
        elif key == "powerFactor":
            out.setdefault("power_factor", _number_or_phases(value, key, lambda vs, n: sum(vs) / n))
        elif key not in _FIWARE_DESCRIPTIVE:
            out[key] = value
    if entity is not None:
        out.setdefault("meter_id", entity)
    return out


MAPPERS: dict[str, Callable[[Mapping[str, Any], str | None], dict[str, Any]]] = {
    "traffic": map_traffic,
    "energy": map_energy,
}
