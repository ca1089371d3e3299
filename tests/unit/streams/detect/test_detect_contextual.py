"""The contextual detector (CAD OSE): state, replays, a spike, quiet series, routing."""

from __future__ import annotations

import json
import math
import random

import pytest
from detect_helpers import MINUTE, MONDAY, json_round_trip, obs, run

from schemas.results import AnomalyState
from streams.detect import DetectorParams, DetectorSuite, Observation, params_from_dict
from streams.detect.context_memory import new_memory, step
from streams.detect.contextual import (
    band,
    next_range,
    observe_contextual,
    quantise,
    sensor_facts,
)
from streams.detect.contextual_params import ContextualParams
from streams.detect.params import ParamsError

pytestmark = pytest.mark.unit

STEP = 5 * MINUTE


def at(i: int, value: float, metric: str = "queue_length") -> Observation:
    return obs(metric, MONDAY + (i + 1) * STEP, value, kind="segment", entity="S")


def periodic(n: int, period: int = 48) -> list[Observation]:
    return [at(i, 100 + 50 * math.sin(2 * math.pi * i / period)) for i in range(n)]


def opened(seen: list) -> list:
    return [u for _, u in seen if u.state is AnomalyState.OPEN]


def test_sensor_facts_and_quantisation() -> None:
    assert sensor_facts(0, 3) == [0, 2, 4]
    assert sensor_facts(5, 3) == [1, 2, 5]
    assert sensor_facts(9, 3) == [2000, 2003, 2004]  # above the range (by 2): its own facts
    assert sensor_facts(-2, 3) == [1000, 1003, 1004]  # below it (by 2) too
    assert quantise(10.0, 0.0, 7.0, 3) == (10, 1.0)
    assert quantise(7.0, 0.0, 7.0, 3) == (7, 1.0)
    assert quantise(3.5, 0.0, 7.0, 3) == (3, 1.0)
    assert quantise(5.0, 5.0, 5.0, 3) == (0, 1.0)  # no range yet


def test_the_range_learns_in_the_warm_up_then_only_grows_past_a_value() -> None:
    p = ContextualParams(headroom=1.0, growth=0.0, floor_zero=False)
    # Warming: the extremes seen, widened by the spread on each side.
    assert next_range(12.0, 18.0, 10.0, 20.0, 20.0, warming=True, params=p) == (0.0, 30.0)
    floored = ContextualParams(headroom=1.0, floor_zero=True)
    assert next_range(5.0, 15.0, 5.0, 15.0, 5.0, warming=True, params=floored) == (0.0, 25.0)
    negative = next_range(-5.0, 15.0, -5.0, 15.0, -5.0, warming=True, params=floored)
    assert negative == (-25.0, 35.0)  # a series that went negative gets room below
    # After: a new extreme inside the range moves nothing; one beyond moves that side only.
    assert next_range(0.0, 30.0, 10.0, 25.0, 25.0, warming=False, params=p) == (0.0, 30.0)
    assert next_range(0.0, 30.0, 10.0, 40.0, 40.0, warming=False, params=p) == (0.0, 40.0)
    grown = ContextualParams(headroom=1.0, growth=0.5)
    assert next_range(0.0, 30.0, 10.0, 40.0, 40.0, warming=False, params=grown) == (0.0, 60.0)
    assert next_range(10.0, 30.0, -10.0, 20.0, -10.0, warming=False, params=grown) == (-30.0, 30.0)
    assert next_range(10.0, 30.0, 5.0, 20.0, 5.0, warming=False, params=floored) == (5.0, 30.0)


def test_a_spike_after_the_warm_up_keeps_the_bins_of_normal_values() -> None:
    params = ContextualParams(warmup=100, headroom=1.0, growth=0.0, floor_zero=True)
    state: dict = {}
    for i in range(200):
        observe_contextual(state, at(i, 50.0 + (i % 10)), params)
    assert (state["lo"], state["hi"]) == (41.0, 68.0)  # 50 … 59 ± 9
    _, score = observe_contextual(state, at(200, 500.0), params)
    assert (state["lo"], state["hi"]) == (41.0, 500.0)  # grew to the spike, no further
    assert (state["mn"], state["mx"]) == (50.0, 500.0)
    assert score >= params.open_score  # judged outside the range: facts never seen
    observe_contextual(state, at(201, 55.0), params)
    assert (state["lo"], state["hi"]) == (41.0, 500.0)


def test_a_repeated_sequence_becomes_predicted() -> None:
    mem = new_memory()
    cycle = [sensor_facts(b, 3) for b in (0, 3, 7, 3)]
    for k in range(40):
        step(mem, cycle[k % 4], k, max_left=7, max_neurons=15)
    # After ...0, 3, 7, 3 the memory expects 0 again, and only it.
    assert mem["p"] == cycle[0]


def test_the_band_is_the_predicted_run_nearest_the_value() -> None:
    predicted = sorted({*sensor_facts(2, 3), *sensor_facts(3, 3)})
    expected, low, high = band(predicted, 7, 10.0, 2.0, 3)
    assert (low, high) == (14.0, 18.0)  # bins 2 and 3 of width 2 from 10
    assert expected == 17.0  # the middle of bin 3, the nearest to bin 7
    assert band([], 7, 10.0, 2.0, 3) == (None, None, None)


