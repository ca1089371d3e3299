"""Every anomaly carries its evidence: observed, expected and the band judged normal.

At an opening the observed value lies outside ``[expected_low, expected_high]`` (a None
bound is no bound on that side) and the expected value, when there is one, inside —
for every kind of detector. Behind the likelihood stage the band is the raw seasonal
stage's, so only the expected value is held to it there.
"""

from __future__ import annotations

import math
import random

import pytest
from detect_helpers import DAY, MINUTE, MONDAY, SEASONAL_DEFAULT, json_round_trip, obs, run

from schemas.results import Anomaly, AnomalyState
from streams.detect import AnomalyUpdate, DetectorParams, DetectorSuite, Observation, check_silence
from streams.detect.lifecycle import resolve_incident
from streams.detect.params import DEFAULT_RULES, QR_SURGE, SeasonalParams
from streams.detect.seasonal_score import band, raw_score
from streams.detect.threshold import band as rule_band

pytestmark = pytest.mark.unit

RAW = SeasonalParams(likelihood=False, trust_days=2.0)


def inside(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def assert_evidence(update: AnomalyUpdate) -> None:
    """The opening's observed value is outside its band, its expected value inside."""
    assert update.state is AnomalyState.OPEN
    assert update.observed is not None
    assert update.expected_low is not None or update.expected_high is not None
    assert not inside(update.observed, update.expected_low, update.expected_high), update
    if update.expected is not None:
        assert inside(update.expected, update.expected_low, update.expected_high), update


def openings(seen: list[tuple[Observation, AnomalyUpdate]]) -> list[AnomalyUpdate]:
    return [u for _, u in seen if u.state is AnomalyState.OPEN]


# --- seasonal ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        SeasonalParams(),
        RAW,
        SeasonalParams(direction="up", z_scale=2.0, open_score=0.9),
        SeasonalParams(direction="down", rel_spread_floor=0.2),
        QR_SURGE,
        SeasonalParams(min_ratio=2.0, min_value=30.0),
    ],
    ids=["default", "raw", "up", "down", "qr-surge", "gated"],
)
@pytest.mark.parametrize(("m", "spread"), [(100.0, 6.0), (40.0, 2.0), (12.0, 5.0), (-20.0, 3.0)])
def test_the_seasonal_band_is_where_the_raw_score_stays_under_the_opening_score(
    params: SeasonalParams, m: float, spread: float
) -> None:
    low, high = band(m, spread, params)
    eps = 1e-6 * max(1.0, abs(m))
    for bound, outwards in ((low, -1.0), (high, 1.0)):
        if bound is None:
            continue
        assert raw_score(bound - outwards * eps, m, spread, params) < params.open_score
        assert raw_score(bound + outwards * eps, m, spread, params) >= params.open_score
        assert inside(m, low, high)
    # A missing bound: nothing on that side opens, however far.
    if low is None:
        assert raw_score(m - 1e9, m, spread, params) < params.open_score
    if high is None:
        assert raw_score(m + 1e9, m, spread, params) < params.open_score


def test_the_seasonal_band_follows_direction_and_gates() -> None:
    z = 3.1 * -math.log(1 - 0.8)  # ≈ 5 spreads with the defaults
    assert band(100.0, 6.0, SeasonalParams()) == pytest.approx((100 - z * 6, 100 + z * 6))
    assert band(100.0, 6.0, SeasonalParams(direction="up"))[0] is None
    assert band(100.0, 6.0, SeasonalParams(direction="down"))[1] is None
    # The QR surge: upward only, at least 3 × the baseline and 30 scans.
    assert band(20.0, 2.0, QR_SURGE) == (None, pytest.approx(60.0))
    assert band(5.0, 1.0, QR_SURGE) == (None, pytest.approx(30.0))
    # A drop from a baseline under the minimum value never opens: no lower bound.
    gated = SeasonalParams(min_value=30.0)
    assert band(20.0, 1.0, gated)[0] is None
    # An opening score of 1 is never reached by the raw score.
    assert band(100.0, 6.0, SeasonalParams(open_score=1.0)) == (None, None)


def weekly_series(days: float, seed: int = 1, step_min: int = 5) -> list[Observation]:
    rnd = random.Random(seed)
    out = []
    for i in range(int(days * 1440 / step_min)):
        minute = (i + 1) * step_min
        hour = (minute % 1440) / 60
        level = 100 + 60 * math.exp(-(((hour - 7.5) / 1.2) ** 2))
        out.append(
            obs("vehicles", MONDAY + minute * MINUTE, level + rnd.gauss(0, 6), kind="segment")
        )
    return out


