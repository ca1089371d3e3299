"""The seasonal detector: warm-up, hysteresis, holidays, weekends, scores in 0..1."""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pytest
from detect_helpers import DAY, MINUTE, MONDAY, json_round_trip, obs, run

from schemas.results import AnomalyState
from streams.detect import DetectorParams, DetectorSuite, Observation
from streams.detect.params import SeasonalParams

pytestmark = pytest.mark.unit

METRIC = "vehicles"  # no rule watches it: the seasonal detector is the default
RAW = SeasonalParams(likelihood=False, trust_days=2.0)
"""The raw score's own lifecycle (open_points at open_score): what these tests are about;
the likelihood stage on top has tests of its own (test_detect_likelihood.py)."""


def level(minute_of_week: int) -> float:
    """Rush hours at 7:30 and 17:30, quieter weekends."""
    hour = (minute_of_week % 1440) / 60
    base = (
        100
        + 60 * math.exp(-(((hour - 7.5) / 1.2) ** 2))
        + 80 * math.exp(-(((hour - 17.5) / 1.5) ** 2))
    )
    return base * (0.7 if minute_of_week // 1440 % 7 >= 5 else 1.0)


def series(
    days: float, *, seed: int = 1, step_min: int = 5, bump: dict[int, float] | None = None
) -> list[Observation]:
    rnd = random.Random(seed)
    bump = bump or {}
    out = []
    for i in range(int(days * 1440 / step_min)):
        minute = (i + 1) * step_min
        value = level(minute) + rnd.gauss(0, 6) + bump.get(minute, 0.0)
        out.append(obs(METRIC, MONDAY + minute * MINUTE, value, kind="segment", entity="S1"))
    return out


def bump_at(day: float, hours: float, size: float, step_min: int = 5) -> dict[int, float]:
    start = int(day * 1440) // step_min * step_min
    return {m: size for m in range(start, start + int(hours * 60) + 1, step_min)}


def opened(seen: list) -> list:
    return [(p, u) for p, u in seen if u.state is AnomalyState.OPEN]


def test_three_quiet_weeks_open_nothing() -> None:
    _, seen = run(
        DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal")), series(21)
    )
    assert seen == []


def test_nothing_scores_before_a_day_of_history() -> None:
    suite = DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal"))
    states: dict = {}
    for point in series(0.9, bump=bump_at(0.5, 2, 400)):
        updates, score = suite.observe_scored(states, point)
        assert updates == []
        assert score == 0.0


def test_daily_profile_during_warm_up_then_hour_of_week() -> None:
    # Day 3 (a Wednesday): only the daily profile is trusted, and it is enough.
    _, seen = run(
        DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal")),
        series(4, bump=bump_at(2.4, 1, 80)),
    )
    assert len(opened(seen)) == 1
    assert opened(seen)[0][0].ts_ms - (MONDAY + int(2.4 * DAY)) <= 20 * MINUTE
    # Day 10: the hour-of-week baseline; the same bump is found.
    _, seen = run(
        DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal")),
        series(11, bump=bump_at(9.4, 1, 80)),
    )
    assert len(opened(seen)) == 1


def test_first_weekend_is_not_an_anomaly() -> None:
    # Weekends are 30 % quieter; with only weekdays learned, the daily profile of a
    # weekday must not judge Saturday.
    suite = DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal"))
    _, seen = run(suite, series(8))
    assert seen == []


def test_one_noisy_point_pages_nobody_and_hysteresis_resolves_late() -> None:
    points = series(10)
    suite = DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal"))
    states, _ = run(suite, points)
    t = points[-1].ts_ms
    expected = level(10 * 1440)

    def at(k: int, value: float) -> Observation:
        return obs(METRIC, t + k * 5 * MINUTE, value, kind="segment", entity="S1")

    states, seen = run(suite, [at(1, expected + 200), at(2, expected)], states)
    assert seen == []  # one spike: no page
    spikes = [at(k, expected + 200) for k in range(3, 6)]
    states, seen = run(suite, spikes, states)
    assert [u.state for _, u in seen] == [AnomalyState.OPEN]
    # Back to normal for two points, then a wobble: still open (needs three quiet points).
    states, seen = run(suite, [at(6, expected), at(7, expected), at(8, expected + 40)], states)
    assert seen == []
    _, seen = run(suite, [at(k, expected) for k in range(9, 12)], states)
    assert [u.state for _, u in seen] == [AnomalyState.RESOLVED]


def test_scores_stay_in_unit_interval() -> None:
    suite = DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal"))
    states: dict = {}
    for point in series(9, bump=bump_at(8.2, 3, 10_000)):
        _, score = suite.observe_scored(states, point)
        assert 0.0 <= score <= 1.0


def test_a_holiday_has_its_own_baseline_and_does_not_alert() -> None:
    # Day 9 and day 16 are holidays (say Tết) with double the usual load.
    holidays = {9, 10, 16}
    params = DetectorParams(
        seasonal=RAW,
        default_detector="seasonal",
        holidays=tuple((date(2026, 11, 2) + timedelta(days=d)).isoformat() for d in holidays),
    )
    load = {
        m: level(m)
        for d in holidays
        for m in range(d * 1440 + 5, (d + 1) * 1440 + 1, 5)
        if m % 1440  # the point at 00:00 belongs to the day before
    }
    points = series(18, bump=load)
    _, seen = run(DetectorSuite(params), points)
    assert seen == []
    # Without the calendar the same load is an anomaly.
    _, seen = run(DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal")), points)
    assert opened(seen)


def test_same_input_same_ids_and_state_survives_json() -> None:
    points = series(10, bump={**bump_at(3.3, 1, 100), **bump_at(8.6, 1, -90)})
    _, whole = run(DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal")), points)
    cut = len(points) // 2
    states, head = run(
        DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal")), points[:cut]
    )
    _, tail = run(
        DetectorSuite(DetectorParams(seasonal=RAW, default_detector="seasonal")),
        points[cut:],
        json_round_trip(states),
    )
    assert [u for _, u in whole] == [u for _, u in head + tail]
    assert len(opened(whole)) == 2


def test_a_first_weekend_borrows_weekdays_scaled_to_its_own_level() -> None:
    # QR-like counts per 15 minutes: weekends run at half the weekday level. The run
    # starts on a Monday, so the first Saturday has no weekend baseline of its own.
    from streams.detect.params import QR_SURGE

    params = DetectorParams(seasonal_by_metric={"scans_in": QR_SURGE})
    rnd = random.Random(4)

    def points(surge_from: int | None) -> list[Observation]:
        out = []
        for i in range(6 * 96):  # Monday to Saturday
            minute = (i + 1) * 15
            level = 40.0 * (0.5 if minute // 1440 >= 5 else 1.0)
            value = float(max(0, round(level + rnd.gauss(0, level**0.5))))
            if surge_from is not None and surge_from <= minute < surge_from + 45:
                value = 2.5 * 40.0  # 5 × a Saturday, but only 2.5 × a weekday
            out.append(obs("scans_in", MONDAY + minute * MINUTE, value, kind="checkpoint"))
        return out

    _, seen = run(DetectorSuite(params), points(None))
    assert seen == []  # a quiet first Saturday is not an anomaly
    saturday_noon = 5 * 1440 + 12 * 60
    _, seen = run(DetectorSuite(params), points(saturday_noon))
    assert [u.state for _, u in seen][:1] == [AnomalyState.OPEN]
    assert seen[0][1].expected == pytest.approx(20.0, rel=0.25)


def _checkpoint_days(
    days: int, weekend_level: float, surges: dict[int, float], seed: int = 7
) -> list[Observation]:
    """15-minute in-scan counts from a Monday: 40 on weekdays, ``weekend_level`` at
    weekends, with ``surges`` (minute from the start → count) replacing some windows."""
    rnd = random.Random(seed)
    out = []
    for i in range(days * 96):
        minute = (i + 1) * 15
        level = weekend_level if (minute - 1) // 1440 % 7 >= 5 else 40.0
        value = surges.get(minute, max(0.0, round(level + rnd.gauss(0, 1.5))))
        out.append(obs("scans_in", MONDAY + minute * MINUTE, value, kind="checkpoint"))
    return out


def test_a_surge_short_of_the_gate_does_not_lift_the_level_it_is_judged_by() -> None:
    # A first Saturday at half a weekday's level, known from its first hour. A surge's
    # first window holds only part of it (2.5 ×, under the 3× gate); counted as a normal
    # point it lifted today's level, and the whole windows after it (4 ×) then read
    # under 3 × — the surge paged nobody.
    from streams.detect.params import QR_SURGE

    params = DetectorParams(seasonal_by_metric={"scans_in": QR_SURGE})
    saturday = 5 * 1440
    surge = {saturday + 75: 50.0, saturday + 90: 80.0, saturday + 105: 80.0}
    _, seen = run(DetectorSuite(params), _checkpoint_days(6, 20.0, surge))
    assert [(p.ts_ms, u.state) for p, u in opened(seen)] == [
        (MONDAY + (saturday + 90) * MINUTE, AnomalyState.OPEN)
    ]
    assert opened(seen)[0][1].expected == pytest.approx(20.0, rel=0.1)


def test_a_surge_on_a_first_weekend_does_not_become_the_next_weekends_baseline() -> None:
    # The weekend buckets are young on the first weekend: a plain average of their
    # first hour. A surge averaged in at full weight would make the next Saturday's
    # noon baseline 3 × too high, and the same surge there would read as 1.3 ×.
    from streams.detect.params import QR_SURGE

    params = DetectorParams(seasonal_by_metric={"scans_in": QR_SURGE})
    noon = 12 * 60
    surge = {day * 1440 + noon + m: 80.0 for day in (5, 12) for m in (15, 30, 45)}
    _, seen = run(DetectorSuite(params), _checkpoint_days(13, 20.0, surge))
    days = [(p.ts_ms - MONDAY) // DAY for p, _ in opened(seen)]
    assert days == [5, 12]


def test_a_quiet_first_saturday_may_scale_the_weekday_baseline_to_a_quarter() -> None:
    # An industrial park on a Saturday runs at 0.3 × a weekday: a level floored at 0.5
    # judged its 4× surge (48 scans) against 20 and saw 2.4 ×.
    from streams.detect.params import QR_SURGE

    params = DetectorParams(seasonal_by_metric={"scans_in": QR_SURGE})
    noon = 5 * 1440 + 12 * 60
    surge = {noon + m: 48.0 for m in (15, 30, 45)}
    _, seen = run(DetectorSuite(params), _checkpoint_days(6, 12.0, surge))
    assert len(opened(seen)) == 1
    assert opened(seen)[0][1].expected == pytest.approx(12.0, rel=0.15)


def test_a_first_sunday_is_not_judged_by_one_saturday_alone() -> None:
    # Saturday's noon hour read 30 by chance (four counts are noisy); Sunday's 4× surge
    # (80) was 2.7 × that. One day of one hour is not a baseline yet: Sunday borrows the
    # weekdays at its own level (20) until the hour was seen on two weekend days.
    from streams.detect.params import QR_SURGE

    params = DetectorParams(seasonal_by_metric={"scans_in": QR_SURGE})
    noon = 12 * 60
    saturday_noon = {5 * 1440 + noon + m: 30.0 for m in (15, 30, 45, 60)}
    sunday_surge = {6 * 1440 + noon + m: 80.0 for m in (15, 30, 45)}
    points = _checkpoint_days(7, 20.0, {**saturday_noon, **sunday_surge})
    _, seen = run(DetectorSuite(params), points)
    assert [(p.ts_ms - MONDAY) // DAY for p, _ in opened(seen)] == [6]
    assert opened(seen)[0][1].expected == pytest.approx(20.0, rel=0.15)
