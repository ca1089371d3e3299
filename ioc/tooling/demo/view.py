"""The live terminal view: KPI tiles per domain, open anomalies, pipeline rates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ioc.tooling.demo.probe import Snapshot
from schemas.timeutil import LOCAL_TZ

TITLES = {
    "traffic": "Giao thông · traffic",
    "energy": "Điện · energy",
    "qr": "QR check-points",
    "dossiers": "Hồ sơ · dossiers",
}
SEVERITY = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _clock(epoch_s: Any) -> str:
    return datetime.fromtimestamp(int(epoch_s), LOCAL_TZ).strftime("%H:%M")


def _tile(name: str, values: dict[str, Any] | None) -> Panel:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="dim")
    table.add_column(justify="right", style="bold")
    if not values:
        table.add_row("waiting for the first closed window", "")
    else:
        for key, value in values.items():
            table.add_row(key, _clock(value) if key == "minute" else _fmt(value))
    return Panel(table, title=TITLES[name], width=38)


def _anomalies(snap: Snapshot) -> Panel:
    table = Table("severity", "domain", "entity", "metric", "since", expand=True)
    for severity, domain, entity, metric, started, _ in snap.anomalies:
        table.add_row(
            Text(str(severity), style=SEVERITY.get(str(severity), "")),
            str(domain),
            str(entity),
            str(metric),
            _clock(started),
        )
    firing = "" if snap.firing is None else f", {snap.firing:.0f} firing in Alertmanager"
    return Panel(table, title=f"open anomalies: {snap.open_anomalies}{firing}")


def _pipeline(snap: Snapshot) -> Panel:
    table = Table("stage", "per second", "total", expand=True)
    for label, total in snap.counters.items():
        table.add_row(label, f"{snap.rates.get(label, 0.0):,.1f}", f"{total:,.0f}")
    rows = "  ".join(
        f"{t.removeprefix('events_')} {n:,}"
        for t, n in snap.rows.items()
        if t.startswith("events_")
    )
    kpis = sum(n for t, n in snap.rows.items() if t.startswith("kpi_"))
    return Panel(
        Group(table, Text(f"ClickHouse rows: {rows}  ·  KPI rows {kpis:,}", style="dim")),
        title="pipeline",
    )


def render(snap: Snapshot, footer: str) -> RenderableType:
    """The whole screen for one snapshot."""
    tiles = Columns([_tile(name, snap.tiles.get(name)) for name in TITLES])
    parts: list[RenderableType] = [tiles, _anomalies(snap), _pipeline(snap)]
    if snap.errors:
        parts.append(Text("; ".join(snap.errors[:3]), style="red"))
    parts.append(Text(footer, style="dim"))
    return Group(*parts)
