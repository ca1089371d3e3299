"""What Grafana's ClickHouse user may read, and the views that make it enough.

Grafana reads the panel views and the profile's reference tables, and of the versioned
and raw tables only their ``written_at_ms`` (the pipeline dashboard's freshness panel):
never a subject hash, a raw reading or a dead letter (decision 0037). On current
ClickHouse that is GRANTs (:func:`grafana_grants`, which ``deploy/compose``'s users file
holds too) and views that run with their definer's rights (:func:`definer_views`): a
normal view runs as the one who queries it (``SQL SECURITY INVOKER``), which would need
SELECT on the tables under it. ClickHouse 18.16 has neither: its Grafana user reads the
whole database, read-only (docs/security.md).
"""

from __future__ import annotations

from ioc.ops.db.executors import SqlExecutor
from ioc.ops.db.migrate import ServerFeatures

PANEL_VIEWS = (
    "kpi_traffic_live", "kpi_energy_live", "kpi_qr_live", "kpi_dossier_live",
    "anomalies_live", "dossier_state_latest", "group_areas", "kpi_traffic_by_area",
    "kpi_energy_by_area", "kpi_qr_by_area", "qr_distinct_by_area_day", "kpi_dossier_by_area",
    "dq_live", "dq_by_source", "dq_invalid_by_reason", "live_generation",
)  # fmt: skip
"""The views the dashboards read (``deploy/clickhouse/migrations``)."""

REFERENCE_TABLES = ("areas", "area_paths", "entities")
"""The province profile (``ioc db load-entities``): names and places, no personal data."""

FRESHNESS_TABLES = (
    "events_traffic", "events_energy", "events_qr", "events_dossier",
    "kpi_traffic", "kpi_energy", "kpi_qr", "kpi_dossier", "anomalies", "dq",
)  # fmt: skip
"""Tables of which Grafana reads only ``written_at_ms`` (when each was last written)."""

SQL_SECURITY_SINCE = (24, 4)
"""``ALTER TABLE … MODIFY SQL SECURITY`` (views run with their definer's rights)."""


def grafana_grants(database: str, user: str) -> list[str]:
    """The GRANTs of Grafana's user on current ClickHouse: exactly what the panels read."""
    grants = [
        f"GRANT SELECT ON {database}.{t} TO {user}" for t in (*PANEL_VIEWS, *REFERENCE_TABLES)
    ]
    grants += [f"GRANT SELECT(written_at_ms) ON {database}.{t} TO {user}" for t in FRESHNESS_TABLES]
    return grants


def definer_views(executor: SqlExecutor, database: str) -> list[str]:
    """Make every panel view run with its definer's rights; the statements run.

    The definer is the user running this (the migrator, which may read the tables under
    the views). Run after ``ioc db migrate`` (a view a migration re-creates is INVOKER
    again). Nothing on a server without SQL SECURITY (18.16): an empty list.
    """
    version = executor.execute("SELECT version()")[0][0]
    if ServerFeatures.from_version(str(version)).version[:2] < SQL_SECURITY_SINCE:
        return []
    done = []
    for view in PANEL_VIEWS:
        sql = f"ALTER TABLE {database}.{view} MODIFY SQL SECURITY DEFINER"
        executor.execute(sql)
        done.append(sql)
    return done
