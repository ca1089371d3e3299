"""Anomalies injected into Kafka reach a webhook through the real Alertmanager's routing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kafka import KafkaProducer

from ioc.kafka_client import kafka_client_options
from ioc.settings import Settings
from schemas.results import AnomalyState
from schemas.timeutil import utcnow
from tests.factories import anomaly
from tests.integration.alerting.conftest import (
    AlerterProcess,
    PrivateAlertmanager,
    Webhook,
    anomalies_topic,
    private_alertmanager,
    produce,
)

pytestmark = pytest.mark.integration


def of(anomaly_id: str, status: str | None = None):
    return lambda a: (
        a["labels"].get("anomaly_id") == anomaly_id and (status is None or a["status"] == status)
    )


def test_open_and_resolved_reach_the_webhook_through_routing(
    settings: Settings,
    kafka_ready: Settings,
    alertmanager: PrivateAlertmanager,
    webhook: Webhook,
    unique: str,
) -> None:
    topic = anomalies_topic(settings, unique)
    now = utcnow()
    opened = anomaly(
        anomaly_id=f"crit-{unique}", group_id=f"FD-{unique}", severity="critical",
        area_code="689", started_at=now - timedelta(minutes=3), updated_at=now,
        observed=190.0, expected=198.0, expected_low=198.0,
    )  # fmt: skip
    alerter = AlerterProcess(topic, alertmanager)
    alerter.start()
    try:
        # Hostile records first: the alerter skips them and pages the next valid one.
        producer = KafkaProducer(**kafka_client_options(settings), acks="all")
        for i, value in enumerate(
            (
                # Not ASCII, so normalisation walks it: past Python's recursion before.
                '{"area_code": "Bình Phước", "x": '.encode() + b"[" * 900 + b"]" * 900 + b"}",
                b"\xff\xfe",
                b'{"sequence": 1e999}',
                b"x" * 900_000,
            )
        ):
            producer.send(topic, key=f"garbage-{i}".encode(), value=value)
        producer.flush(30)
        producer.close()
        produce(settings, topic, opened)
        firing = webhook.wait_for(of(opened.anomaly_id, "firing"))
        assert firing["receiver"] == "ioc-energy-critical"
        assert firing["labels"]["severity"] == "critical"
        assert firing["labels"]["group"] == f"FD-{unique}"
        assert firing["labels"]["area"] == "689"
        assert firing["annotations"]["dashboard"].startswith(
            "http://grafana.test:3000/d/ioc-energy?"
        )
        assert "Critical energy" in firing["annotations"]["summary"]
        # The evidence: in the words, and one value per annotation (no upper bound: none).
        assert firing["annotations"]["summary"].endswith("observed 190, expected 198 (band ≥ 198)")
        evidence = ("observed", "expected", "expected_low", "expected_high", "score", "detector")
        assert {k: firing["annotations"].get(k) for k in evidence} == {
            "observed": "190",
            "expected": "198",
            "expected_low": "198",
            "expected_high": None,
            "score": "0.9",
            "detector": "threshold",
        }

        ended = now + timedelta(seconds=1)
        produce(
            settings, topic,
            opened.model_copy(update={"state": AnomalyState.RESOLVED, "ended_at": ended, "updated_at": ended, "sequence": 1}),
        )  # fmt: skip
        resolved = webhook.wait_for(of(opened.anomaly_id, "resolved"))
        assert resolved["receiver"] == "ioc-energy-critical"
    finally:
        alerter.stop()


def test_two_anomalies_on_one_meter_stay_two_alerts(
    settings: Settings,
    kafka_ready: Settings,
    alertmanager: PrivateAlertmanager,
    webhook: Webhook,
    unique: str,
) -> None:
    topic = anomalies_topic(settings, unique)
    now = utcnow()
    common = {
        "group_id": f"FD-{unique}",
        "entity_id": f"EM-{unique}",
        "started_at": now,
        "updated_at": now,
    }
    first = anomaly(anomaly_id=f"a-{unique}", metric="voltage_min_v", **common)
    second = anomaly(anomaly_id=f"b-{unique}", metric="voltage_min_v", score=3.0, **common)
    alerter = AlerterProcess(topic, alertmanager)
    alerter.start()
    try:
        produce(settings, topic, first, second)
        webhook.wait_for(of(first.anomaly_id, "firing"))
        webhook.wait_for(of(second.anomaly_id, "firing"))
        ids = {
            a["labels"]["anomaly_id"]
            for a in webhook.alerts(lambda a: a["labels"].get("entity") == f"EM-{unique}")
        }
        assert ids == {first.anomaly_id, second.anomaly_id}
        receivers = {
            a["receiver"]
            for a in webhook.alerts(lambda a: a["labels"].get("entity") == f"EM-{unique}")
        }
        assert receivers == {"ioc-energy"}
        live = [a for a in alertmanager.alerts() if a["labels"].get("entity") == f"EM-{unique}"]
        assert len(live) == 2
    finally:
        alerter.stop()


def test_restart_does_not_page_again_and_still_resolves(
    settings: Settings,
    kafka_ready: Settings,
    alertmanager: PrivateAlertmanager,
    webhook: Webhook,
    unique: str,
) -> None:
    topic = anomalies_topic(settings, unique)
    now = utcnow()
    paged = anomaly(
        anomaly_id=f"p-{unique}", group_id=f"FD-P-{unique}", started_at=now, updated_at=now
    )
    alerter = AlerterProcess(topic, alertmanager)
    alerter.start()
    produce(settings, topic, paged)
    webhook.wait_for(of(paged.anomaly_id, "firing"))
    alerter.stop()

    restarted = AlerterProcess(topic, alertmanager)
    restarted.start()
    try:
        # The restarted alerter re-posted the open alert (its state came from the topic)...
        restarted.wait_metric('ioc_alerter_alerts_sent_total{state="firing"}', lambda v: v >= 1)
        # ... and a marker in another group goes through Alertmanager after that re-post.
        marker = anomaly(
            anomaly_id=f"m-{unique}", group_id=f"FD-M-{unique}", started_at=now, updated_at=now
        )
        produce(settings, topic, marker)
        webhook.wait_for(of(marker.anomaly_id, "firing"))
        assert len(webhook.alerts(of(paged.anomaly_id))) == 1, "the restart paged again"

        ended = utcnow()
        produce(
            settings, topic,
            paged.model_copy(update={"state": AnomalyState.RESOLVED, "ended_at": ended, "updated_at": ended, "sequence": 1}),
        )  # fmt: skip
        webhook.wait_for(of(paged.anomaly_id, "resolved"))
    finally:
        restarted.stop()


def test_alerter_retries_while_alertmanager_is_down(
    settings: Settings, kafka_ready: Settings, webhook: Webhook, unique: str, tmp_path
) -> None:
    topic = anomalies_topic(settings, unique)
    am = private_alertmanager(tmp_path, webhook)  # not started yet
    now = utcnow()
    waiting = anomaly(
        anomaly_id=f"w-{unique}", group_id=f"FD-W-{unique}", started_at=now, updated_at=now
    )
    am.ensure_pki()  # the CA the alerter trusts exists before Alertmanager does
    alerter = AlerterProcess(topic, am)
    alerter.start()
    try:
        produce(settings, topic, waiting)
        alerter.wait_metric('ioc_alerter_posts_total{outcome="failed"}', lambda v: v >= 1)
        assert alerter.metric("ioc_alerter_pending_alerts") == 1
        am.run("start")
        try:
            webhook.wait_for(of(waiting.anomaly_id, "firing"))
            alerter.wait_metric("ioc_alerter_pending_alerts", lambda v: v == 0)
        finally:
            am.run("stop")
    finally:
        alerter.stop()
