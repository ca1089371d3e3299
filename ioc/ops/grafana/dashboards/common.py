"""Panel shapes the domain dashboards repeat."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ioc.ops.grafana.model import Check, Panel, Range, Sql, Step, T

TABLE_OPTIONS = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
LEGEND = {
    "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True, "calcs": []},
    "tooltip": {"mode": "multi", "sort": "desc"},
}
LINES = {
    "drawStyle": "line",
    "lineWidth": 2,
    "fillOpacity": 10,
    "showPoints": "never",
    "spanNulls": False,
    "axisSoftMin": 0,
}


def series(
    title: T,
    sql: str,
    columns: Mapping[str, Range | None],
    *,
    unit: str | None = None,
    width: int = 12,
    height: int = 8,
    description: T | None = None,
    thresholds: Sequence[Step] = (("green", None),),
    threshold_line: bool = False,
    max_value: float | None = None,
    names: Mapping[str, T] | None = None,
    label: str | None = None,
) -> Panel:
    """A time series: the SQL returns ``time``, an optional series ``label``, and values.

    With a label column (one value column), each series is named after its label value;
    without, value columns are named by ``names``.
    """
    custom = dict(LINES)
    if threshold_line:
        custom["thresholdsStyle"] = {"mode": "line+area"}
    return Panel(
        "timeseries",
        title,
        [Sql(sql, Check(columns), format="time_series")],
        width=width,
        height=height,
        description=description,
        unit=unit,
        min=0,
        max=max_value,
        thresholds=thresholds,
        options=LEGEND,
        custom=custom,
        renames=names or {},
        display_name=f"${{__field.labels.{label}}}" if label else None,
    )


def table(
    title: T,
    sql: str,
    columns: Mapping[str, Range | None],
    renames: Mapping[str, T],
    *,
    width: int = 24,
    height: int = 10,
    description: T | None = None,
    overrides: Sequence[Mapping[str, object]] = (),
    hidden: Sequence[str] = (),
) -> Panel:
    """A table; column headers in the dashboard's language."""
    return Panel(
        "table",
        title,
        [Sql(sql, Check(columns))],
        width=width,
        height=height,
        description=description,
        options=TABLE_OPTIONS,
        overrides=overrides,
        renames=renames,
        hidden=hidden,
    )


def unit_override(column: str, unit: str, decimals: int | None = None) -> dict[str, object]:
    """Per-column unit (and decimals) in a table."""
    properties: list[dict[str, object]] = [{"id": "unit", "value": unit}]
    if decimals is not None:
        properties.append({"id": "decimals", "value": decimals})
    return {"matcher": {"id": "byName", "options": column}, "properties": properties}


def rate_cell(column: str, target: float) -> dict[str, object]:
    """A rate column shown as a percentage, coloured against a target."""
    return {
        "matcher": {"id": "byName", "options": column},
        "properties": [
            {"id": "unit", "value": "percentunit"},
            {"id": "decimals", "value": 1},
            {"id": "custom.cellOptions", "value": {"type": "color-background", "mode": "basic"}},
            {
                "id": "thresholds",
                "value": {
                    "mode": "absolute",
                    "steps": [
                        {"color": "red", "value": None},
                        {"color": "orange", "value": target - 0.05},
                        {"color": "green", "value": target},
                    ],
                },
            },
        ],
    }


def value_names(column: str, names: Mapping[str, T]) -> dict[str, object]:
    """Show codes (severity, domain, level) as words of the dashboard's language."""
    options = {code: {"text": text, "index": i} for i, (code, text) in enumerate(names.items())}
    return {
        "matcher": {"id": "byName", "options": column},
        "properties": [{"id": "mappings", "value": [{"type": "value", "options": options}]}],
    }


SEVERITY_NAMES = {
    "critical": T("Nghiêm trọng", "Critical"),
    "warning": T("Cảnh báo", "Warning"),
    "info": T("Thông tin", "Info"),
}
DOMAIN_NAMES = {
    "traffic": T("Giao thông", "Traffic"),
    "energy": T("Điện năng", "Energy"),
    "qr": T("Chốt QR", "QR check-points"),
    "dossier": T("Dịch vụ công", "Public services"),
}
STATE_NAMES = {"open": T("Đang mở", "Open"), "resolved": T("Đã xử lý", "Resolved")}
LEVEL_NAMES = {
    "province": T("Cấp tỉnh", "Province"),
    "district": T("Cấp huyện", "District"),
    "commune": T("Cấp xã", "Commune"),
}
