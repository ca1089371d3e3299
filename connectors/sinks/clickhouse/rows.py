"""Pure mapping from contracts to table rows (no I/O), one function per table.

Column lists are the single source of truth for what the sink writes; the
migrations define the same columns (a test checks both agree on the real server).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from schemas.base import Contract
from schemas.domains import CONTRACTS
from schemas.events import (
    EXCLUDED_STATUSES,
    FINISHED_STATUSES,
    DossierStatus,
    DossierStatusChange,
    EnergyReading,
    QrScan,
    TrafficObservation,
)
from schemas.results import (
    Anomaly,
    DataQualityRecord,
    DeadLetter,
    Domain,
    DossierParts,
    EnergyParts,
    KpiRecord,
    QrParts,
    TrafficParts,
    WindowSize,
)
from schemas.timeutil import from_ms, to_ms
from schemas.topics import (
    ANOMALIES,
    DEADLETTER,
    DQ,
    KPI,
)

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a record came from: written beside raw events for traceability."""

    topic: str
    partition: int
    offset: int


EVENT_COMMON = ("event_id", "source", "schema_version")
ORIGIN = ("kafka_partition", "kafka_offset", "written_at_ms")

COLUMNS: dict[str, tuple[str, ...]] = {
    "events_qr": (
        *EVENT_COMMON, "checkpoint_id", "area_code", "event_time", "event_time_ms",
        "subject_kind", "subject_hash", "pii_key_id", "direction", "declaration_status",
        "device_id", *ORIGIN,
    ),
    "events_traffic": (
        *EVENT_COMMON, "sensor_id", "segment_id", "lane_id", "event_time", "event_time_ms",
        "period_s", "intensity", "average_speed_kmh", "occupancy", "motorcycle", "car", "truck",
        "bus", "congested", *ORIGIN,
    ),
    "events_energy": (
        *EVENT_COMMON, "meter_id", "feeder_id", "area_code", "event_time", "event_time_ms",
        "active_power_kw", "energy_kwh_total", "voltage_l1_v", "voltage_l2_v", "voltage_l3_v",
        "current_l1_a", "current_l2_a", "current_l3_a", "power_factor", "frequency_hz", *ORIGIN,
    ),
    "events_dossier": (
        *EVENT_COMMON, "dossier_id", "procedure_code", "agency_code", "area_code", "level",
        "channel", "status", "previous_status", "event_time", "event_time_ms", "received_at",
        "due_at", "paid_online", "digitized", "outbox_id", "applicant_hash", *ORIGIN,
    ),
    "dossier_state": (
        "dossier_id", "agency_code", "area_code", "procedure_code", "channel", "status",
        "is_open", "received_at", "due_at", "changed_at", "outbox_id", "written_at_ms",
    ),
    "anomalies": (
        "anomaly_id", "domain", "entity_kind", "entity_id", "group_id", "area_code", "metric",
        "detector", "severity", "observed", "expected", "expected_low", "expected_high",
        "score", "state", "started_at", "updated_at", "ended_at", "description", "generation",
        "sequence", "version", "written_at_ms",
    ),
    "deadletter": (
        "deadletter_id", "source_topic", "source_partition", "source_offset", "key", "reason",
        "error", "payload", "producer", "failed_at", "written_at_ms",
    ),
    "dq": (
        "domain", "source", "source_partition", "window_start", "window_end", "events", "late",
        "duplicates", "invalid", "invalid_reasons", "invalid_counts", "last_seen", "generation",
        "sequence", "version", "written_at_ms",
    ),
}  # fmt: skip

KPI_COMMON = (
    "entity_kind", "entity_id", "group_id", "window_size", "window_start", "window_end",
)  # fmt: skip
KPI_TAIL = (
    "computed_at_ms", "generation", "sequence", "version", "members", "late_events", "late_ids",
    "written_at_ms",
)  # fmt: skip
KPI_PARTS: dict[str, tuple[str, ...]] = {
    "traffic": (
        "observations", "vehicles", "motorcycles", "cars", "trucks", "buses", "speed_x_vehicles",
        "free_flow_x_vehicles", "occupancy_sum", "period_s_sum", "congested_observations",
        "speed_min_kmh", "speed_max_kmh", "sensors_reporting", "sensors_expected",
        "speed_vehicles", "occupancy_samples",
    ),
    "energy": (
        "readings", "energy_kwh", "power_kw_sum", "power_kw_max", "voltage_sum", "voltage_samples",
        "voltage_min_v", "voltage_max_v", "seconds_outside_voltage", "frequency_dev_abs_sum",
        "frequency_samples", "register_resets", "register_rollovers", "meters_reporting",
        "meters_expected", "power_samples",
    ),
    "qr": (
        "scans", "scans_in", "scans_out", "persons", "vehicles", "not_green", "distinct_subjects",
    ),
    "dossier": (
        "received", "received_online", "finished", "finished_late", "open_at_end",
        "open_late_at_end", "paid_online", "digitized", "processing_hours_sum", "excluded",
    ),
}  # fmt: skip
for _domain, _parts in KPI_PARTS.items():
    COLUMNS[f"kpi_{_domain}"] = (*KPI_COMMON, *_parts, *KPI_TAIL)

