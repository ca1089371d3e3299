"""NAB scoring on small hand-made files, each expected score worked out by hand.

The rules: ioc/tooling/nab_scoring.py. With A(x) = 2 / (1 + exp(5x)) - 1 = -tanh(5x/2),
a window's reward A(p) / A(-1) is tanh(-5p/2) / tanh(5/2), and a false positive d past
a window costs fpWeight * A(d) = -fpWeight * tanh(5d/2). Every file below has 100 rows
(probation: the first 15) unless it says otherwise.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from ioc.tooling.nab_scoring import (
    MAX_TP,
    Cost,
    NabLabelError,
    assess,
    normalised,
    probation,
    scaled_sigmoid,
    scores,
    window_rows,
)

pytestmark = pytest.mark.unit

STANDARD = Cost(tp=1.0, fn=1.0, fp=0.11)
LOW_FP = Cost(tp=1.0, fn=1.0, fp=0.22)
LOW_FN = Cost(tp=1.0, fn=2.0, fp=0.11)
COSTS = {"standard": STANDARD, "reward_low_FP_rate": LOW_FP, "reward_low_FN_rate": LOW_FN}
N = 100
WINDOW = (40, 49)  # ten rows wide


def flags(*rows: int, n: int = N) -> list[bool]:
    return [i in rows for i in range(n)]


def one_window(*rows: int) -> float:
    return assess("f", flags(*rows), [WINDOW]).raw(STANDARD)


def test_probation_is_fifteen_percent_at_most_750_rows() -> None:
    assert [probation(n) for n in (0, 5, 7, 100, 4032, 5000, 5001, 15_902)] == [
        0, 0, 1, 15, 604, 750, 750, 750,
    ]  # fmt: skip


def test_the_curve() -> None:
    assert scaled_sigmoid(0.0) == 0.0
    assert MAX_TP == pytest.approx(math.tanh(2.5)) == pytest.approx(0.986614, abs=1e-6)
    assert scaled_sigmoid(3.0) == pytest.approx(-math.tanh(7.5))
    assert scaled_sigmoid(3.0001) == -1.0


def test_a_detection_on_the_first_row_of_a_window_earns_the_whole_weight() -> None:
    assert one_window(40) == pytest.approx(1.0)  # p = -(49 - 40 + 1) / 10 = -1


def test_a_late_detection_earns_less() -> None:
    # Middle: p = -(49 - 45 + 1) / 10 = -0.5; last row: p = -1/10.
    assert one_window(45) == pytest.approx(math.tanh(1.25) / math.tanh(2.5))
    assert one_window(45) == pytest.approx(0.859793, abs=1e-6)
    assert one_window(49) == pytest.approx(math.tanh(0.25) / math.tanh(2.5))
    assert one_window(49) == pytest.approx(0.248242, abs=1e-6)


def test_only_the_earliest_detection_in_a_window_counts_and_the_rest_cost_nothing() -> None:
    out = assess("f", flags(44, 45, 49), [WINDOW])
    assert out.window_hits == [pytest.approx(math.tanh(1.5))]  # 44: p = -0.6
    assert out.false_positives == 0
    assert out.raw(STANDARD) == pytest.approx(math.tanh(1.5) / math.tanh(2.5))


def test_a_missed_window_costs_fn_weight() -> None:
    out = assess("f", flags(), [WINDOW])
    assert (out.detected_windows, out.window_hits) == (0, [None])
    assert out.raw(STANDARD) == -1.0
    assert out.raw(LOW_FN) == -2.0


def test_a_false_positive_before_any_window_costs_fp_weight() -> None:
    out = assess("f", flags(20, 40), [WINDOW])
    assert out.false_positives == 1
    assert out.raw(STANDARD) == pytest.approx(1.0 - 0.11)
    assert out.raw(LOW_FP) == pytest.approx(1.0 - 0.22)


def test_a_false_positive_after_a_window_costs_less_the_closer_it_is() -> None:
    # d = (i - 49) / (10 - 1): 50 -> 1/9, 52 -> 1/3; 77 -> 28/9 > 3, the full -1.
    assert one_window(50) == pytest.approx(-1.0 - 0.11 * math.tanh(5 / 18))
    assert one_window(50) == pytest.approx(-1.029793, abs=1e-6)
    assert one_window(52) == pytest.approx(-1.0 - 0.11 * math.tanh(5 / 6))
    assert one_window(77) == pytest.approx(-1.11)
    out = assess("f", flags(40, 50, 52, 77), [WINDOW])
    assert out.false_positives == 3
    assert out.raw(STANDARD) == pytest.approx(
        1.0 - 0.11 * (math.tanh(5 / 18) + math.tanh(5 / 6) + 1.0)
    )


def test_a_false_positive_is_charged_from_the_window_before_it_not_after() -> None:
    windows = [(30, 39), (70, 79)]
    # 41: just past the first window (d = 2/9); 69: just before the second, but
    # 30 rows past the first (d = 30/9 > 3): the full penalty.
    out = assess("f", flags(30, 41, 69, 70), windows)
    assert out.false_positives == 2
    assert out.raw(STANDARD) == pytest.approx(2.0 - 0.11 * (math.tanh(5 / 9) + 1.0))


def test_after_a_one_row_window_a_false_positive_costs_fp_weight() -> None:
    assert assess("f", flags(45), [(40, 40)]).raw(STANDARD) == pytest.approx(-1.11)


def test_probation_detections_are_ignored() -> None:
    out = assess("f", flags(3, 14, 40), [WINDOW])
    assert (out.probation_detections, out.false_positives) == (2, 0)
    assert out.raw(STANDARD) == pytest.approx(1.0)


def test_a_window_wholly_in_probation_is_not_scored_but_counts_in_perfect() -> None:
    out = assess("f", flags(5, 40), [(2, 10), WINDOW])
    assert (out.windows, out.scorable_windows, out.probation_detections) == (2, 1, 1)
    assert out.window_hits == [pytest.approx(MAX_TP)]  # only the scorable window
    assert out.raw(STANDARD) == pytest.approx(1.0)
    # perfect = 2 windows, null = -1 scorable window: 100 * (1 + 1) / (2 + 1).
    assert normalised([out], STANDARD) == pytest.approx(200 / 3)


def test_a_window_ending_after_probation_is_scored_from_probation_on() -> None:
    # Rows 10..20 (11 wide): the detection at 12 is probationary, 16 is the first that counts.
    out = assess("f", flags(12, 16), [(10, 20)])
    assert (out.scorable_windows, out.probation_detections) == (1, 1)
    assert out.raw(STANDARD) == pytest.approx(math.tanh(25 / 22) / math.tanh(2.5))


def test_normalised_over_files_under_each_profile() -> None:
    found_early = assess("a", flags(40), [WINDOW])  # raw 1
    missed_with_fp = assess("b", flags(20), [WINDOW])  # -fn - fp
    quiet = assess("c", flags(), [])  # no window, no detection
    result = scores([found_early, missed_with_fp, quiet], COSTS)
    # standard: raw -0.11, perfect 2, null -2 -> 100 * 1.89 / 4
    assert result["standard"] == pytest.approx(47.25)
    assert result["reward_low_FP_rate"] == pytest.approx(100 * 1.78 / 4)
    # low FN: raw 1 - 2 - 0.11, perfect 2, null -4 -> 100 * 2.89 / 6
    assert result["reward_low_FN_rate"] == pytest.approx(100 * 2.89 / 6)
    assert normalised([assess("n", flags(), [WINDOW])], STANDARD) == 0.0  # never fires
    assert math.isnan(normalised([quiet], STANDARD))  # no window: undefined


def test_window_edges_are_the_first_rows_of_their_timestamps() -> None:
    t0 = datetime(2014, 4, 1, tzinfo=UTC)
    stamps = [t0 + timedelta(minutes=5 * i) for i in range(10)]
    stamps.insert(4, stamps[3])  # a repeated timestamp: its first row is the edge
    spans = [(stamps[6], stamps[8]), (stamps[3], stamps[5])]
    assert window_rows(stamps, spans) == [(3, 5), (6, 8)]
    with pytest.raises(NabLabelError, match="not a row timestamp"):
        window_rows(stamps, [(t0 - timedelta(minutes=1), stamps[2])])


def test_a_window_outside_the_file_is_refused() -> None:
    with pytest.raises(NabLabelError):
        assess("f", flags(n=10), [(8, 12)])
