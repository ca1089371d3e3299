"""Every panel's SQL, expanded as Grafana and the ClickHouse plugin would, runs on current
ClickHouse (chdb) over tables the pipeline wrote on the real server, and returns the
columns and value ranges the panel declares.

The real server (18.16) receives realistic rows through the sink's row builders; its
tables are then copied into chdb, because panel SQL (and the plugin's macros) need
current ClickHouse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from ioc.ops.db.access import PANEL_VIEWS, definer_views
from ioc.ops.db.executors import ChdbExecutor, ClickHouseExecutor
from ioc.ops.db.maintenance import load_entities
from ioc.ops.db.migrate import migrate
from ioc.ops.grafana.build import dashboards
from ioc.ops.grafana.macros import ALL, QueryContext, auto_interval, expand
from ioc.ops.grafana.model import Check, Dashboard
from ioc.ops.grafana.sql import AREA, LEVEL
from ioc.ops.grafana.uids import ENERGY, QR, SERVICES, TRAFFIC
from schemas.province.loading import load_profile
from schemas.province.profile import Profile
from schemas.results import DataQualityRecord
from schemas.timeutil import to_ms
from tests.integration.grafana import dataset

pytestmark = pytest.mark.integration

TABLES = (
    "events_qr", "events_traffic", "events_energy", "events_dossier", "dossier_state",
    "anomalies", "deadletter", "kpi_traffic", "kpi_energy", "kpi_qr", "kpi_dossier", "areas",
    "area_paths", "entities", "generations", "dq",
)  # fmt: skip
PROFILE = "binh-phuoc-2021"


@dataclass(frozen=True)
class Scenario:
    name: str
    span: timedelta | None
    """None: the dashboard's own default range, what operators see first."""
    variables: dict[str, Any]
    interval: timedelta | None = None
    """None: what Grafana derives from the range (~1,000 points)."""
    entities: dict[str, str] | None = None
    """Dashboard uid → the entity an alert's link selects there (others: All)."""

    def variables_for(self, dashboard: Dashboard) -> dict[str, Any]:
        if self.entities is None:
            return self.variables
        return self.variables | {"entity": self.entities.get(dashboard.uid, [ALL])}

    def range_of(self, dashboard: Dashboard) -> timedelta:
        if self.span is not None:
            return self.span
        amount, unit = int(dashboard.time_from[4:-1]), dashboard.time_from[-1]
        unit_name = {"m": "minutes", "h": "hours", "d": "days"}[unit]
        return timedelta(**{unit_name: amount})


def busiest_districts(profile: Profile, n: int = 2) -> list[str]:
    """Districts with the most groups under them (so every domain has data there)."""
    counts: Counter[str] = Counter()
    for kind in ("segment", "feeder", "checkpoint", "agency"):
        for entity in profile.entities(kind):
            for ancestor in profile.areas.ancestors(entity.area_code):  # type: ignore[union-attr]
                if ancestor.level == "district":
                    counts[ancestor.code] += 1
    return [code for code, _ in counts.most_common(n)]


def scenarios(profile: Profile) -> list[Scenario]:
    every = {"area": [ALL], "domain": [ALL], "severity": [ALL], "entity": [ALL]}
    # Entities the dataset gives KPI rows and an anomaly, one per domain dashboard.
    linked = {
        ENERGY: profile.meters[0].meter_id,
        TRAFFIC: profile.segments[0].segment_id,
        QR: profile.checkpoints[0].checkpoint_id,
        SERVICES: profile.agencies[0].agency_code,
    }
    return [
        Scenario("province-default", None, {"level": "province", **every}),
        Scenario("commune-default", None, {"level": "commune", **every}),
        Scenario("district-30d", timedelta(days=30),
                 {"level": "district", "area": busiest_districts(profile),
                  "domain": ["energy", "traffic", "qr", "dossier"],
                  "severity": ["warning", "critical"], "entity": [ALL]}),
        Scenario("district-7d-daily", timedelta(days=7), {"level": "district", **every},
                 interval=timedelta(days=1)),
        # An alert's link: one entity selected (ioc.ops.grafana.dashboards.entity).
        Scenario("entity-drilldown", timedelta(days=2), {"level": "province", **every},
                 entities=linked),
    ]  # fmt: skip


