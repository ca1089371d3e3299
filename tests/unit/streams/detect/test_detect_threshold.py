"""Threshold rules with a duration: open only after it, resolve with hysteresis."""

from __future__ import annotations

import pytest
from detect_helpers import MINUTE, MONDAY, json_round_trip, obs, run

from schemas.results import AnomalyState, Severity
from schemas.timeutil import from_ms
from streams.detect import DetectorSuite

pytestmark = pytest.mark.unit

T = MONDAY + 8 * 60 * MINUTE


def voltages(values: list[float], start: int = T) -> list:
    return [obs("voltage_min_v", start + (i + 1) * MINUTE, v) for i, v in enumerate(values)]


def test_undervoltage_opens_only_after_three_minutes() -> None:
    suite = DetectorSuite()
    points = voltages([220, 221, 190, 191, 189, 190, 190])
    _, seen = run(suite, points)
    opened = [(p, u) for p, u in seen if u.state is AnomalyState.OPEN]
    assert len(opened) == 1
    point, update = opened[0]
    # Bad windows end at minutes 3, 4, 5: the third one completes "for 3 minutes".
    assert point.ts_ms == T + 5 * MINUTE
    assert update.started_at == from_ms(T + 2 * MINUTE)  # the first bad window's start
    assert update.updated_at == from_ms(T + 5 * MINUTE)
    assert update.detector == "undervoltage"
    assert update.severity is Severity.WARNING  # 189 V is above 0.85 × 220
    assert update.expected == pytest.approx(198.0)


def test_a_short_dip_opens_nothing() -> None:
    _, seen = run(DetectorSuite(), voltages([220, 190, 190, 220, 190, 190, 220, 220]))
    assert seen == []


def test_resolves_after_the_value_is_back_for_the_resolve_time() -> None:
    values = [220] + [190] * 5 + [220, 221, 222, 220]
    _, seen = run(DetectorSuite(), voltages(values))
    states = [u.state for _, u in seen]
    assert states == [AnomalyState.OPEN, AnomalyState.RESOLVED]
    point, resolved = seen[-1]
    # Good again from the window that started at minute 6; resolved 2 minutes later.
    assert resolved.ended_at == from_ms(T + 6 * MINUTE)
    assert point.ts_ms == T + 8 * MINUTE
    assert resolved.anomaly_id == seen[0][1].anomaly_id


def test_hysteresis_keeps_it_open_inside_the_band() -> None:
    # 199 V is above the 198 V threshold but below the 202.4 V resolve level.
    values = [220] + [190] * 4 + [199] * 10
    _, seen = run(DetectorSuite(), voltages(values))
    assert [u.state for _, u in seen] == [AnomalyState.OPEN]


def test_severity_escalates_to_critical_and_never_back_while_open() -> None:
    values = [220, 190, 190, 190, 180, 180, 190, 190]
    _, seen = run(DetectorSuite(), voltages(values))
    assert [u.severity for _, u in seen] == [Severity.WARNING, Severity.CRITICAL]


def test_no_supply_is_not_an_undervoltage() -> None:
    _, seen = run(DetectorSuite(), voltages([220] + [3.0] * 10))
    assert seen == []


def test_congestion_needs_ten_minutes_on_a_segment() -> None:
    suite = DetectorSuite()
    points = [
        obs("congestion_index", T + (i + 1) * MINUTE, 0.2 if i == 0 else 0.7, kind="segment")
        for i in range(12)
    ]
    _, seen = run(suite, points)
    assert len(seen) == 1
    assert seen[0][0].ts_ms == T + 11 * MINUTE
    # Sensors are not watched by the congestion rule (the segment is the incident).
    sensor_points = [
        obs("congestion_index", p.ts_ms, p.value, kind="sensor", entity="TS-1") for p in points
    ]
    assert run(suite, sensor_points)[1] == []


def test_a_reemitted_window_does_not_move_the_timers() -> None:
    points = voltages([220, 190, 190])
    again = [*points, points[-1], points[-2], *voltages([190], start=T + 3 * MINUTE)]
    _, seen = run(DetectorSuite(), again)
    assert [p.ts_ms for p, _ in seen] == [T + 4 * MINUTE]


def test_same_input_same_ids_and_state_survives_json() -> None:
    values = [220] + [190] * 5 + [220] * 4 + [185] * 5
    points = voltages(values)
    _, first = run(DetectorSuite(), points)
    # Interrupt half-way, persist the state as a changelog would, continue.
    states, head = run(DetectorSuite(), points[:7])
    _, tail = run(DetectorSuite(), points[7:], json_round_trip(states))
    assert [u for _, u in first] == [u for _, u in head + tail]
    assert len({u.anomaly_id for _, u in first}) == 2


def test_a_change_rule_judges_the_rise_since_the_previous_point() -> None:
    suite = DetectorSuite()
    day = 24 * 60 * MINUTE
    values = [1, 2, 3, 9, 9, 3]  # a backlog that jumps by six, stays, then clears
    points = [
        obs("overdue", MONDAY + (i + 1) * day, v, kind="agency", entity="AG-1", group="AG-1")
        for i, v in enumerate(values)
    ]
    _, seen = run(suite, points)
    assert [(p.value, u.state) for p, u in seen] == [
        (9, AnomalyState.OPEN),
        (9, AnomalyState.RESOLVED),  # no rise on the day after: the spike is over
    ]
    assert seen[0][1].observed == 6
    # A backlog that was already there on the first point is not a spike.
    _, seen = run(DetectorSuite(), points[3:4])
    assert seen == []
