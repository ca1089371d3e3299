"""Small builders of valid contracts for tests (one obvious example per contract)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from schemas.base import Contract
from schemas.events import DossierStatusChange, EnergyReading, QrScan, TrafficObservation
from schemas.results import Anomaly, DataQualityRecord, DeadLetter, KpiRecord, TrafficParts

T0 = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)


def subject_hash(raw: str = "079201001234") -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def qr_scan(**kw: object) -> QrScan:
    data: dict[str, object] = {
        "source": "test",
        "checkpoint_id": "CP-DX-01",
        "area_code": "689",
        "scanned_at": T0,
        "subject_kind": "person",
        "subject_hash": subject_hash(),
        "pii_key_id": "k1",
        "direction": "in",
        "declaration_status": "green",
        "device_id": "DEV-1",
    }
    return QrScan.model_validate({**data, **kw})


def traffic(**kw: object) -> TrafficObservation:
    data: dict[str, object] = {
        "source": "test",
        "sensor_id": "TS-QL13-01",
        "segment_id": "QL13-01",
        "observed_at": T0,
        "period_s": 60,
        "intensity": 42,
        "average_speed_kmh": 38.5,
        "occupancy": 0.18,
        "vehicle_counts": {"motorcycle": 35, "car": 5, "truck": 1, "bus": 1},
    }
    return TrafficObservation.model_validate({**data, **kw})


def energy(**kw: object) -> EnergyReading:
    data: dict[str, object] = {
        "source": "test",
        "meter_id": "EM-0001",
        "feeder_id": "FD-DX-01",
        "area_code": "689",
        "measured_at": T0,
        "active_power_kw": 3.2,
        "energy_kwh_total": 12345.6,
        "voltage_v": {"l1": 221.0, "l2": 219.5, "l3": 220.4},
        "power_factor": 0.95,
        "frequency_hz": 50.01,
    }
    return EnergyReading.model_validate({**data, **kw})


def dossier(**kw: object) -> DossierStatusChange:
    data: dict[str, object] = {
        "source": "test",
        "dossier_id": "H21.01-261126-0001",
        "procedure_code": "1.001234",
        "agency_code": "000.00.21.H10",
        "area_code": "689",
        "level": 4,
        "channel": "online",
        "status": "received",
        "changed_at": T0,
        "received_at": T0,
        "due_at": datetime(2026, 11, 30, 10, 0, tzinfo=UTC),
        "outbox_id": 1,
    }
    return DossierStatusChange.model_validate({**data, **kw})


def kpi(**kw: object) -> KpiRecord:
    parts = TrafficParts(
        observations=1,
        vehicles=42,
        speed_x_vehicles=42 * 38.5,
        free_flow_x_vehicles=42 * 60.0,
        occupancy_sum=0.18,
        period_s_sum=60,
        sensors_reporting=1,
        sensors_expected=1,
    )
    data: dict[str, object] = {
        "domain": "traffic",
        "entity_kind": "sensor",
        "entity_id": "TS-QL13-01",
        "group_id": "QL13-01",
        "window": "1m",
        "window_start": T0,
        "window_end": datetime(2026, 11, 26, 8, 31, tzinfo=UTC),
        "parts": parts,
        "computed_at": T0,
        "generation": 1,
        "sequence": 0,
    }
    return KpiRecord.model_validate({**data, **kw})


def anomaly(**kw: object) -> Anomaly:
    data: dict[str, object] = {
        "anomaly_id": "an-1",
        "domain": "energy",
        "entity_kind": "meter",
        "entity_id": "EM-0001",
        "group_id": "FD-DX-01",
        "metric": "voltage_min_v",
        "detector": "threshold",
        "severity": "warning",
        "observed": 190.0,
        "expected": 220.0,
        "score": 0.9,
        "state": "open",
        "started_at": T0,
        "updated_at": T0,
        "generation": 1,
        "sequence": 0,
    }
    return Anomaly.model_validate({**data, **kw})


def dead_letter(**kw: object) -> DeadLetter:
    data: dict[str, object] = {
        "source_topic": "ioc.traffic.obs.v1",
        "partition": 0,
        "offset": 12,
        "reason": "invalid_json",
        "error": "not valid UTF-8 JSON",
        "payload": "{oops",
        "producer": "test",
        "failed_at": T0,
    }
    return DeadLetter.model_validate({**data, **kw})


def data_quality(**kw: object) -> DataQualityRecord:
    data: dict[str, object] = {
        "domain": "traffic",
        "partition": 0,
        "source": "mqtt-bridge",
        "window_start": T0,
        "window_end": datetime(2026, 11, 26, 8, 31, tzinfo=UTC),
        "events": 12,
        "late": 1,
        "duplicates": 1,
        "invalid": {"invalid_json": 2},
        "last_seen": T0,
        "generation": 1,
        "sequence": 1,
    }
    return DataQualityRecord.model_validate({**data, **kw})


def sample_for(model: type[Contract]) -> Contract:
    """One valid instance of any registered contract."""
    builders = {
        QrScan: qr_scan,
        TrafficObservation: traffic,
        EnergyReading: energy,
        DossierStatusChange: dossier,
        KpiRecord: kpi,
        Anomaly: anomaly,
        DeadLetter: dead_letter,
        DataQualityRecord: data_quality,
    }
    return builders[model]()  # type: ignore[index]