@dataclass
class Loaded:
    chdb: ChdbExecutor
    now: datetime
    profile: Profile
    rows: dict[str, int]

    def query(self, sql: str) -> tuple[list[tuple[str, str]], list[list[Any]]]:
        """(name, type) of every column, and the rows, of one statement on chdb."""
        result = self.chdb.session.query(sql, "JSONCompact")
        text = result.bytes() if hasattr(result, "bytes") else bytes(result)
        data = orjson.loads(text)
        return [(m["name"], m["type"]) for m in data["meta"]], data["data"]


@pytest.fixture(scope="module")
def loaded(
    clickhouse: ClickHouseExecutor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loaded]:
    import uuid

    database = f"ioc_grafana_{uuid.uuid4().hex[:10]}"
    profile = load_profile(PROFILE)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    migrate(clickhouse, database)
    try:
        load_entities(clickhouse, database, profile)
        rows = dataset.build(profile, now).write(clickhouse, database)
        # A rebuild that is not promoted: panels must keep showing generation 1.
        clickhouse.insert(
            f"{database}.generations",
            ["generation", "application_id", "kind", "status", "promoted", "note", "updated_at_ms"],
            [(2, "ioc-rebuild", "rebuild", "running", 0, "test rebuild", 1)],
        )
        chdb = ChdbExecutor(Path(tmp_path_factory.mktemp("chdb")))
        migrate(chdb, "ioc")
        # As compose and production run them: the panel views with their definer's rights,
        # what lets Grafana's user read them with GRANTs on the views alone (decision 0037).
        assert len(definer_views(chdb, "ioc")) == len(PANEL_VIEWS)
        for table in TABLES:
            copy_table(clickhouse, database, chdb, table)
        chdb.execute("USE ioc")
        yield Loaded(chdb, now, profile, rows)
        chdb.close()
    finally:
        clickhouse.execute(f"DROP DATABASE IF EXISTS {database}")


def copy_table(server: ClickHouseExecutor, database: str, chdb: ChdbExecutor, table: str) -> None:
    """Rows of one table of the real server into the same table of chdb."""
    data, types = server.client.execute(f"SELECT * FROM {database}.{table}", with_column_types=True)
    chdb.execute(f"TRUNCATE TABLE ioc.{table}")
    if data:
        for start in range(0, len(data), 20_000):
            chdb.insert(f"ioc.{table}", [name for name, _ in types], data[start : start + 20_000])
    # Compared after FINAL: current ClickHouse already collapses versions on insert.
    copied = int(chdb.execute(f"SELECT count() FROM ioc.{table} FINAL")[0][0])
    original = int(server.execute(f"SELECT count() FROM {database}.{table} FINAL")[0][0])
    assert copied == original, f"{table}: {copied} rows in chdb, {original} on the server"


def check_result(
    label: str, check: Check, columns: list[tuple[str, str]], rows: list[list[Any]]
) -> list[str]:
    """Problems with one result (empty when it is what the panel needs)."""
    problems = []
    names = [name for name, _ in columns]
    if len(rows) < check.min_rows:
        problems.append(f"{label}: {len(rows)} rows, expected at least {check.min_rows}")
    for column, bounds in check.columns.items():
        if column not in names:
            problems.append(f"{label}: no column {column!r} (got {names})")
            continue
        if bounds is None:
            continue
        i = names.index(column)
        values = [row[i] for row in rows if row[i] is not None]
        if rows and not values:
            problems.append(f"{label}: {column} is NULL in every row")
        low, high = bounds
        try:
            numbers = [float(v) for v in values]
        except (TypeError, ValueError):
            problems.append(f"{label}: {column} is not numeric ({columns[i][1]})")
            continue
        outside = [
            v for v in numbers if (low is not None and v < low) or (high is not None and v > high)
        ]
        if outside:
            problems.append(f"{label}: {column} outside {bounds}: {outside[:5]}")
    return problems


def run_dashboard(loaded: Loaded, dashboard: Dashboard, scenario: Scenario) -> list[str]:
    span = scenario.range_of(dashboard)
    ctx = QueryContext(
        time_from=loaded.now - span,
        time_to=loaded.now,
        interval=scenario.interval or auto_interval(span),
        variables=scenario.variables_for(dashboard),
    )
    problems: list[str] = []
    targets = [
        (f"{dashboard.uid}#{panel_id} {panel.title.en!r} [{scenario.name}]", target)
        for panel_id, panel, target in dashboard.sql_targets()
    ] + [
        (f"{dashboard.uid} annotation {a.name.en!r} [{scenario.name}]", a.target())
        for a in dashboard.annotations
    ]
    for label, target in targets:
        sql = expand(target.sql, ctx)
        try:
            columns, rows = loaded.query(sql)
        except Exception as exc:  # chdb raises its own error types
            problems.append(f"{label}: query failed: {exc}\n{sql}")
            continue
        problems += check_result(label, target.check, columns, rows)
    return problems


