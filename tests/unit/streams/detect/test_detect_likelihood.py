"""The anomaly-likelihood stage: pure maths on a stream of raw scores, and in the suite."""

from __future__ import annotations

import json
import random

import pytest
from detect_helpers import MINUTE, MONDAY, SEASONAL_DEFAULT, json_round_trip, obs, run

from schemas.results import AnomalyState
from streams.detect import DetectorSuite, Observation
from streams.detect.likelihood import KEY, likelihood_score, tail_probability
from streams.detect.params import SeasonalParams

pytestmark = pytest.mark.unit

PARAMS = SeasonalParams()


def raw_noise(n: int, seed: int = 1) -> list[float]:
    """Raw scores of a well-modelled noisy series: 1 − exp(−|z| / 3.1) of normal noise."""
    rnd = random.Random(seed)
    return [1 - 2.718281828 ** (-abs(rnd.gauss(0, 1)) / 3.1) for _ in range(n)]


def test_tail_probability() -> None:
    assert tail_probability(0.1, 0.2, 0.05) == 0.5  # below the mean: no anomaly
    assert tail_probability(0.2, 0.2, 0.05) == pytest.approx(0.5)
    assert tail_probability(0.2 + 0.05 * 4.265, 0.2, 0.05) == pytest.approx(1e-5, rel=0.01)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_steady_noisy_scores_never_reach_the_open_score(seed: int) -> None:
    # 30 days of 5-minute points. (Not forever: the averaged score is skewed and the
    # tail is judged as normal; on independent noise about one alert in 50,000 points.)
    state: dict = {}
    scores = [likelihood_score(state, r, PARAMS) for r in raw_noise(8_640, seed)]
    assert max(scores) < PARAMS.open_score
    assert scores[: PARAMS.lik_learning] == [0.0] * PARAMS.lik_learning


def test_a_sustained_shift_crosses_the_open_score_then_is_learned() -> None:
    state: dict = {}
    for r in raw_noise(3000):
        likelihood_score(state, r, PARAMS)
    shifted = [likelihood_score(state, 0.9, PARAMS) for _ in range(2000)]
    hot = [s >= PARAMS.open_score for s in shifted]
    assert any(hot[: PARAMS.lik_window])  # found within one averaging window
    assert min(shifted) >= 0.0
    assert max(shifted) <= 1.0
    # One run of hot points (the lifecycle opens once), and the clipped moments learn
    # the new level within the horizon instead of paging forever.
    runs = sum(1 for a, b in zip([False, *hot], hot, strict=False) if b and not a)
    assert runs == 1
    assert not hot[-1]


def test_state_is_bounded_plain_json() -> None:
    state: dict = {}
    sizes = []
    for i, r in enumerate(raw_noise(10_000)):
        likelihood_score(state, r, PARAMS)
        if i in (100, 9_999):
            sizes.append(len(json.dumps(state[KEY])))
    assert len(state[KEY]["r"]) == PARAMS.lik_window
    assert sizes[1] <= sizes[0] + 20  # does not grow with the series
    assert sizes[1] < 800  # 30 floats of the ring and four numbers


def test_in_the_suite_a_noisy_flat_series_is_quiet_and_a_shift_opens_once() -> None:
    rnd = random.Random(7)
    step = 5 * MINUTE

    def at(i: int, value: float) -> Observation:
        return obs("queue_length", MONDAY + (i + 1) * step, value, kind="segment", entity="S")

    quiet = [at(i, 50 + rnd.gauss(0, 3)) for i in range(12 * 288)]
    states, seen = run(DetectorSuite(SEASONAL_DEFAULT), quiet)
    assert seen == []
    shift = [at(12 * 288 + i, 80 + rnd.gauss(0, 3)) for i in range(24)]
    # Replay determinism: the JSON round trip of the state changes nothing.
    _, seen = run(DetectorSuite(SEASONAL_DEFAULT), shift, json_round_trip(states))
    _, again = run(DetectorSuite(SEASONAL_DEFAULT), shift, json_round_trip(states))
    assert {u.state for _, u in seen} == {AnomalyState.OPEN}  # opened (then escalated)
    assert len({u.anomaly_id for _, u in seen}) == 1
    assert [u for _, u in seen] == [u for _, u in again]
