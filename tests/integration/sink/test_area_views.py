"""Area views sum group parts (a window re-emitted three times counts once) and agree
with an aggregation of the raw events — on the real server and on chdb."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import timedelta

import pytest

from connectors.sinks.clickhouse.rows import Origin, rows_for
from ioc.ops.db.executors import ChdbExecutor, ClickHouseExecutor, SqlExecutor
from ioc.ops.db.maintenance import load_entities
from ioc.ops.db.migrate import migrate
from schemas.events import TrafficObservation
from schemas.province.loading import load_profile
from schemas.results import KpiRecord, TrafficParts
from tests.factories import T0, traffic

pytestmark = pytest.mark.integration

MINUTE = timedelta(minutes=1)


def generate(
    profile_name: str = "binh-phuoc-2021",
) -> tuple[list[TrafficObservation], list[KpiRecord]]:
    """Raw events on segments of different districts, and their group KPI rows
    (each window emitted three times, only the last version right)."""
    profile = load_profile(profile_name)
    rng = random.Random(11)
    by_area: dict[str, str] = {}
    for segment in profile.segments:  # one segment per district, four districts
        by_area.setdefault(segment.area_code, segment.segment_id)
    segments = list(by_area.values())[:4]
    events: list[TrafficObservation] = []
    for minute in range(5):
        for segment in segments:
            for sensor in profile.members("sensor", segment)[:2]:
                events.append(
                    traffic(
                        sensor_id=sensor,
                        segment_id=segment,
                        observed_at=T0 + minute * MINUTE + timedelta(seconds=rng.randint(0, 59)),
                        intensity=rng.randint(0, 80),
                        average_speed_kmh=rng.uniform(5, 70),
                        occupancy=rng.uniform(0, 0.6),
                    )
                )
    windows: dict[tuple[str, int], list[TrafficObservation]] = defaultdict(list)
    for e in events:
        windows[(e.segment_id, int((e.observed_at - T0) / MINUTE))].append(e)
    kpis: list[KpiRecord] = []
    for (segment, minute), group in windows.items():
        free_flow = profile.segment(segment).free_flow_kmh
        parts = TrafficParts(
            observations=len(group),
            vehicles=sum(e.intensity for e in group),
            speed_x_vehicles=sum(e.average_speed_kmh * e.intensity for e in group),
            free_flow_x_vehicles=sum(free_flow * e.intensity for e in group),
            occupancy_sum=sum(e.occupancy for e in group),
            period_s_sum=sum(e.period_s for e in group),
            sensors_reporting=len({e.sensor_id for e in group}),
            sensors_expected=len(profile.members("sensor", segment)),
        )
        for sequence in (0, 1, 2):  # emitted, then re-emitted twice after late events
            wrong = parts.model_copy(update={"vehicles": parts.vehicles + 1000 * (2 - sequence)})
            kpis.append(
                KpiRecord(
                    domain="traffic", entity_kind="segment", entity_id=segment, group_id=segment,
                    window="1m", window_start=T0 + minute * MINUTE,
                    window_end=T0 + (minute + 1) * MINUTE, parts=wrong if sequence < 2 else parts,
                    computed_at=T0, generation=1, sequence=sequence,
                )
            )  # fmt: skip
    return events, kpis


def write(executor: SqlExecutor, database: str, values: list) -> None:
    tables: dict[str, list] = defaultdict(list)
    for i, value in enumerate(values):
        for table, row in rows_for(value, Origin("t", 0, i), 0):
            tables[table].append(row)
    from connectors.sinks.clickhouse.rows import COLUMNS

    for table, rows in tables.items():
        executor.insert(f"{database}.{table}", COLUMNS[table], rows)


def check_views_match_raw(executor: SqlExecutor, database: str) -> None:
    events, kpis = generate()
    load_entities(executor, database, load_profile("binh-phuoc-2021"))
    write(executor, database, events)
    write(executor, database, kpis)

    from_views = executor.execute(
        f"SELECT area_level, area_code, toUnixTimestamp(window_start), vehicles, "
        f"round(speed_x_vehicles, 6), round(mean_speed_kmh, 9) FROM {database}.kpi_traffic_by_area "
        f"WHERE window_size = '1m'"
    )
    from_raw = executor.execute(
        f"SELECT ancestor_level, ancestor_code, toUnixTimestamp(toStartOfMinute(event_time)), "
        f"sum(intensity), round(sum(average_speed_kmh * intensity), 6), "
        f"round(sum(average_speed_kmh * intensity) / sum(intensity), 9) "
        f"FROM (SELECT segment_id AS entity_id, event_time, intensity, average_speed_kmh "
        f"      FROM {database}.events_traffic FINAL) AS e "
        f"ALL INNER JOIN (SELECT entity_id, ancestor_code, ancestor_level FROM {database}.group_areas "
        f"      WHERE entity_kind = 'segment') AS a USING entity_id "
        f"GROUP BY ancestor_level, ancestor_code, toStartOfMinute(event_time)"
    )

    def normalise(rows: list) -> list:
        # Sorted here: 18.16 reads ORDER BY 1 as a constant, not a position.
        return sorted(
            (str(a), str(b), int(c), int(d), float(e), float(f)) for a, b, c, d, e, f in rows
        )

    assert normalise(from_views) == normalise(from_raw)
    levels = {r[0] for r in from_views}
    assert levels == {"province", "district", "commune"}
    # The province row of a minute is the sum of its districts: never 3 versions.
    province_total = sum(int(r[3]) for r in from_views if r[0] == "province")
    assert province_total == sum(e.intensity for e in events)


def test_area_views_on_real_server(clickhouse: ClickHouseExecutor, database: str) -> None:
    check_views_match_raw(clickhouse, database)


def test_area_views_on_chdb(chdb: ChdbExecutor) -> None:
    migrate(chdb, "ioc")
    check_views_match_raw(chdb, "ioc")
