"""Small typed builders for Grafana dashboard JSON (schema 39, Grafana 11).

Only what the IOC dashboards use. Every text is a :class:`T` (Vietnamese and
English), resolved when the dashboard is rendered for one language. SQL panels carry
a :class:`Check` — the columns and value ranges the query tests assert on chdb — which
never reaches the JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ioc.ops.grafana.uids import CLICKHOUSE_TYPE, CLICKHOUSE_UID, PROMETHEUS_TYPE, PROMETHEUS_UID

Language = Literal["vi", "en"]
SCHEMA_VERSION = 39
CLICKHOUSE = {"type": CLICKHOUSE_TYPE, "uid": CLICKHOUSE_UID}
PROMETHEUS = {"type": PROMETHEUS_TYPE, "uid": PROMETHEUS_UID}
PLUGIN_VERSION = "4.10.1"
"""grafana-clickhouse-datasource version the targets are written for."""


@dataclass(frozen=True, slots=True)
class T:
    """A text in both languages."""

    vi: str
    en: str

    def __call__(self, language: Language) -> str:
        """The text in one language."""
        return self.vi if language == "vi" else self.en


Range = tuple[float | None, float | None]


def resolve(value: Any, language: Language) -> Any:
    """``value`` with every :class:`T` inside it (dicts, lists) in one language."""
    if isinstance(value, T):
        return value(language)
    if isinstance(value, Mapping):
        return {k: resolve(v, language) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, language) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Check:
    """What a populated database must return for a query: columns, and ranges of numbers.

    A column mapped to None must exist (any type); a range also requires at least one
    non-null value and every non-null value inside it.
    """

    columns: Mapping[str, Range | None]
    min_rows: int = 1


@dataclass(frozen=True, slots=True)
class Sql:
    """A ClickHouse plugin target in SQL-editor mode."""

    sql: str
    check: Check
    format: Literal["table", "time_series"] = "table"
    ref_id: str = "A"

    def to_json(self) -> dict[str, Any]:
        """The target as the plugin stores it (format 1 = table, 0 = time series)."""
        return {
            "datasource": CLICKHOUSE,
            "editorType": "sql",
            "format": 1 if self.format == "table" else 0,
            "queryType": "table" if self.format == "table" else "timeseries",
            "pluginVersion": PLUGIN_VERSION,
            "rawSql": self.sql.strip(),
            "refId": self.ref_id,
        }


@dataclass(frozen=True, slots=True)
class Prom:
    """A Prometheus target."""

    expr: str
    legend: str = ""
    ref_id: str = "A"
    instant: bool = False

    def to_json(self) -> dict[str, Any]:
        """The target as Grafana stores it."""
        return {
            "datasource": PROMETHEUS,
            "expr": self.expr,
            "legendFormat": self.legend or "__auto",
            "range": not self.instant,
            "instant": self.instant,
            "refId": self.ref_id,
        }


Target = Sql | Prom
Step = tuple[str, float | None]
"""A threshold step: colour from this value up (None = the base colour)."""


@dataclass(frozen=True, slots=True)
class Panel:
    """One panel. ``kind`` is the Grafana panel type; ``width``/``height`` in grid units."""

    kind: str
    title: T
    targets: Sequence[Target]
    width: int = 6
    height: int = 8
    description: T | None = None
    unit: str | None = None
    decimals: int | None = None
    min: float | None = None
    max: float | None = None
    thresholds: Sequence[Step] = (("green", None),)
    options: Mapping[str, Any] = field(default_factory=dict)
    custom: Mapping[str, Any] = field(default_factory=dict)
    overrides: Sequence[Mapping[str, Any]] = ()
    renames: Mapping[str, T] = field(default_factory=dict)
    """Column → header. Display-name overrides, not a rename transformation: a rename
    would change the names the other overrides match on."""
    hidden: Sequence[str] = ()
    """Table columns not shown but kept in the data (data links read them)."""
    links: Sequence[Mapping[str, Any]] = ()
    display_name: str | None = None
    """e.g. ``${__field.labels.area}``: one series per area, named after the area."""

    def to_json(self, language: Language, panel_id: int, x: int, y: int) -> dict[str, Any]:
        """Panel JSON at a grid position."""
        datasource = self.targets[0].to_json()["datasource"] if self.targets else CLICKHOUSE
        defaults: dict[str, Any] = {
            "color": {"mode": "thresholds" if self.kind != "timeseries" else "palette-classic"},
            "thresholds": {
                "mode": "absolute",
                "steps": [{"color": c, "value": v} for c, v in self.thresholds],
            },
            "mappings": [],
            "links": resolve(self.links, language),
        }
        for key, value in (
            ("unit", self.unit),
            ("decimals", self.decimals),
            ("min", self.min),
            ("max", self.max),
        ):
            if value is not None:
                defaults[key] = value
        if self.custom:
            defaults["custom"] = dict(self.custom)
        if self.display_name is not None:
            defaults["displayName"] = self.display_name
        overrides = [
            *resolve(self.overrides, language),
            *(
                {
                    "matcher": {"id": "byName", "options": column},
                    "properties": [{"id": "displayName", "value": header(language)}],
                }
                for column, header in self.renames.items()
            ),
            *(
                {
                    "matcher": {"id": "byName", "options": column},
                    "properties": [{"id": "custom.hidden", "value": True}],
                }
                for column in self.hidden
            ),
        ]
        panel: dict[str, Any] = {
            "id": panel_id,
            "type": self.kind,
            "title": self.title(language),
            "gridPos": {"x": x, "y": y, "w": self.width, "h": self.height},
            "datasource": datasource,
            "targets": [t.to_json() for t in self.targets],
            "fieldConfig": {"defaults": defaults, "overrides": overrides},
            "options": resolve(self.options, language),
        }
        if self.description is not None:
            panel["description"] = self.description(language)
        return panel


@dataclass(frozen=True, slots=True)
class Row:
    """A collapsible row header (full width)."""

    title: T

    def to_json(self, language: Language, panel_id: int, y: int) -> dict[str, Any]:
        """Row JSON."""
        return {
            "id": panel_id,
            "type": "row",
            "title": self.title(language),
            "collapsed": False,
            "gridPos": {"x": 0, "y": y, "w": 24, "h": 1},
            "panels": [],
        }


@dataclass(frozen=True, slots=True)
class Variable:
    """A template variable: a ClickHouse query, or a fixed list of values."""

    name: str
    label: T
    query: str = ""
    values: Sequence[tuple[str, T]] = ()
    multi: bool = False
    include_all: bool = False

    def to_json(self, language: Language) -> dict[str, Any]:
        """Variable JSON; "All" is the initial selection of multi-value variables."""
        current: dict[str, Any] = (
            {"selected": True, "text": ["All"], "value": ["$__all"]} if self.include_all else {}
        )
        variable: dict[str, Any] = {
            "name": self.name,
            "label": self.label(language),
            "hide": 0,
            "multi": self.multi,
            "includeAll": self.include_all,
            "current": current,
            "skipUrlSync": False,
        }
        if self.query:
            return variable | {
                "type": "query",
                "datasource": CLICKHOUSE,
                "query": self.query.strip(),
                "definition": self.query.strip(),
                "refresh": 1,
                "sort": 0,
                "regex": "",
                "options": [],
            }
        options = [
            {"selected": False, "text": text(language), "value": value}
            for value, text in self.values
        ]
        return variable | {
            "type": "custom",
            "query": ",".join(f"{text(language)} : {value}" for value, text in self.values),
            "options": options,
        }


@dataclass(frozen=True, slots=True)
class Annotation:
    """Events drawn on every time series of a dashboard, from a ClickHouse query.

    The query returns ``time``, ``timeEnd`` (a region; NULL for an instant), ``text`` and
    ``tags``.
    """

    name: T
    sql: str
    color: str = "red"

    def target(self) -> Sql:
        """The query as a target, and what it must return (run by the panel-query tests)."""
        return Sql(self.sql, Check({"time": None, "timeEnd": None, "text": None}, min_rows=0))

    def to_json(self, language: Language) -> dict[str, Any]:
        """An annotation source as Grafana stores it (the plugin's SQL editor mode)."""
        return {
            "datasource": CLICKHOUSE,
            "enable": True,
            "hide": False,
            "iconColor": self.color,
            "name": self.name(language),
            "target": self.target().to_json(),
        }


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A dashboard: its panels are laid out left to right, wrapping at 24 columns."""

    uid: str
    title: T
    items: Sequence[Panel | Row]
    variables: Sequence[Variable] = ()
    time_from: str = "now-24h"
    description: T | None = None
    refresh: str = "30s"
    tags: Sequence[str] = ("ioc",)
    annotations: Sequence[Annotation] = ()

    def sql_targets(self) -> list[tuple[int, Panel, Sql]]:
        """(panel id, panel, target) of every SQL target, ids as in :meth:`to_json`."""
        found = []
        for panel_id, item in enumerate(self.items, start=1):
            if isinstance(item, Panel):
                found += [(panel_id, item, t) for t in item.targets if isinstance(t, Sql)]
        return found

    def to_json(self, language: Language, timezone: str) -> dict[str, Any]:
        """The dashboard JSON Grafana imports."""
        panels = []
        x = y = row_height = 0
        for panel_id, item in enumerate(self.items, start=1):
            if isinstance(item, Row):
                y += row_height
                panels.append(item.to_json(language, panel_id, y))
                x, y, row_height = 0, y + 1, 0
                continue
            if x + item.width > 24:
                x, y, row_height = 0, y + row_height, 0
            panels.append(item.to_json(language, panel_id, x, y))
            x += item.width
            row_height = max(row_height, item.height)
        dashboard: dict[str, Any] = {
            "uid": self.uid,
            "title": self.title(language),
            "tags": list(self.tags),
            "timezone": timezone,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "editable": True,
            "graphTooltip": 1,
            "fiscalYearStartMonth": 0,
            "liveNow": False,
            "weekStart": "monday",
            "time": {"from": self.time_from, "to": "now"},
            "refresh": self.refresh,
            "annotations": {"list": [a.to_json(language) for a in self.annotations]},
            "links": [
                {
                    "type": "dashboards",
                    "tags": ["ioc"],
                    "asDropdown": True,
                    "title": "IOC",
                    "includeVars": True,
                    "keepTime": True,
                }
            ],
            "templating": {"list": [v.to_json(language) for v in self.variables]},
            "panels": panels,
        }
        if self.description is not None:
            dashboard["description"] = self.description(language)
        return dashboard
