"""ioc notify's templates: Alertmanager's webhook JSON → the text people read (vi, en)."""

from __future__ import annotations

import json

import pytest

from connectors.sinks.notify.message import TemplateConfig, metric_name, render
from connectors.sinks.notify.payload import MAX_DEPTH, PayloadError, decode, parse
from tests.notify_fakes import anomaly_alert, pipeline_alert, webhook_body

pytestmark = pytest.mark.unit

AREAS = {"689": "Thành phố Đồng Xoài"}
VI = TemplateConfig(language="vi", runbook_base_url="https://docs.ioc.test/ioc", area_names=AREAS)
EN = TemplateConfig(language="en", runbook_base_url="https://docs.ioc.test/ioc/", area_names=AREAS)


def test_a_firing_anomaly_in_vietnamese_says_what_where_since_and_the_evidence() -> None:
    message = render(parse(webhook_body(anomaly_alert())), VI)
    assert message.subject == (
        "[IOC] CẢNH BÁO: Điện áp thấp nhất — công tơ EM-0001, Thành phố Đồng Xoài"
    )
    lines = message.text.splitlines()
    assert lines[0] == "🔴 [CẢNH BÁO] Nghiêm trọng · Điện năng"
    assert "Điện áp thấp nhất" in lines  # the metric's name, not voltage_min_v
    assert "voltage_min_v" not in message.text
    assert "Ở đâu: công tơ EM-0001, Thành phố Đồng Xoài" in lines
    assert "Từ lúc: 14:05 07/12/2026 (giờ Việt Nam)" in lines  # 07:05 UTC, UTC+7
    assert "Đo được: 180,5 V, kỳ vọng 221 V (ngưỡng bình thường ≥ 198 V)" in lines
    assert "Biểu đồ: http://grafana.test:3000/d/ioc-energy?orgId=1&from=1&to=now" in lines
    assert "Hướng dẫn xử lý: https://docs.ioc.test/ioc/docs/runbook.md#anomaly-alerts" in lines


def test_the_same_in_english() -> None:
    message = render(parse(webhook_body(anomaly_alert())), EN)
    lines = message.text.splitlines()
    assert lines[0] == "🔴 [ALERT] Critical · Energy"
    assert "Lowest voltage" in lines
    assert "Where: meter EM-0001, Thành phố Đồng Xoài" in lines
    assert "Since: 2026-12-07 14:05 (Vietnam time)" in lines
    assert "Observed: 180.5 V, expected 221 V (normal band ≥ 198 V)" in lines
    assert "Runbook: https://docs.ioc.test/ioc/docs/runbook.md#anomaly-alerts" in lines


def test_a_resolved_notification_says_until_when() -> None:
    alert = anomaly_alert(status="resolved", endsAt="2026-12-07T08:35:00Z")
    message = render(parse(webhook_body(alert, status="resolved")), VI)
    assert message.text.startswith("✅ [ĐÃ HẾT] Nghiêm trọng · Điện năng")
    assert "Đến lúc: 15:35 07/12/2026 (giờ Việt Nam)" in message.text
    assert message.subject.startswith("[IOC] ĐÃ HẾT: Điện áp thấp nhất")


def test_a_resolved_alert_inside_a_firing_notification_is_marked() -> None:
    resolved = anomaly_alert(
        status="resolved",
        endsAt="2026-12-07T08:00:00Z",
        labels={"entity": "EM-0002", "anomaly_id": "an-2"},
    )
    message = render(parse(webhook_body(anomaly_alert(), resolved)), EN)
    assert "✅ Lowest voltage" in message.text.splitlines()
    assert message.subject.endswith(" (2)")  # alerts in the notification
    assert message.text.splitlines()[0] == "🔴 [ALERT (2)] Critical · Energy"


def test_missing_annotations_and_an_unknown_area_leave_their_lines_out() -> None:
    alert = anomaly_alert(labels={"area": "unknown", "metric": "scans_out"})
    alert["annotations"] = {}
    message = render(parse(webhook_body(alert)), VI)
    lines = message.text.splitlines()
    assert "scans out" in lines  # an unlisted metric by its words
    assert "Ở đâu: công tơ EM-0001" in lines
    assert not [line for line in lines if line.startswith("Đo được")]
    assert "Biểu đồ: http://grafana.test:3000/d/ioc-energy" in lines  # the generatorURL
    assert any(line.startswith("Hướng dẫn xử lý: https://") for line in lines)


