"""The alert book: which anomalies reach Alertmanager, with which labels and endsAt."""

from __future__ import annotations

from datetime import timedelta

import pytest

from connectors.sinks.alerter.alerts import Renderer, alertname, labels
from connectors.sinks.alerter.book import AlertBook
from schemas.results import Anomaly
from tests.factories import T0, anomaly

pytestmark = pytest.mark.unit

MIN = timedelta(minutes=1)
REPOST = timedelta(seconds=60)


def book(live: int = 1) -> AlertBook:
    renderer = Renderer(
        language="en", grafana_url="http://grafana:3000/", dashboards={"energy": "ioc-energy"}
    )
    return AlertBook(renderer, live_generation=live, repost_interval=REPOST)


def opened(**kw: object) -> Anomaly:
    return anomaly(**{"severity": "warning", "state": "open", **kw})


def resolved(**kw: object) -> Anomaly:
    return anomaly(
        **{
            "state": "resolved",
            "ended_at": T0 + 5 * MIN,
            "updated_at": T0 + 5 * MIN,
            "sequence": 1,
            **kw,
        }
    )


def states(b: AlertBook, now=T0 + MIN) -> list[tuple[str, str, str]]:
    """(anomaly_id, severity, firing|resolved) of what would be posted now."""
    batch = b.take_due(now)
    out = []
    for p in batch.payloads:
        firing = p["endsAt"] > now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        out.append(
            (p["labels"]["anomaly_id"], p["labels"]["severity"], "firing" if firing else "resolved")
        )
    return out


def test_labels_carry_identity_place_and_severity() -> None:
    a = opened(area_code="689")
    assert labels(a) == {
        "alertname": "IocEnergyVoltageMinV",
        "source": "ioc-alerter",
        "domain": "energy",
        "metric": "voltage_min_v",
        "entity": "EM-0001",
        "entity_kind": "meter",
        "group": "FD-DX-01",
        "area": "689",
        "severity": "warning",
        "anomaly_id": "an-1",
    }
    assert alertname("traffic", "congestion_index") == "IocTrafficCongestionIndex"
    assert labels(opened())["area"] == "unknown"


def test_open_alert_ends_four_reposts_ahead_and_links_its_time_range() -> None:
    b = book()
    b.apply(opened(area_code="689"), T0)
    batch = b.take_due(T0 + MIN)
    [payload] = batch.payloads
    assert payload["startsAt"] == "2026-11-26T08:30:00.000000Z"
    assert payload["endsAt"] == "2026-11-26T08:35:00.000000Z"  # now + 4 × 60 s
    url = payload["annotations"]["dashboard"]
    start_ms = int((T0 - timedelta(minutes=30)).timestamp() * 1000)
    assert url == (
        f"http://grafana:3000/d/ioc-energy?orgId=1&from={start_ms}&to=now&var-area=689"
        "&var-entity=EM-0001"
    )
    assert payload["generatorURL"] == url
    assert "EM-0001" in payload["annotations"]["summary"]
    assert "observed 190" in payload["annotations"]["description"]


def test_info_is_never_paged_and_other_generations_never_posted() -> None:
    b = book(live=1)
    assert b.apply(opened(severity="info"), T0)  # live: kept, may end a warning
    assert not b.apply(opened(anomaly_id="an-2", generation=2), T0)
    assert not b.apply(opened(anomaly_id="an-3", generation=0), T0)
    assert states(b) == []


def test_repost_before_ends_at_and_not_sooner() -> None:
    b = book()
    b.apply(opened(), T0)
    first = b.take_due(T0)
    b.ack(first, T0)
    assert not b.take_due(T0 + 59 * timedelta(seconds=1))
    assert b.next_due(T0 + 10 * timedelta(seconds=1)) == T0 + REPOST
    again = b.take_due(T0 + REPOST)
    assert again.firing_count == 1
    assert again.payloads[0]["endsAt"] == "2026-11-26T08:35:00.000000Z"


