"""Scoring with the hit rule: hits, misses, false positives, controls, delay.

The rule: docs/architecture.md, "Detection quality".
"""

from __future__ import annotations

import pytest

from streams.detect.quality import GRACE_MS, Control, Detection, Injection, score

pytestmark = pytest.mark.unit

MIN = 60_000


def det(entity: str, metric: str, at: int, detector: str = "undervoltage") -> Detection:
    return Detection(detector, "energy", "meter", entity, metric, at)


INJECTIONS = [
    Injection("undervoltage", "meter", "EM-1", "voltage_v", 100 * MIN, 108 * MIN),
    Injection("undervoltage", "meter", "EM-2", "voltage_v", 200 * MIN, 208 * MIN),
]
CONTROLS = [Control("evening_peak", 300 * MIN, 400 * MIN, domain="energy", metric="voltage_v")]
ALIASES = {"voltage_v": ["voltage_min_v"]}


def run(detections: list[Detection]):
    return score(
        INJECTIONS, CONTROLS, detections, kind_of=lambda d: d.detector, metric_aliases=ALIASES
    )


def test_hit_window_is_start_to_end_plus_fifteen_minutes() -> None:
    report = run(
        [
            det("EM-1", "voltage_min_v", 103 * MIN),  # hit, 3 minutes late
            det("EM-2", "voltage_min_v", 208 * MIN + GRACE_MS + 1),  # too late: a false positive
        ]
    )
    k = report.kinds["undervoltage"]
    assert (k.injections, k.hits, k.misses, k.detections, k.false_positives) == (2, 1, 1, 2, 1)
    assert (k.recall, k.precision, k.median_delay_s) == (0.5, 0.5, 180.0)
    assert report.missed[0]["entity_id"] == "EM-2"


def test_wrong_entity_or_metric_or_before_start_is_a_false_positive() -> None:
    report = run(
        [
            det("EM-9", "voltage_min_v", 103 * MIN),
            det("EM-1", "power_kw_mean", 103 * MIN, detector="seasonal"),
            det("EM-1", "voltage_min_v", 99 * MIN),
        ]
    )
    assert report.overall.hits == 0
    assert report.overall.false_positives == 3
    assert report.kinds["seasonal"].false_positives == 1


def test_alerts_inside_a_control_are_counted_against_it() -> None:
    report = run(
        [
            det("EM-5", "voltage_min_v", 350 * MIN),  # evening peak, voltage: counted
            det("EM-5", "last_seen", 360 * MIN, detector="silence"),  # another metric: not
        ]
    )
    assert report.control_alerts == {"evening_peak": 1}
    assert report.overall.precision == 0.0


def test_a_second_opening_inside_the_window_is_still_a_hit() -> None:
    report = run([det("EM-1", "voltage_min_v", 103 * MIN), det("EM-1", "voltage_min_v", 110 * MIN)])
    k = report.kinds["undervoltage"]
    assert (k.hits, k.hit_detections, k.precision) == (1, 2, 1.0)
    assert report.as_dict()["overall"]["recall"] == 0.5