@pytest.mark.parametrize("spike", [200.0, -90.0], ids=["up", "down"])
def test_a_raw_seasonal_opening_is_outside_its_band(spike: float) -> None:
    suite = DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal"))
    points = weekly_series(10)
    states, seen = run(suite, points)
    assert seen == []
    t = points[-1].ts_ms
    spikes = [obs("vehicles", t + k * 5 * MINUTE, 100 + spike, kind="segment") for k in range(1, 4)]
    states, seen = run(suite, spikes, states)
    [update] = openings(seen)
    assert_evidence(update)
    assert update.expected_low is not None
    assert update.expected_high is not None
    # The band is the baseline ± the same reach on both sides (direction "both").
    assert update.expected is not None
    assert update.expected_high - update.expected == pytest.approx(
        update.expected - update.expected_low
    )
    # The resolution keeps the evidence of the last open update.
    calm = [obs("vehicles", t + k * 5 * MINUTE, 100.0, kind="segment") for k in range(4, 8)]
    _, seen = run(suite, calm, json_round_trip(states))
    [resolved] = [u for _, u in seen if u.state is AnomalyState.RESOLVED]
    assert (resolved.expected_low, resolved.expected_high) == (
        update.expected_low,
        update.expected_high,
    )


def test_behind_the_likelihood_the_band_is_the_raw_stages() -> None:
    rnd = random.Random(7)
    step = 5 * MINUTE

    def at(i: int, value: float) -> Observation:
        return obs("queue_length", MONDAY + (i + 1) * step, value, kind="segment", entity="S")

    params = SeasonalParams()
    states, seen = run(
        DetectorSuite(SEASONAL_DEFAULT), [at(i, 50 + rnd.gauss(0, 3)) for i in range(12 * 288)]
    )
    assert seen == []
    shift = [at(12 * 288 + i, 80 + rnd.gauss(0, 3)) for i in range(24)]
    _, seen = run(DetectorSuite(SEASONAL_DEFAULT), shift, states)
    update = openings(seen)[0]
    assert update.expected is not None
    assert update.expected_low is not None
    assert update.expected_high is not None
    assert inside(update.expected, update.expected_low, update.expected_high)
    # The raw stage's band around the baseline: its half-width is z_scale · −ln(1 − open)
    # spreads, and the spread is at least the floors.
    half = (update.expected_high - update.expected_low) / 2
    assert update.expected == pytest.approx(update.expected_low + half)
    reach = params.z_scale * -math.log(1 - params.open_score)
    assert half >= reach * params.rel_spread_floor * abs(update.expected) - 1e-9


def test_a_qr_surge_opens_above_three_times_its_baseline_and_thirty_scans() -> None:
    params = DetectorParams(seasonal_by_metric={"scans_in": QR_SURGE})
    rnd = random.Random(7)
    points = []
    for i in range(9 * 96):  # Monday to Tuesday of the week after, 15-minute counts
        minute = (i + 1) * 15
        weekend = (minute - 1) // 1440 % 7 >= 5
        value = max(0.0, round((20.0 if weekend else 40.0) + rnd.gauss(0, 1.5)))
        if 8 * 1440 + 12 * 60 < minute <= 8 * 1440 + 12 * 60 + 45:
            value = 160.0  # a Tuesday noon at 4 × its level
        points.append(obs("scans_in", MONDAY + minute * MINUTE, value, kind="checkpoint"))
    _, seen = run(DetectorSuite(params), points)
    [update] = openings(seen)
    assert update.started_at.timestamp() * 1000 >= MONDAY + 8 * DAY
    assert_evidence(update)
    assert update.expected_low is None  # upward only
    assert update.expected is not None
    assert update.expected_high is not None
    assert update.expected_high >= max(3 * update.expected, 30.0)


# --- threshold rules ---------------------------------------------------------------


def test_a_rule_bounds_only_the_side_it_watches() -> None:
    above = next(r for r in DEFAULT_RULES if r.name == "congestion")
    below = next(r for r in DEFAULT_RULES if r.name == "undervoltage")
    assert rule_band(above) == (None, 0.6)
    assert rule_band(below, 220.0) == (pytest.approx(198.0), None)


T = MONDAY + 8 * 60 * MINUTE


@pytest.mark.parametrize(
    ("metric", "kind", "values", "band_"),
    [
        ("voltage_min_v", "meter", [220] + [190] * 5, (198.0, None)),
        ("congestion_index", "segment", [0.2] + [0.7] * 12, (None, 0.6)),
        ("voltage_max_v", "feeder", [220] + [5.0] * 4, (22.0, None)),
        ("meters_reporting_ratio", "feeder", [1.0] + [0.3] * 5, (0.5, None)),
    ],
    ids=["undervoltage", "congestion", "outage", "meters_offline"],
)
def test_a_rule_opening_is_outside_its_band(
    metric: str, kind: str, values: list[float], band_: tuple[float | None, float | None]
) -> None:
    points = [obs(metric, T + (i + 1) * MINUTE, v, kind=kind) for i, v in enumerate(values)]
    _, seen = run(DetectorSuite(), points)
    [update] = openings(seen)
    assert_evidence(update)
    assert (update.expected_low, update.expected_high) == pytest.approx(band_)