def test_only_a_band_side_shows_the_band() -> None:
    alert = anomaly_alert()
    alert["annotations"] = {"expected_high": "0.6", "observed": "0.82"}
    alert["labels"]["metric"] = "congestion_index"
    text = render(parse(webhook_body(alert)), VI).text
    assert "Đo được: 0,82 (ngưỡng bình thường ≤ 0,6)" in text
    assert "Chỉ số ùn tắc" in text


def test_a_pipeline_alert_reads_as_the_rule_wrote_it() -> None:
    message = render(parse(webhook_body(pipeline_alert())), VI)
    lines = message.text.splitlines()
    assert lines[0] == "🔴 [CẢNH BÁO] Nghiêm trọng · Hệ thống IOC"
    assert "Stream worker 127.0.0.1:9483 is down" in lines
    assert "Ở đâu: tiến trình ioc-worker (127.0.0.1:9483)" in lines
    assert "Chi tiết: No KPIs, no anomalies, no data-quality counters while it is down." in lines
    assert "Hướng dẫn xử lý: https://docs.ioc.test/ioc/docs/runbook.md#iocworkerdown" in lines
    assert "Từ lúc: 08:00 07/12/2026 (giờ Việt Nam)" in lines


def test_an_absolute_runbook_stays_as_it_is() -> None:
    alert = pipeline_alert(annotations={"runbook": "https://wiki.test/x"})
    assert "Runbook: https://wiki.test/x" in render(parse(webhook_body(alert)), EN).text


def test_telegram_html_escapes_values_and_links() -> None:
    alert = pipeline_alert(annotations={"summary": "a <b> & c", "runbook": "docs/r.md#a"})
    html = render(parse(webhook_body(alert)), EN).html
    assert "<b>a &lt;b&gt; &amp; c</b>" in html
    assert '<a href="https://docs.ioc.test/ioc/docs/r.md#a">' in html


def test_a_long_notification_is_shortened_by_whole_alerts() -> None:
    alerts = [
        anomaly_alert(labels={"entity": f"EM-{i:04}", "anomaly_id": f"an-{i}"}) for i in range(40)
    ]
    message = render(parse(webhook_body(*alerts)), VI, max_alerts=10, limit=2000)
    assert len(message.text) <= 2000
    assert len(message.html) <= 2000
    shown = message.text.count("Ở đâu:")
    assert 1 <= shown <= 10
    assert f"… và {40 - shown} cảnh báo khác" in message.text
    assert message.html.count("<b>") == message.html.count("</b>")


def test_metric_names_in_both_languages() -> None:
    assert metric_name("last_seen", "vi") == "Mất tín hiệu (không có số liệu)"
    assert metric_name("overdue", "en") == "Overdue dossiers"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"alerts": []}', "'alerts' is missing"),
        (json.dumps({"status": "firing", "alerts": [1]}).encode(), r"alerts\[0\] is not an object"),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper"),
        (json.dumps({"a": [[[[[[[[[[1]]]]]]]]]]}).encode(), "nested deeper"),
        (json.dumps({**webhook_body(anomaly_alert()), "status": "odd"}).encode(), "status"),
        (json.dumps(webhook_body(anomaly_alert(labels={"x": 1}))).encode(), "labels"),
        (json.dumps(webhook_body(anomaly_alert(startsAt="yesterday"))).encode(), "RFC 3339"),
    ],
)
def test_what_is_not_a_notification_is_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError, match=reason):
        decode(body)


def test_a_real_notification_is_within_the_depth_limit() -> None:
    assert MAX_DEPTH >= 4
    notification = decode(json.dumps(webhook_body(anomaly_alert())).encode())
    assert notification.alerts[0].starts_at is not None
    assert notification.alerts[0].ends_at is None  # Go's zero time
