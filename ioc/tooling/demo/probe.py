"""What the live view shows, read once a second: ClickHouse views and each process's /metrics.

The KPI figures come from the same ``*_live`` views and ``dossier_state`` the Grafana
panels read; the rates are differences of the processes' own Prometheus counters.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from clickhouse_driver import Client
from prometheus_client.parser import text_string_to_metric_families

RECENT_S = 1_800
"""KPI tiles look at windows that started in the last half hour."""

EVENT_TABLES = ("events_qr", "events_traffic", "events_energy", "events_dossier")

# (process, metric family, label filter) → a pipeline counter shown as a rate.
COUNTERS: dict[str, tuple[str, str, dict[str, str]]] = {
    "HTTP gateway accepted": ("http", "ioc_connector_events", {"outcome": "accepted"}),
    "MQTT bridge accepted": ("mqtt", "ioc_connector_events", {"outcome": "accepted"}),
    "outbox poller accepted": ("outbox", "ioc_connector_events", {"outcome": "accepted"}),
    "worker records": ("worker", "ioc_stream_records", {}),
    "worker KPI records": ("worker", "ioc_stream_kpi_records", {}),
    "sink rows written": ("sink", "ioc_sink_rows_written", {}),
}


@dataclass
class Snapshot:
    at: float
    tiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    anomalies: list[tuple[Any, ...]] = field(default_factory=list)
    open_anomalies: int = 0
    counters: dict[str, float] = field(default_factory=dict)
    rates: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    firing: float | None = None
    errors: list[str] = field(default_factory=list)


def _one(client: Client, sql: str) -> tuple[Any, ...] | None:
    rows = client.execute(sql)
    return tuple(rows[0]) if rows else None


def _ratio(a: Any, b: Any) -> float | None:
    return None if not b else float(a) / float(b)


class Probe:
    def __init__(self, client: Client, database: str, ports: dict[str, int]) -> None:
        self.client = client
        self.db = database
        self.ports = ports
        self._last: Snapshot | None = None

    def kpis(self, snap: Snapshot) -> None:
        """Tiles: the latest closed minute of traffic and energy, QR over 15 min, dossiers now."""
        db, since = self.db, f"now() - {RECENT_S}"
        t = _one(
            self.client,
            f"""
            SELECT toUInt32(window_start) AS ws, sum(vehicles), sum(speed_x_vehicles),
                   sum(free_flow_x_vehicles), sum(sensors_reporting), sum(sensors_expected),
                   sum(speed_vehicles)
            FROM {db}.kpi_traffic_live WHERE window_size = '1m' AND entity_kind = 'segment'
              AND window_start >= {since} GROUP BY ws ORDER BY ws DESC LIMIT 1""",
        )
        if t:
            speed = _ratio(t[2], t[6])
            index = None if not t[3] else max(0.0, 1 - float(t[2]) / float(t[3]))
            snap.tiles["traffic"] = {
                "minute": t[0],
                "vehicles/min": t[1],
                "mean speed km/h": speed,
                "congestion index": index,
                "sensors": f"{t[4]}/{t[5]}",
            }
        e = _one(
            self.client,
            f"""
            SELECT toUInt32(window_start) AS ws, sum(energy_kwh), sum(power_kw_sum),
                   sum(power_samples),
                   sum(voltage_sum), sum(voltage_samples), min(voltage_min_v),
                   sum(meters_reporting), sum(meters_expected)
            FROM {db}.kpi_energy_live WHERE window_size = '1m' AND entity_kind = 'feeder'
              AND window_start >= {since} GROUP BY ws ORDER BY ws DESC LIMIT 1""",
        )
        if e:
            mean_kw = _ratio(e[2], e[3])
            demand = None if mean_kw is None else mean_kw * float(e[7]) / 1000
            snap.tiles["energy"] = {
                "minute": e[0],
                "demand MW": demand,
                "kWh in minute": e[1],
                "mean voltage V": _ratio(e[4], e[5]),
                "min voltage V": e[6],
                "meters": f"{e[7]}/{e[8]}",
            }
        q = _one(
            self.client,
            f"""
            SELECT max(toUInt32(window_start)), sum(scans_in), sum(scans_out), sum(not_green),
                   sum(scans)
            FROM {db}.kpi_qr_live WHERE window_size = '1m' AND entity_kind = 'checkpoint'
              AND window_start >= now() - 900""",
        )
        if q and q[0]:
            snap.tiles["qr"] = {
                "minute": q[0],
                "in (15 min)": q[1],
                "out (15 min)": q[2],
                "net flow": int(q[1]) - int(q[2]),
                "share not green": _ratio(q[3], q[4]),
            }
        d = _one(
            self.client,
            f"""
            SELECT countIf(is_open = 1), countIf(is_open = 1 AND due_at < now()), count()
            FROM {db}.dossier_state_latest""",
        )
        if d and d[2]:
            snap.tiles["dossiers"] = {"open now": d[0], "overdue now": d[1], "known": d[2]}

    def anomalies(self, snap: Snapshot) -> None:
        """The latest open anomalies (what panels read: the live generations)."""
        rows = self.client.execute(f"""
            SELECT severity, domain, entity_id, metric, toUInt32(started_at), description
            FROM {self.db}.anomalies_live WHERE state = 'open'
            ORDER BY updated_at DESC LIMIT 6""")
        snap.anomalies = [tuple(r) for r in rows]
        found = _one(
            self.client, f"SELECT count() FROM {self.db}.anomalies_live WHERE state = 'open'"
        )
        snap.open_anomalies = int(found[0]) if found else 0

    def row_counts(self, snap: Snapshot) -> None:
        """Rows per table (raw events and KPIs, every version)."""
        for table in (*EVENT_TABLES, "kpi_traffic", "kpi_energy", "kpi_qr", "kpi_dossier"):
            found = _one(self.client, f"SELECT count() FROM {self.db}.{table}")
            snap.rows[table] = int(found[0]) if found else 0

    def metrics(self, snap: Snapshot) -> None:
        """Counters of every process's /metrics, and the alerter's firing gauge."""
        scraped: dict[str, list[Any]] = {}
        for process, port in self.ports.items():
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=0.5).text
                scraped[process] = list(text_string_to_metric_families(text))
            except (httpx.HTTPError, ValueError) as exc:
                snap.errors.append(f"{process} /metrics: {type(exc).__name__}")
        for label, (process, family, labels) in COUNTERS.items():
            total = 0.0
            for fam in scraped.get(process, []):
                if fam.name != family:
                    continue
                for s in fam.samples:
                    if s.name.endswith("_total") and all(
                        s.labels.get(k) == v for k, v in labels.items()
                    ):
                        total += s.value
            snap.counters[label] = total
        for fam in scraped.get("alerter", []):
            if fam.name == "ioc_alerter_firing_alerts":
                snap.firing = sum(s.value for s in fam.samples)

    def take(self) -> Snapshot:
        """One reading of everything; a failing part is reported, never raised."""
        snap = Snapshot(at=time.monotonic())
        for part in (self.kpis, self.anomalies, self.row_counts, self.metrics):
            try:
                part(snap)
            except Exception as exc:  # the view must keep refreshing while a service restarts
                snap.errors.append(f"{part.__name__}: {type(exc).__name__}: {exc}"[:200])
        last = self._last
        if last is not None and snap.at > last.at:
            dt = snap.at - last.at
            snap.rates = {
                k: max(0.0, (v - last.counters.get(k, v)) / dt) for k, v in snap.counters.items()
            }
        self._last = snap
        return snap