def test_a_change_rule_bounds_the_change() -> None:
    day = 24 * 60 * MINUTE
    points = [
        obs("overdue", MONDAY + (i + 1) * day, v, kind="agency", entity="AG-1", group="AG-1")
        for i, v in enumerate([1, 2, 3, 9, 9])
    ]
    _, seen = run(DetectorSuite(), points)
    [update] = openings(seen)
    assert_evidence(update)
    assert (update.observed, update.expected_low, update.expected_high) == (6, None, 4.0)


def test_an_escalation_carries_the_band_and_the_resolution_keeps_it() -> None:
    values = [220, 190, 190, 190, 180, 180, 220, 222, 221, 220]
    points = [obs("voltage_min_v", T + (i + 1) * MINUTE, v) for i, v in enumerate(values)]
    _, seen = run(DetectorSuite(), points)
    assert [u.state for _, u in seen] == [
        AnomalyState.OPEN,
        AnomalyState.OPEN,
        AnomalyState.RESOLVED,
    ]
    for _, u in seen:
        assert (u.expected_low, u.expected_high) == (pytest.approx(198.0), None)
    assert seen[1][1].observed == 180


# --- silence and impossible values -------------------------------------------------


def test_a_silence_is_longer_than_its_band() -> None:
    expected = [("sensor", "TS-1", "QL13-01", 60)]
    states: dict = {}
    _, updates = check_silence(
        expected, {"sensor|TS-1": MONDAY}, MONDAY + 4 * MINUTE, False, states
    )
    [update] = updates
    assert_evidence(update)
    assert (update.observed, update.expected, update.expected_low, update.expected_high) == (
        240.0,
        60.0,
        None,
        180.0,  # three periods: a longer silence opens
    )


def test_impossible_values_are_outside_the_possible_range() -> None:
    suite = DetectorSuite()
    states: dict = {}
    speeds = [obs("average_speed_kmh", MONDAY + i * MINUTE, v, kind="sensor") for i, v in
              enumerate([40.0, 320.0])]  # fmt: skip
    updates = [u for p in speeds for u in suite.impossible_value(states, p)[1]]
    [speed] = updates
    assert_evidence(speed)
    assert (speed.expected_low, speed.expected_high) == (0.0, 200.0)

    def registers(values: list[float]) -> list[AnomalyUpdate]:
        states: dict = {}
        points = [obs("energy_kwh_total", MONDAY + i * MINUTE, v) for i, v in enumerate(values)]
        return [u for p in points for u in suite.impossible_value(states, p)[1]]

    backwards = registers([5000.0, 5001.0, 4800.0])
    assert [u.detector for u in backwards] == ["register_backwards"]
    assert_evidence(backwards[0])
    assert (backwards[0].expected_low, backwards[0].expected_high) == (5001.0, None)
    reset = registers([52_000.0, 0.2])
    assert [(u.detector, u.state) for u in reset] == [
        ("register_reset", AnomalyState.OPEN),
        ("register_reset", AnomalyState.RESOLVED),
    ]
    assert_evidence(reset[0])
    assert (reset[1].expected_low, reset[1].expected_high) == (52_000.0, None)


# --- the contract ------------------------------------------------------------------


def test_the_band_reaches_the_contract_and_old_records_read_without_one() -> None:
    points = [
        obs("voltage_min_v", T + (i + 1) * MINUTE, v) for i, v in enumerate([220] + [190] * 4)
    ]
    _, seen = run(DetectorSuite(), points)
    anomaly = openings(seen)[0].to_anomaly(generation=1, sequence=0)
    assert (anomaly.expected_low, anomaly.expected_high) == (pytest.approx(198.0), None)
    back = Anomaly.model_validate_json(anomaly.model_dump_json())
    assert back == anomaly
    old = Anomaly.model_validate(
        anomaly.model_dump(mode="json", exclude={"expected_low", "expected_high"})
    )
    assert (old.expected_low, old.expected_high) == (None, None)


def test_an_incident_stored_before_the_band_resolves_without_one() -> None:
    point = obs("voltage_min_v", T, 220.0)
    state: dict = {
        "incident": {
            "id": "an-1",
            "started_ms": T - 10 * MINUTE,
            "updated_ms": T - 5 * MINUTE,
            "severity": "warning",
            "score": 1.0,
            "observed": 190.0,
            "expected": 198.0,
            "description": "undervoltage",
        }
    }
    resolved = resolve_incident(state, point, "undervoltage", ended_ms=T, description="back")
    assert resolved is not None
    assert (resolved.expected, resolved.expected_low, resolved.expected_high) == (198.0, None, None)
