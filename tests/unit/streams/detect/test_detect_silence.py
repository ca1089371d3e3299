"""Silence against the watermark: after 3 × the period, quiet while lag is high."""

from __future__ import annotations

import pytest
from detect_helpers import MINUTE, MONDAY, json_round_trip

from schemas.results import AnomalyState
from schemas.timeutil import from_ms
from streams.detect import DetectorParams, DetectorSuite, check_silence

pytestmark = pytest.mark.unit

EXPECTED = [("sensor", "TS-1", "QL13-01", 60), ("sensor", "TS-2", "QL13-01", 60)]


def test_silent_after_three_periods_then_resolved_when_data_returns() -> None:
    last_seen = {"sensor|TS-1": MONDAY, "sensor|TS-2": MONDAY}
    states: dict = {}
    for minutes in (1, 2, 3):
        states, updates = check_silence(
            EXPECTED[:1], last_seen, MONDAY + minutes * MINUTE, False, states
        )
        assert updates == []
    states, updates = check_silence(EXPECTED[:1], last_seen, MONDAY + 4 * MINUTE, False, states)
    assert [(u.entity_id, u.state, u.domain.value) for u in updates] == [
        ("TS-1", AnomalyState.OPEN, "traffic")
    ]
    assert updates[0].started_at == from_ms(MONDAY)
    assert updates[0].group_id == "QL13-01"
    # Still silent: nothing new.
    states, again = check_silence(EXPECTED[:1], last_seen, MONDAY + 9 * MINUTE, False, states)
    assert again == []
    back = {"sensor|TS-1": MONDAY + 10 * MINUTE}
    states = json_round_trip(states)
    _, resolved = check_silence(EXPECTED[:1], back, MONDAY + 10 * MINUTE, False, states)
    assert [u.state for u in resolved] == [AnomalyState.RESOLVED]
    assert resolved[0].anomaly_id == updates[0].anomaly_id
    assert resolved[0].ended_at == from_ms(MONDAY + 10 * MINUTE)


def test_quiet_while_lag_is_high_but_resolutions_still_happen() -> None:
    last_seen = {"sensor|TS-1": MONDAY}
    late = MONDAY + 60 * MINUTE
    # A backlog: the watermark says everything is an hour old. No storm.
    states, updates = check_silence(EXPECTED, last_seen, late, True, {})
    assert updates == []
    # Lag gone, still silent: now it opens, for both (TS-2 was never seen at all).
    states, updates = check_silence(EXPECTED, last_seen, late + 5 * MINUTE, False, states)
    assert sorted(u.entity_id for u in updates) == ["TS-1", "TS-2"]
    # Lag high again, TS-1 is back: the resolution is not held back.
    back = {"sensor|TS-1": late + 10 * MINUTE}
    _, updates = check_silence(EXPECTED, back, late + 10 * MINUTE, True, states)
    assert [(u.entity_id, u.state) for u in updates] == [("TS-1", AnomalyState.RESOLVED)]


def test_never_seen_entity_is_timed_from_the_first_check() -> None:
    states, updates = check_silence(EXPECTED[1:], {}, MONDAY, False, {})
    assert updates == []
    states, updates = check_silence(EXPECTED[1:], {}, MONDAY + 3 * MINUTE, False, states)
    assert updates == []
    _, updates = check_silence(EXPECTED[1:], {}, MONDAY + 3 * MINUTE + 1, False, states)
    assert [u.entity_id for u in updates] == ["TS-2"]


def test_period_multiple_is_a_parameter_and_ids_are_deterministic() -> None:
    suite = DetectorSuite(DetectorParams(silence_periods=5))
    last_seen = {"sensor|TS-1": MONDAY}
    _, early = suite.check_silence(EXPECTED[:1], last_seen, MONDAY + 4 * MINUTE, False, {})
    assert early == []
    _, first = suite.check_silence(EXPECTED[:1], last_seen, MONDAY + 6 * MINUTE, False, {})
    _, second = suite.check_silence(EXPECTED[:1], last_seen, MONDAY + 6 * MINUTE, False, {})
    assert first == second
    assert len(first) == 1
