"""Which closed windows feed detection, and the offline aggregation that mirrors them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from schemas.results import EnergyParts, KpiRecord, QrParts, TrafficParts, WindowSize
from schemas.timeutil import to_ms
from streams.detect import observations_from_kpi
from streams.detect.offline import OfflineKpis, OfflineTopology
from tests import factories

pytestmark = pytest.mark.unit

T0 = datetime(2026, 11, 26, 8, 30, tzinfo=UTC)


def test_traffic_minute_gives_congestion_index_from_parts() -> None:
    obs = observations_from_kpi(factories.kpi(entity_kind="segment", entity_id="QL13-01"), "689")
    by_metric = {o.metric: o for o in obs}
    assert by_metric["congestion_index"].value == pytest.approx(1 - 38.5 / 60.0)
    assert by_metric["mean_speed_kmh"].value == pytest.approx(38.5)
    assert by_metric["congestion_index"].ts_ms == to_ms(datetime(2026, 11, 26, 8, 31, tzinfo=UTC))
    assert by_metric["congestion_index"].area_code == "689"


def test_windows_that_feed_nothing() -> None:
    assert observations_from_kpi(factories.kpi(window="15m")) == []
    empty = TrafficParts(
        observations=1, vehicles=0, speed_x_vehicles=0, free_flow_x_vehicles=0,
        occupancy_sum=0, period_s_sum=60, sensors_reporting=1, sensors_expected=1,
    )  # fmt: skip
    assert observations_from_kpi(factories.kpi(parts=empty)) == []


def test_energy_and_qr_metrics() -> None:
    parts = EnergyParts(
        readings=4, energy_kwh=1.0, power_kw_sum=8.0, voltage_sum=880, voltage_samples=4,
        voltage_min_v=190.0, voltage_max_v=230.0, seconds_outside_voltage=60,
        frequency_dev_abs_sum=0, frequency_samples=0, meters_reporting=3, meters_expected=4,
    )  # fmt: skip
    base = {"domain": "energy", "group_id": "FD-1", "parts": parts, "window": "1m"}
    meter = KpiRecord.model_validate(
        {**factories.kpi().model_dump(), **base, "entity_kind": "meter", "entity_id": "EM-1"}
    )
    feeder = KpiRecord.model_validate(
        {**factories.kpi().model_dump(), **base, "entity_kind": "feeder", "entity_id": "FD-1"}
    )
    assert {o.metric: o.value for o in observations_from_kpi(meter)} == {
        "voltage_min_v": 190.0,
        "power_kw_mean": 2.0,
    }
    assert {o.metric: o.value for o in observations_from_kpi(feeder)} == {
        "voltage_max_v": 230.0,
        "meters_reporting_ratio": 0.75,
    }
    qr = KpiRecord.model_validate(
        {
            **factories.kpi().model_dump(),
            "domain": "qr",
            "entity_kind": "checkpoint",
            "entity_id": "CP-1",
            "group_id": "CP-1",
            "window": "15m",
            "window_end": T0 + timedelta(minutes=15),
            "parts": QrParts(
                scans=9,
                scans_in=7,
                scans_out=2,
                persons=9,
                vehicles=0,
                not_green=0,
                distinct_subjects=8,
            ),
        }
    )
    assert [(o.metric, o.value) for o in observations_from_kpi(qr)] == [("scans_in", 7.0)]


def test_offline_windows_close_with_the_watermark_and_count_late_events() -> None:
    kpis = OfflineKpis(
        OfflineTopology(free_flow_kmh={"QL13-01": 60.0}, meters_per_feeder={"FD-DX-01": 2}),
        lateness_ms=120_000,
    )
    closed = []
    for minute, volts in ((0, 221.0), (1, 190.0), (4, 220.0)):
        reading = factories.energy(
            measured_at=T0 + timedelta(minutes=minute, seconds=5),
            voltage_v={"l1": volts, "l2": volts + 1, "l3": volts + 2},
        )
        closed += kpis.add(reading)
    # The watermark is 8:32:05: the 8:30 and 8:31 windows (meter and feeder) closed.
    assert [(w.kind, w.start_ms) for w in closed] == [
        ("feeder", to_ms(T0)), ("meter", to_ms(T0)),
        ("feeder", to_ms(T0) + 60_000), ("meter", to_ms(T0) + 60_000),
    ]  # fmt: skip
    feeder = closed[2].parts
    assert (feeder.voltage_min_v, feeder.voltage_max_v) == (190.0, 192.0)
    assert (feeder.meters_reporting, feeder.meters_expected) == (1, 2)
    assert kpis.add(factories.energy(measured_at=T0)) == []
    assert kpis.late == 1
    assert [w.size for w in kpis.close_all()] == [WindowSize.M1, WindowSize.M1]