def test_failed_post_stays_due() -> None:
    b = book()
    b.apply(opened(), T0)
    b.take_due(T0)  # posted, never acknowledged (Alertmanager down)
    assert b.pending(T0 + timedelta(seconds=1)) == 1
    assert b.take_due(T0 + timedelta(seconds=1)).firing_count == 1


def test_resolve_sends_min_of_ended_at_and_now() -> None:
    b = book()
    b.apply(opened(), T0)
    b.ack(b.take_due(T0), T0)
    b.apply(resolved(), T0 + 6 * MIN)
    [payload] = b.take_due(T0 + 6 * MIN).payloads
    assert payload["endsAt"] == "2026-11-26T08:35:00.000000Z"  # ended_at, before now
    b2 = book()
    b2.apply(opened(), T0)
    b2.apply(resolved(ended_at=T0 + 9 * MIN), T0 + 6 * MIN)  # ended "in the future": clock skew
    [payload] = b2.take_due(T0 + 6 * MIN).payloads
    assert payload["endsAt"] == "2026-11-26T08:36:00.000000Z"  # now


def test_severity_change_resolves_old_labels_and_opens_new() -> None:
    b = book()
    b.apply(opened(), T0)
    b.ack(b.take_due(T0), T0)
    b.apply(opened(severity="critical", sequence=1), T0 + 2 * MIN)
    assert sorted(states(b, T0 + 2 * MIN)) == [
        ("an-1", "critical", "firing"),
        ("an-1", "warning", "resolved"),
    ]
    # ... and down to info: the critical one resolves, nothing new fires.
    b.ack(b.take_due(T0 + 2 * MIN), T0 + 2 * MIN)
    b.apply(opened(severity="info", sequence=2), T0 + 3 * MIN)
    assert states(b, T0 + 3 * MIN) == [("an-1", "critical", "resolved")]


def test_two_anomalies_on_one_meter_are_two_alerts() -> None:
    b = book()
    b.apply(opened(anomaly_id="an-a", metric="voltage_min_v"), T0)
    b.apply(opened(anomaly_id="an-b", metric="silence"), T0)
    assert len({tuple(sorted(p["labels"].items())) for p in b.take_due(T0).payloads}) == 2


def test_out_of_order_copy_is_ignored() -> None:
    b = book()
    b.apply(opened(severity="critical", sequence=3), T0)
    b.apply(opened(severity="warning", sequence=1), T0)
    assert states(b) == [("an-1", "critical", "firing")]


def test_start_posts_final_states_only() -> None:
    now = T0 + timedelta(days=2)
    b = book()
    for record in (
        opened(anomaly_id="a-open"),  # opened then escalated: one critical alert
        opened(anomaly_id="a-open", severity="critical", sequence=1),
        opened(anomaly_id="a-old"),
        resolved(anomaly_id="a-old"),  # resolved two days ago: not re-sent
        opened(anomaly_id="a-recent", started_at=now - 3 * MIN, updated_at=now - 3 * MIN),
        resolved(
            anomaly_id="a-recent",
            started_at=now - 3 * MIN,
            ended_at=now - MIN,
            updated_at=now - MIN,
        ),
    ):
        b.store(record)
    b.start(now, resolved_horizon=timedelta(days=1))
    assert sorted(states(b, now)) == [
        ("a-open", "critical", "firing"),
        ("a-recent", "warning", "resolved"),
    ]


def test_promoting_a_rebuild_switches_alerts() -> None:
    b = book(live=1)
    b.apply(opened(anomaly_id="only-in-1"), T0)
    b.apply(opened(anomaly_id="in-both"), T0)
    b.apply(opened(anomaly_id="in-both", generation=2), T0)
    b.apply(opened(anomaly_id="only-in-2", generation=2), T0)
    b.ack(b.take_due(T0), T0)
    assert b.set_live_generation(2, T0 + MIN)
    posted = sorted(states(b, T0 + MIN))
    assert posted == [
        ("in-both", "warning", "firing"),  # same labels: continues (re-posted, same alert)
        ("only-in-1", "warning", "resolved"),
        ("only-in-2", "warning", "firing"),
    ]