# Raw-event tables and the position of event_time_ms in their rows (for the lag metric).
EVENT_TABLES = {t: COLUMNS[t].index("event_time_ms") for t in (
    "events_qr", "events_traffic", "events_energy", "events_dossier"
)}  # fmt: skip

OPEN_EXCLUDED = (
    FINISHED_STATUSES
    | EXCLUDED_STATUSES
    | {
        DossierStatus.STOPPED,
        DossierStatus.TRANSFERRED_OUT,
    }
)


def _origin(origin: Origin, written_at_ms: int) -> Row:
    return (origin.partition, origin.offset, written_at_ms)


def _time(value: datetime) -> tuple[datetime, int]:
    return value, to_ms(value)


def qr_row(e: QrScan, origin: Origin, written_at_ms: int) -> Row:
    """events_qr."""
    return (
        e.event_id, e.source, e.schema_version, e.checkpoint_id, e.area_code,
        *_time(e.scanned_at), e.subject_kind.value, e.subject_hash, e.pii_key_id,
        e.direction.value, e.declaration_status.value, e.device_id,
        *_origin(origin, written_at_ms),
    )  # fmt: skip


def traffic_row(e: TrafficObservation, origin: Origin, written_at_ms: int) -> Row:
    """events_traffic."""
    c = e.vehicle_counts
    return (
        e.event_id, e.source, e.schema_version, e.sensor_id, e.segment_id, e.lane_id,
        *_time(e.observed_at), e.period_s, e.intensity, e.average_speed_kmh, e.occupancy,
        c.motorcycle, c.car, c.truck, c.bus, None if e.congested is None else int(e.congested),
        *_origin(origin, written_at_ms),
    )  # fmt: skip


def energy_row(e: EnergyReading, origin: Origin, written_at_ms: int) -> Row:
    """events_energy."""
    v, i = e.voltage_v, e.current_a
    return (
        e.event_id, e.source, e.schema_version, e.meter_id, e.feeder_id, e.area_code,
        *_time(e.measured_at), e.active_power_kw, e.energy_kwh_total,
        v.l1 if v else None, v.l2 if v else None, v.l3 if v else None,
        i.l1 if i else None, i.l2 if i else None, i.l3 if i else None,
        e.power_factor, e.frequency_hz, *_origin(origin, written_at_ms),
    )  # fmt: skip


def dossier_row(e: DossierStatusChange, origin: Origin, written_at_ms: int) -> Row:
    """events_dossier."""
    return (
        e.event_id, e.source, e.schema_version, e.dossier_id, e.procedure_code, e.agency_code,
        e.area_code, e.level, e.channel.value, e.status.value,
        e.previous_status.value if e.previous_status else None, *_time(e.changed_at),
        e.received_at, e.due_at, int(e.paid_online), int(e.digitized), e.outbox_id,
        e.applicant_hash, *_origin(origin, written_at_ms),
    )  # fmt: skip


def dossier_state_row(e: DossierStatusChange, written_at_ms: int) -> Row:
    """dossier_state: the latest status per dossier wins by outbox id."""
    return (
        e.dossier_id, e.agency_code, e.area_code, e.procedure_code, e.channel.value,
        e.status.value, int(e.status not in OPEN_EXCLUDED), e.received_at, e.due_at,
        e.changed_at, e.outbox_id, written_at_ms,
    )  # fmt: skip


def kpi_row(k: KpiRecord, written_at_ms: int) -> Row:
    """kpi_<domain>: identity, additive parts in column order, version."""
    parts = k.parts.model_dump()
    return (
        k.entity_kind, k.entity_id, k.group_id, k.window.value, k.window_start, k.window_end,
        *(parts[name] for name in KPI_PARTS[k.domain.value]),
        to_ms(k.computed_at), k.generation, k.sequence, k.version, k.members, k.late_events,
        k.late_ids, written_at_ms,
    )  # fmt: skip