def test_state_is_json_and_bounded() -> None:
    rnd = random.Random(3)
    params = ContextualParams(max_contexts=200)
    state: dict = {}
    sizes = []
    for i in range(3000):
        observe_contextual(state, at(i, rnd.gauss(50, 10)), params)
        if i % 500 == 499:
            sizes.append(len(json.dumps(state)))
    assert json_round_trip({"s": state})["s"] == state
    assert state["m"]["c"] <= 200
    assert max(sizes) < 30_000  # noise makes the most contexts; the cap holds them
    assert sizes[-1] < 1.5 * sizes[1]


def test_a_replayed_or_older_point_is_ignored() -> None:
    params = ContextualParams()
    state: dict = {}
    points = periodic(300)
    for p in points:
        observe_contextual(state, p, params)
    before = json.dumps(state, sort_keys=True)
    for p in (points[-1], points[-2], at(299, 1e6)):
        assert observe_contextual(state, p, params) == ([], 0.0)
    assert json.dumps(state, sort_keys=True) == before


def test_quiet_on_flat_and_periodic_series_and_a_spike_opens() -> None:
    suite = DetectorSuite()  # the default detector of a metric without a rule
    assert suite.detectors_for("queue_length", "segment") == ["contextual"]
    _, seen = run(suite, [at(i, 42.0) for i in range(600)])
    assert seen == []
    # CAD's own novelty on a clean sine reaches 0.5-0.65 now and then (0.64 at point 1304
    # here): the shipped open score 0.6, chosen on NAB, opens on it (decision 0040); at
    # the reference's 0.75 the sine stays quiet.
    strict = DetectorParams(contextual=ContextualParams(open_score=0.75, base_threshold=0.75))
    suite = DetectorSuite(strict)
    states, seen = run(suite, periodic(2000))
    assert seen == []
    _, shipped = run(DetectorSuite(), periodic(2000))
    assert len(opened(shipped)) <= 1
    spike = [at(2000, 400.0), *periodic(2050)[2001:]]
    states, seen = run(suite, spike, json_round_trip(states))
    [update] = opened(seen)
    assert update.detector == "contextual"
    assert update.observed == 400.0
    # The band is what the memory expected: the spike is outside it, the expectation in it.
    assert update.expected_low is not None
    assert update.expected_high is not None
    assert update.expected is not None
    assert update.expected_low <= update.expected <= update.expected_high < 400.0
    assert any(u.state is AnomalyState.RESOLVED for _, u in seen)


def test_same_input_same_updates_through_a_json_round_trip() -> None:
    points = [*periodic(1200), at(1200, 500.0), *periodic(1300)[1201:]]
    _, whole = run(DetectorSuite(), points)
    states, head = run(DetectorSuite(), points[:700])
    _, tail = run(DetectorSuite(), points[700:], json_round_trip(states))
    assert [u for _, u in whole] == [u for _, u in head + tail]
    assert opened(whole)


def test_picked_per_metric() -> None:
    seasonal_default = DetectorParams(default_detector="seasonal", contextual_metrics=("q",))
    suite = DetectorSuite(seasonal_default)
    assert suite.detectors_for("q", "segment") == ["contextual"]
    assert suite.detectors_for("other", "segment") == ["seasonal"]
    suite = DetectorSuite(DetectorParams(seasonal_metrics=("q",)))
    assert suite.detectors_for("q", "segment") == ["seasonal"]
    assert suite.detectors_for("scans_in", "checkpoint") == ["seasonal"]  # the QR surge's own
    assert suite.detectors_for("congestion_index", "segment") == ["congestion"]
    assert suite.detectors_for("mean_speed_kmh", "sensor") == []  # quiet
    params = params_from_dict({"contextual": {"rest_period": 20}, "default_detector": "seasonal"})
    assert params.contextual.rest_period == 20
    assert params.default_detector == "seasonal"
    with pytest.raises(ParamsError):
        params_from_dict({"contextual": {"open_score": 0.2, "resolve_score": 0.4}})
    with pytest.raises(ParamsError):
        params_from_dict({"default_detector": "htm"})
    with pytest.raises(ParamsError):
        params_from_dict({"contextual": {"headroom": -0.5}})


def test_no_metric_of_the_shipped_profile_reaches_the_contextual_detector() -> None:
    """Every metric the stream derives has a rule, is quiet, or keeps its seasonal detector
    (the QR surge), so the simulator's quality table (make quality) cannot change with the
    default detector; a metric added without a rule would get the contextual one."""
    from schemas.province.loading import load_profile
    from streams.detect import observations as o
    from streams.detect.params import CONTEXTUAL
    from streams.detect.profile import params_from_profile

    suite = DetectorSuite(params_from_profile(load_profile()))
    derived = {
        "sensor": [o.MEAN_SPEED, o.CONGESTION_INDEX],
        "segment": [o.MEAN_SPEED, o.CONGESTION_INDEX],
        "meter": [o.VOLTAGE_MIN, o.POWER_MEAN],
        "feeder": [o.VOLTAGE_MAX, o.METERS_REPORTING],
        "checkpoint": [o.SCANS_IN],
        "agency": [o.OVERDUE, o.ON_TIME_RATE],
    }
    routed = {(k, m): suite.detectors_for(m, k) for k, ms in derived.items() for m in ms}
    assert not [key for key, names in routed.items() if CONTEXTUAL in names], routed
    assert CONTEXTUAL in suite.detectors_for("a_new_metric", "meter")
