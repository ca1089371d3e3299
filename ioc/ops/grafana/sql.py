"""SQL pieces and variables every IOC dashboard shares.

Panels read only the views the migrations define for them (kpi_*_live,
kpi_*_by_area, anomalies_live, dossier_state_latest, qr_distinct_by_area_day,
group_areas, areas, area_paths, entities, dq_by_source, dq_invalid_by_reason); table
names are unqualified — the data source's default database is the pipeline's. Panel
SQL runs on current ClickHouse (the plugin needs ≥ 21.8), so it may use what 18.16 lacks.
"""

from __future__ import annotations

from ioc.ops.grafana.model import T, Variable

LEVEL = Variable(
    "level",
    T("Cấp hành chính", "Area level"),
    query="SELECT level FROM areas FINAL GROUP BY level ORDER BY min(depth)",
)
AREA = Variable(
    "area",
    T("Địa bàn", "Area"),
    # Two columns: the plugin takes the first as value, the second as text.
    query="SELECT code, name FROM areas FINAL WHERE level = '${level}' ORDER BY name",
    multi=True,
    include_all=True,
)
AREA_VARIABLES = (LEVEL, AREA)

WINDOW = (
    "multiIf($__interval_s >= 86400, '1d', $__interval_s >= 3600, '1h', "
    "$__interval_s >= 900, '15m', '1m')"
)
"""The window size a time series reads: the coarsest that still fits the panel interval
(1 h and 1 day windows are the rollups long ranges read)."""
WINDOW_S = (
    "multiIf($__interval_s >= 86400, 86400, $__interval_s >= 3600, 3600, "
    "$__interval_s >= 900, 900, 60)"
)
BUCKET_HOURS = f"(greatest($__interval_s, {WINDOW_S}) / 3600)"
"""Hours one plotted point covers (a bucket never holds less than one window)."""


def in_areas(column: str) -> str:
    """``column`` (an area code) is one of the selected areas; anything when All."""
    return f"$__conditionalAll({column} IN (${{area:singlequote}}), $area)"


def under_areas(column: str) -> str:
    """``column`` (an area code) lies in a selected area or below it; anything when All."""
    return (
        f"$__conditionalAll({column} IN (SELECT code FROM area_paths FINAL "
        f"WHERE ancestor_code IN (${{area:singlequote}})), $area)"
    )


def groups_in_areas(kind: str, column: str = "entity_id") -> str:
    """``column`` (a group id of ``kind``) is under a selected area; every group when All."""
    return (
        f"$__conditionalAll({column} IN (SELECT entity_id FROM group_areas "
        f"WHERE entity_kind = '{kind}' AND ancestor_code IN (${{area:singlequote}})), $area)"
    )


def latest_window(table: str, kind: str, window: str, lookback: str) -> str:
    """Scalar subquery: start of the newest ``window`` row of ``kind`` up to the range's end.

    Tiles show the newest closed window whatever the range's start (a day window only
    exists once the day is over); ``lookback`` (e.g. ``2 DAY``) bounds the scan.
    """
    return (
        f"(SELECT max(window_start) FROM {table} WHERE entity_kind = '{kind}' "
        f"AND window_size = '{window}' AND window_start <= $__toTime "
        f"AND window_start > $__toTime - INTERVAL {lookback})"
    )


AREA_NAMES = "(SELECT code, name FROM areas FINAL)"
RATE = (0.0, 1.0)
NON_NEGATIVE = (0.0, None)
