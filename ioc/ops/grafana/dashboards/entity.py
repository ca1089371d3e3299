"""Drill-down to one entity: its variable, its anomalies on the series, its panels' filter.

An alert's link (connectors.sinks.alerter) opens its domain's dashboard with
``var-entity=<entity id>`` and the anomaly's time range: the entity panels then show
that meter, segment, check-point or agency, and the anomaly is shaded on every series
(open ones up to now).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from ioc.ops.grafana.dashboards.common import series
from ioc.ops.grafana.model import Annotation, Check, Panel, Range, Sql, Step, T, Variable
from ioc.ops.grafana.sql import WINDOW, under_areas

DAILY = "'day'"
"""The window of the dossier KPIs: an agency's calendar day (no rollups)."""
DAYS = "k.window_start <= $__toTime AND k.window_start > $__fromTime - INTERVAL 1 DAY"
"""Days touching the range (a day window exists only once the day is over)."""

ONE_ENTITY = "$__conditionalAll({column} IN (${{entity:singlequote}}), $entity)"
"""The selected entity's rows; every entity's when All."""


def one_entity(column: str = "entity_id") -> str:
    """``column`` is the selected entity (anything when All)."""
    return ONE_ENTITY.format(column=column)


def entity_variable(kinds: tuple[str, ...]) -> Variable:
    """The entities of ``kinds`` in the selected areas, by name (value: the entity id)."""
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    return Variable(
        "entity",
        T("Đối tượng", "Entity"),
        query=(
            f"SELECT entity_id, concat(name, ' (', entity_id, ')') FROM entities FINAL "
            f"WHERE entity_kind IN ({listed}) AND {under_areas('area_code')} "
            f"ORDER BY entity_kind, name"
        ),
        include_all=True,
    )


def anomaly_annotations(domain: str) -> Annotation:
    """The domain's anomalies in the selected areas (and entity) as shaded regions."""
    return Annotation(
        T("Bất thường", "Anomalies"),
        f"""
SELECT started_at AS time,
       ifNull(ended_at, toDateTime($__toTime, 'Asia/Ho_Chi_Minh')) AS timeEnd,
       concat(severity, ' · ', metric, ' · ', entity_kind, ' ', entity_id,
              if(ended_at IS NULL, ' (open)', ''), ' — ', description) AS text,
       concat(severity, ',', metric, ',', entity_id) AS tags
FROM anomalies_live
WHERE domain = '{domain}' AND started_at <= $__toTime
  AND (ended_at IS NULL OR ended_at >= $__fromTime)
  AND {under_areas("area_code")} AND {one_entity()}
ORDER BY time
""",
    )


def entity_series(
    domain: str,
    title: T,
    values: str,
    columns: Mapping[str, Range | None],
    names: Mapping[str, T],
    *,
    kinds: tuple[str, ...],
    unit: str | None = None,
    thresholds: Sequence[Step] = (("green", None),),
    daily: bool = False,
    band_metrics: tuple[str, ...] = (),
    width: int = 24,
    max_value: float | None = None,
) -> Panel:
    """The selected entity's KPI series, and the band its anomalies were judged by.

    ``values`` are aggregates over ``kpi_<domain>_live`` rows (alias ``k``); the band is a
    second target, from ``anomalies_live`` (of ``band_metrics`` only, when given: the
    metrics the panel draws). With All selected, the series aggregate every entity of
    ``kinds`` in the areas. ``daily``: one point per calendar day (the dossier KPIs),
    not the window that fits the panel's interval.
    """
    listed = ", ".join(f"'{kind}'" for kind in kinds)
    if daily:
        time, window, span = "k.window_start", DAILY, DAYS
    else:
        time, window, span = (
            "$__timeInterval(k.window_start)",
            WINDOW,
            "$__timeFilter(k.window_start)",
        )
    kpi = f"""
SELECT {time} AS time, {values}
FROM kpi_{domain}_live AS k
WHERE k.entity_kind IN ({listed}) AND k.window_size = {window}
  AND {span} AND {one_entity("k.entity_id")}
  AND k.entity_id IN (SELECT entity_id FROM entities FINAL
                      WHERE entity_kind IN ({listed}) AND {under_areas("area_code")})
GROUP BY time
ORDER BY time
"""
    metrics = ", ".join(f"'{metric}'" for metric in band_metrics)
    of_metrics = f" AND metric IN ({metrics})" if band_metrics else ""
    bands = f"""
SELECT $__timeInterval(started_at) AS time, min(expected_low) AS band_low,
       max(expected_high) AS band_high
FROM anomalies_live
WHERE domain = '{domain}' AND $__timeFilter(started_at) AND {one_entity()}
  AND {under_areas("area_code")}{of_metrics}
GROUP BY time
ORDER BY time
"""
    panel = series(
        title,
        kpi,
        {"time": None, **columns},
        unit=unit,
        width=width,
        max_value=max_value,
        thresholds=thresholds,
        threshold_line=len(thresholds) > 1,
        description=T(
            "Đối tượng chọn ở biến Đối tượng (liên kết trong cảnh báo mở sẵn); dải bất thường: "
            "ngưỡng mà bộ phát hiện coi là bình thường",
            "The entity picked in the Entity variable (an alert's link opens it); anomaly "
            "band: what the detector judged normal",
        ),
        names={
            **names,
            "band_low": T("Dải bất thường: dưới", "Anomaly band: low"),
            "band_high": T("Dải bất thường: trên", "Anomaly band: high"),
        },
    )
    band = Sql(
        bands,
        Check({"time": None, "band_low": None, "band_high": None}, min_rows=0),
        format="time_series",
        ref_id="B",
    )
    return replace(panel, targets=(*panel.targets, band))