PROFILE_OBJ = load_profile(PROFILE)


@pytest.mark.parametrize("scenario", scenarios(PROFILE_OBJ), ids=lambda s: s.name)
@pytest.mark.parametrize("dashboard", dashboards(PROFILE_OBJ), ids=lambda d: d.uid)
def test_panel_queries_return_what_the_panel_shows(
    loaded: Loaded, dashboard: Dashboard, scenario: Scenario
) -> None:
    problems = run_dashboard(loaded, dashboard, scenario)
    assert not problems, "\n".join(problems)


def test_variable_queries(loaded: Loaded) -> None:
    ctx = QueryContext(loaded.now - timedelta(hours=1), loaded.now, variables={"level": "district"})
    _, levels = loaded.query(expand(LEVEL.query, ctx))
    assert [r[0] for r in levels] == loaded.profile.areas.levels
    columns, areas = loaded.query(expand(AREA.query, ctx))
    assert [name for name, _ in columns] == ["code", "name"]
    districts = {a.code for a in loaded.profile.areas.areas if a.level == "district"}
    assert {r[0] for r in areas} == districts


def test_panels_ignore_a_generation_that_is_not_live(loaded: Loaded) -> None:
    _, rows = loaded.query("SELECT count(), countIf(generation != 1) FROM anomalies_live")
    total, other = (int(v) for v in rows[0])
    assert total > 0
    assert other == 0
    _, raw = loaded.query("SELECT countIf(generation = 2) FROM anomalies")
    assert int(raw[0][0]) > 0, "the dataset should hold rebuild rows the views must hide"


def test_dataset_covers_every_table(loaded: Loaded) -> None:
    for table in ("events_qr", "events_traffic", "events_energy", "events_dossier", "dossier_state",
                  "anomalies", "deadletter", "kpi_traffic", "kpi_energy", "kpi_qr", "kpi_dossier",
                  "dq"):  # fmt: skip
        assert loaded.rows.get(table, 0) > 0, table
    _, windows = loaded.query("SELECT DISTINCT window_size FROM kpi_traffic_live ORDER BY 1")
    assert {w[0] for w in windows} == {"1m", "15m", "1h", "1d"}
    _, windows = loaded.query("SELECT DISTINCT window_size FROM kpi_dossier_live ORDER BY 1")
    assert {w[0] for w in windows} == {"day", "month"}


def test_dq_views_sum_the_latest_live_rows(loaded: Loaded) -> None:
    """dq_by_source = per (stream, source, minute) the sum over partitions of each row's
    highest version, generation 1 only; dq_invalid_by_reason the same per reason."""
    latest: dict[tuple[str, int, str, int], Any] = {}
    for value in dataset.build(loaded.profile, loaded.now).values:
        if isinstance(value, DataQualityRecord) and value.generation == 1:
            key = (value.domain.value, value.partition, value.source, to_ms(value.window_start))
            if key not in latest or value.version > latest[key].version:
                latest[key] = value
    want: Counter[tuple[str, str, str]] = Counter()
    reasons: Counter[tuple[str, str, str]] = Counter()
    for r in latest.values():
        for name in ("events", "late", "duplicates"):
            want[(r.domain.value, r.source, name)] += getattr(r, name)
        want[(r.domain.value, r.source, "invalid")] += r.invalid_total
        for reason, n in r.invalid.items():
            reasons[(r.domain.value, r.source, reason)] += n
    _, rows = loaded.query(
        "SELECT domain, source, sum(events), sum(late), sum(duplicates), sum(invalid) "
        "FROM dq_by_source GROUP BY domain, source"
    )
    got: Counter[tuple[str, str, str]] = Counter()
    for domain, source, *sums in rows:
        for name, n in zip(("events", "late", "duplicates", "invalid"), sums, strict=True):
            got[(domain, source, name)] += int(n)
    assert +got == +want
    _, rows = loaded.query(
        "SELECT domain, source, reason, sum(invalid) FROM dq_invalid_by_reason "
        "GROUP BY domain, source, reason"
    )
    assert Counter({(d, s, r): int(n) for d, s, r, n in rows}) == reasons
