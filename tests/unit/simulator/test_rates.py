"""The natural model: rush hours, evening peaks, and every rule left uncrossed by design."""

from __future__ import annotations

from datetime import date

import pytest

from ioc.tooling.simulator import injections, rates
from ioc.tooling.simulator.clock import Clock
from schemas.province.entities import CheckpointKind, CustomerClass, RoadClass
from schemas.province.loading import load_profile
from schemas.province.profile import Rules

pytestmark = pytest.mark.unit

CLOCK = Clock(load_profile())
MONDAY = CLOCK.day(date(2026, 11, 2))
SUNDAY = CLOCK.day(date(2026, 11, 8))
TET = CLOCK.day(date(2027, 2, 6))
TET_EVE = CLOCK.day(date(2027, 2, 2))
RULES = Rules()


@pytest.mark.parametrize("road", list(RoadClass))
def test_rush_hours_carry_more_traffic_than_night_and_weekends(road: RoadClass) -> None:
    night = rates.traffic_demand(road, MONDAY, 3)
    for peak in (7.0, 17.0):
        assert rates.traffic_demand(road, MONDAY, peak) > 10 * night
        assert rates.traffic_demand(road, MONDAY, peak) > rates.traffic_demand(road, SUNDAY, peak)
    assert rates.traffic_demand(road, TET, 7) < rates.traffic_demand(road, MONDAY, 7)


def test_speed_falls_with_demand_but_never_past_the_congestion_rule() -> None:
    ratios = [rates.speed_ratio(x / 10) for x in range(0, 15)]
    assert ratios == sorted(ratios, reverse=True)
    worst = 1 - rates.speed_ratio(10.0)
    assert worst == pytest.approx(rates.CONGESTION_SLOPE)
    assert worst < RULES.congestion_index - 0.04, "rush hours must stay clear of the rule"
    assert RULES.congestion_index < injections.CONGESTION_INDEX


def test_vehicle_mix_is_motorcycle_heavy() -> None:
    for mix in rates.VEHICLE_MIX.values():
        assert sum(mix) == pytest.approx(1.0)
        assert 0.7 <= mix[0] <= 0.9


def test_occupancy_follows_flow_and_speed() -> None:
    counts = [40, 6, 3, 1]
    free = rates.occupancy(1500, counts, 60)
    jammed = rates.occupancy(1500, counts, 18)
    assert 0 < free < jammed <= 0.95
    assert rates.occupancy(0, [0, 0, 0, 0], 50) == 0


def test_evening_household_load_peaks_and_three_am_is_low() -> None:
    evening = rates.load_fraction(CustomerClass.RESIDENTIAL, MONDAY, 20)
    assert evening > 3 * rates.load_fraction(CustomerClass.RESIDENTIAL, MONDAY, 3)
    assert rates.load_fraction(CustomerClass.INDUSTRIAL, TET, 10) < 0.5


def test_natural_voltage_stays_well_inside_the_band() -> None:
    lowest = min(rates.feeder_voltage(MONDAY, h / 4) for h in range(96))
    highest = max(rates.feeder_voltage(MONDAY, h / 4) for h in range(96))
    # worst meter offset, 4 sigma of feeder and phase noise: still above 0.9·220
    assert lowest + rates.METER_OFFSET_V[0] - 4 * (1.2 + 0.6) > RULES.undervoltage_ratio * 220
    assert highest + 4 * (1.2 + 0.6) < RULES.overvoltage_ratio * 220
    assert RULES.undervoltage_ratio * 220 > injections.UNDERVOLTAGE_RATIO * 220 + 4 * 0.6


@pytest.mark.parametrize("kind", list(CheckpointKind))
def test_holiday_load_stays_below_the_surge_factor(kind: CheckpointKind) -> None:
    for day in (TET, TET_EVE, SUNDAY):
        assert rates.qr_day_factor(kind, day) < RULES.qr_surge_factor
    assert RULES.qr_surge_factor < injections.SURGE_FACTOR
    assert (
        RULES.qr_surge_min_scans
    ) < injections.SURGE_FACTOR * injections.SURGE_MIN_EXPECTED_PER_15MIN


def test_injection_sizes_sit_just_past_their_rules() -> None:
    assert RULES.silence_periods < injections.SILENCE_PERIODS
    assert RULES.undervoltage_for_s < injections.UNDERVOLTAGE_MIN * 60
    assert RULES.congestion_for_s < injections.CONGESTION_PLATEAU_MIN * 60
    assert RULES.overdue_spike_count <= injections.OVERDUE_DOSSIERS
    assert RULES.overdue_spike_count > rates.LATE_CAP_PER_AGENCY_DAY
    assert RULES.register_reset_max_kwh > injections.RESET_MAX_KWH
