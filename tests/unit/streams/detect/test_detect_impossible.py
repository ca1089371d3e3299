"""Per-event impossible values: registers, rollovers, resets, speeds above physics."""

from __future__ import annotations

import pytest
from detect_helpers import MINUTE, MONDAY, obs

from schemas.results import AnomalyState, Severity
from streams.detect import DetectorParams, DetectorSuite, RegisterStep, classify_register

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("previous", "now", "step", "kwh"),
    [
        (None, 10.0, RegisterStep.FIRST, 0.0),
        (100.0, 100.5, RegisterStep.FORWARD, 0.5),
        (999_999.0, 0.4, RegisterStep.ROLLOVER, 1.3),
        (52_000.0, 0.2, RegisterStep.RESET, 0.2),
        (52_000.0, 51_990.0, RegisterStep.BACKWARDS, 0.0),
    ],
)
def test_classify_register(
    previous: float | None, now: float, step: RegisterStep, kwh: float
) -> None:
    got = classify_register(previous, now, register_max_kwh=999_999.9, reset_floor_kwh=10.0)
    assert got[0] is step
    assert got[1] == pytest.approx(kwh)


def readings(values: list[float]) -> list:
    return [obs("energy_kwh_total", MONDAY + i * MINUTE, v) for i, v in enumerate(values)]


def apply(suite: DetectorSuite, points: list) -> list:
    states: dict = {}
    out = []
    for point in points:
        states, updates = suite.impossible_value(states, point)
        out.extend(updates)
    return out


def test_reset_is_an_info_event_rollover_is_nothing() -> None:
    suite = DetectorSuite(DetectorParams(register_max_by_entity={"EM-1": 1000.0}))
    updates = apply(suite, readings([999.0, 999.6, 0.3, 0.9, 0.5, 1.2]))
    # 999.6 → 0.3 wraps at 1000 (a rollover), 0.9 → 0.5 is a drop to near zero (a reset).
    assert [(u.detector, u.state, u.severity) for u in updates] == [
        ("register_reset", AnomalyState.OPEN, Severity.INFO),
        ("register_reset", AnomalyState.RESOLVED, Severity.INFO),
    ]
    assert updates[0].started_at == updates[1].ended_at


def test_backwards_opens_a_warning_that_resolves_when_it_moves_forward() -> None:
    updates = apply(DetectorSuite(), readings([5000.0, 5001.0, 4800.0, 4900.0, 5001.5]))
    assert [(u.detector, u.state) for u in updates] == [
        ("register_backwards", AnomalyState.OPEN),
        ("register_backwards", AnomalyState.RESOLVED),
    ]
    assert updates[0].observed == 4800.0
    assert updates[0].expected == 5001.0


def test_speeds_above_physics() -> None:
    suite = DetectorSuite()
    points = [
        obs("average_speed_kmh", MONDAY + i * MINUTE, v, kind="sensor", entity="TS-1")
        for i, v in enumerate([40.0, 320.0, 400.0, 45.0])
    ]
    updates = apply(suite, points)
    assert [(u.detector, u.state) for u in updates] == [
        ("impossible_speed", AnomalyState.OPEN),
        ("impossible_speed", AnomalyState.RESOLVED),
    ]
    # Other metrics pass unchecked.
    assert apply(suite, [obs("voltage_min_v", MONDAY, 1e6)]) == []