def test_tombstone_resolves_what_fired() -> None:
    b = book()
    b.apply(opened(), T0)
    b.ack(b.take_due(T0), T0)
    b.forget("an-1", T0 + MIN)
    assert states(b, T0 + MIN) == [("an-1", "warning", "resolved")]


def test_update_of_text_is_posted_again_but_is_the_same_alert() -> None:
    b = book()
    b.apply(opened(), T0)
    b.ack(b.take_due(T0), T0)
    b.apply(opened(score=2.5, sequence=1), T0 + MIN)
    batch = b.take_due(T0 + MIN)
    assert batch.firing_count == 1
    assert batch.resolved_count == 0
    assert "score 2.5" in batch.payloads[0]["annotations"]["description"]


def test_vietnamese_text() -> None:
    r = Renderer(language="vi", area_names={"689": "Thành phố Đồng Xoài"})
    text = r.summary(opened(area_code="689", severity="critical"))
    assert text == (
        "Nghiêm trọng điện năng: voltage_min_v tại công tơ EM-0001 (Thành phố Đồng Xoài)"
        " — đo được 190, kỳ vọng 220"
    )


def test_the_evidence_reads_observed_against_the_band_in_both_languages() -> None:
    two_sided = opened(
        observed=12.3, expected=4.1, expected_low=2.0, expected_high=6.2, description="seasonal"
    )
    vi, en = Renderer(language="vi"), Renderer(language="en")
    assert vi.summary(two_sided).endswith(" — đo được 12.3, kỳ vọng 4.1 (khoảng 2–6.2)")
    assert en.summary(two_sided).endswith(" — observed 12.3, expected 4.1 (band 2–6.2)")
    assert en.description(two_sided).startswith(
        "seasonal; observed 12.3, expected 4.1 (band 2–6.2); score 0.9 (threshold); since "
    )
    # One-sided bands: a rule below a threshold, a rule above one.
    below = opened(observed=190.0, expected=198.0, expected_low=198.0)
    assert en.summary(below).endswith(" — observed 190, expected 198 (band ≥ 198)")
    above = opened(observed=0.72, expected=0.6, expected_high=0.6)
    assert vi.summary(above).endswith(" — đo được 0.72, kỳ vọng 0.6 (khoảng ≤ 0.6)")
    # A band without an expected value stands on its own; no evidence at all, no tail.
    assert en.summary(opened(expected=None, expected_high=180.0)).endswith(
        " — observed 190, band ≤ 180"
    )
    bare = opened(observed=None, expected=None)
    assert en.summary(bare).endswith("(?)")
    assert en.description(bare).startswith("score 0.9 (threshold); since ")


def test_the_evidence_is_also_one_annotation_per_value() -> None:
    r = Renderer(language="en")
    notes = r.annotations(opened(observed=190.0, expected=198.0, expected_low=198.0))
    shown = ("summary", "description", "dashboard", "area_name")
    assert {k: v for k, v in notes.items() if k not in shown} == {
        "observed": "190",
        "expected": "198",
        "expected_low": "198",  # no expected_high: the band has no upper bound
        "score": "0.9",
        "detector": "threshold",
    }
    assert all(isinstance(v, str) for v in notes.values())
    seasonal = opened(
        detector="seasonal", observed=300.0, expected=102.555777, expected_low=66.91017,
        expected_high=138.2013799, score=0.999866,
    )  # fmt: skip
    notes = r.annotations(seasonal)
    assert (notes["expected_low"], notes["expected_high"], notes["score"]) == (
        "66.9102",
        "138.201",
        "0.999866",
    )
    assert notes["detector"] == "seasonal"


def test_a_new_band_is_new_text_for_the_same_alert() -> None:
    b = book()
    b.apply(opened(expected_low=198.0), T0)
    b.ack(b.take_due(T0), T0)
    b.apply(opened(expected_low=200.0, sequence=1), T0 + MIN)
    batch = b.take_due(T0 + MIN)
    assert (batch.firing_count, batch.resolved_count) == (1, 0)
    assert batch.payloads[0]["annotations"]["expected_low"] == "200"