PARTS_MODELS: dict[str, type[TrafficParts | EnergyParts | QrParts | DossierParts]] = {
    "traffic": TrafficParts, "energy": EnergyParts, "qr": QrParts, "dossier": DossierParts,
}  # fmt: skip


def kpi_from_row(domain: Domain, row: dict[str, Any]) -> KpiRecord:
    """The KPI record a stored ``kpi_<domain>`` row holds (the inverse of :func:`kpi_row`)."""
    parts = PARTS_MODELS[domain.value].model_construct(
        **{name: row[name] for name in KPI_PARTS[domain.value]}
    )
    start, end = row["window_start"], row["window_end"]
    return KpiRecord.model_construct(
        domain=domain,
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        group_id=row["group_id"],
        window=WindowSize(row["window_size"]),
        window_start=start.astimezone(UTC),
        window_end=end.astimezone(UTC),
        parts=parts,
        rates={},
        computed_at=from_ms(row["computed_at_ms"]),
        generation=row["generation"],
        sequence=row["sequence"],
        members=list(row["members"]),
        correction=False,
        event_id=None,
        late_events=row["late_events"],
        late_ids=list(row["late_ids"]),
    )


def anomaly_row(a: Anomaly, written_at_ms: int) -> Row:
    """Anomalies."""
    return (
        a.anomaly_id, a.domain.value, a.entity_kind, a.entity_id, a.group_id, a.area_code or "",
        a.metric, a.detector, a.severity.value, a.observed, a.expected, a.expected_low,
        a.expected_high, a.score, a.state.value, a.started_at, a.updated_at, a.ended_at,
        a.description, a.generation, a.sequence, a.version, written_at_ms,
    )  # fmt: skip


def deadletter_row(d: DeadLetter, deadletter_id: str, written_at_ms: int) -> Row:
    """Deadletter: keyed by where the failure was recorded, so a re-read collapses."""
    return (
        deadletter_id, d.source_topic, -1 if d.partition is None else d.partition,
        -1 if d.offset is None else d.offset, d.key or "", d.reason, d.error, d.payload,
        d.producer, d.failed_at, written_at_ms,
    )  # fmt: skip


def dq_row(q: DataQualityRecord, written_at_ms: int) -> Row:
    """Dq: one partition's counts of a source's minute; invalid by reason as parallel arrays."""
    reasons = sorted(q.invalid)
    return (
        q.domain.value, q.source, q.partition, q.window_start, q.window_end, q.events, q.late,
        q.duplicates, q.invalid_total, reasons, [q.invalid[r] for r in reasons], q.last_seen,
        q.generation, q.sequence, q.version, written_at_ms,
    )  # fmt: skip


def rows_for(value: Contract, origin: Origin, written_at_ms: int) -> list[tuple[str, Row]]:
    """(table, row) pairs one decoded record produces."""
    if isinstance(value, QrScan):
        return [("events_qr", qr_row(value, origin, written_at_ms))]
    if isinstance(value, TrafficObservation):
        return [("events_traffic", traffic_row(value, origin, written_at_ms))]
    if isinstance(value, EnergyReading):
        return [("events_energy", energy_row(value, origin, written_at_ms))]
    if isinstance(value, DossierStatusChange):
        return [
            ("events_dossier", dossier_row(value, origin, written_at_ms)),
            ("dossier_state", dossier_state_row(value, written_at_ms)),
        ]
    if isinstance(value, KpiRecord):
        return [(f"kpi_{value.domain.value}", kpi_row(value, written_at_ms))]
    if isinstance(value, Anomaly):
        return [("anomalies", anomaly_row(value, written_at_ms))]
    if isinstance(value, DataQualityRecord):
        return [("dq", dq_row(value, written_at_ms))]
    if isinstance(value, DeadLetter):
        ident = f"{origin.topic}/{origin.partition}/{origin.offset}"
        return [("deadletter", deadletter_row(value, ident, written_at_ms))]
    raise TypeError(f"no table for {type(value).__name__}")


TOPIC_MODELS: dict[str, type[Contract]] = {
    **{c.topic: c.model for c in CONTRACTS.values()},
    KPI: KpiRecord,
    ANOMALIES: Anomaly,
    DEADLETTER: DeadLetter,
    DQ: DataQualityRecord,
}
