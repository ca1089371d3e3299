"""Drill-down to one entity: its variable, its anomalies on the series, its panels' filter.

An alert's link (connectors.sinks.alerter) opens its domain's dashboard with
``var-entity=<entity id>`` and the anomaly's time range: the entity panels then show
that meter, segment, check-point or agency, and the anomaly is shaded on every series
(open ones up to now).
"""

from __future__ import annotations

from ioc.ops.grafana.model import Annotation, T, Variable
from ioc.ops.grafana.sql import under_areas

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
