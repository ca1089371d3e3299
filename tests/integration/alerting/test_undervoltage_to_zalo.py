"""An undervoltage on one meter, end to end: readings into Kafka, the real worker detects it,
``ioc alerter`` posts it to the real Alertmanager, which delivers to ``ioc notify``, which
sends a Vietnamese message to the Zalo-shaped server. The message's link opens the energy
dashboard ``ioc grafana`` builds, at the anomaly's time, with that meter selected, its
panel drawn and the anomaly annotated — checked on the generated dashboard JSON (Grafana
cannot run here).

The scenario is dated from tests/clock.py: the last half hour before now.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson
import pytest

from ioc.ops.grafana.build import dashboards
from ioc.ops.grafana.uids import DOMAIN_DASHBOARDS
from ioc.settings import Settings
from schemas.events import EnergyReading
from schemas.province.loading import load_profile
from schemas.timeutil import to_ms
from schemas.topics import ANOMALIES
from tests.clock import now
from tests.factories import energy
from tests.integration.alerting.conftest import AlerterProcess, PrivateAlertmanager
from tests.integration.streams.conftest import open_stack
from tests.notify_fakes import FakeZalo

pytestmark = [pytest.mark.integration, pytest.mark.scenario_date]

NOMINAL_V = 221.0
SAGGING_V = 180.0  # under 0.9 × 220 V, the profile's undervoltage ratio


def readings(meter_id: str, feeder_id: str, area_code: str) -> list[EnergyReading]:
    """A reading a minute for 24 minutes ending a minute ago: 12 normal, then sagging still.

    Still sagging: an incident that is over before anyone was told is not paged
    (Alertmanager sends no "resolved" for an alert it never sent)."""
    start = now().replace(second=0, microsecond=0) - timedelta(minutes=25)
    out = []
    for minute in range(24):
        volts = SAGGING_V if minute >= 12 else NOMINAL_V
        out.append(
            energy(
                source="e2e", meter_id=meter_id, feeder_id=feeder_id, area_code=area_code,
                measured_at=start + timedelta(minutes=minute),
                energy_kwh_total=1_000.0 + minute * 0.05,
                voltage_v={"l1": volts, "l2": volts + 0.5, "l3": volts - 0.4},
            )
        )  # fmt: skip
    return out


def about(meter_id: str, zalo: FakeZalo) -> list[str]:
    """The messages Zalo received about the meter."""
    return [text for _, text in zalo.received if f"công tơ {meter_id}," in text]


def test_an_undervoltage_reaches_zalo_in_vietnamese_with_a_link_to_its_panel(
    settings: Settings,
    kafka_ready: Settings,
    alertmanager_to_notify: PrivateAlertmanager,
    zalo: FakeZalo,
    tmp_path: Path,
) -> None:
    profile = load_profile(settings.province_profile)
    meter = profile.meters[0]
    stack = open_stack(uuid.uuid4().hex[:10], tmp_path)
    alerter = AlerterProcess(stack.topic(ANOMALIES), alertmanager_to_notify)
    try:
        stack.start_worker()
        events = readings(meter.meter_id, meter.feeder_id, meter.area_code)
        stack.produce("energy", events)
        closes = to_ms(events[-1].event_time) + 60_000 + stack.settings.allowed_lateness_s * 1000
        stack.produce_ticks("energy", closes)

        def opened() -> list[dict]:
            records = (orjson.loads(r.value) for r in stack.read_all(stack.topic(ANOMALIES)))
            return [
                r for r in records
                if r["entity_id"] == meter.meter_id and r["metric"] == "voltage_min_v"
            ]  # fmt: skip

        stack.wait_for(lambda: bool(opened()), 90, "the worker to open the undervoltage")
        anomaly = opened()[0]
        assert anomaly["detector"] == "undervoltage"
        alerter.start()

        # Other anomalies of the scenario page too (one meter of a feeder reporting is a
        # low reporting ratio of that feeder): the meter's own message is the one.
        assert alerter.proc is not None
        deadline = time.monotonic() + 60
        while not about(meter.meter_id, zalo) and time.monotonic() < deadline:
            assert alerter.proc.poll() is None, "the alerter exited"
            time.sleep(0.2)
        assert about(meter.meter_id, zalo), f"no message about the meter in 60 s: {zalo.received}"
    finally:
        if alerter.proc is not None:
            alerter.stop()
        stack.stop_all()

    (text,) = about(meter.meter_id, zalo)
    lines = text.splitlines()
    assert lines[0].startswith(("🔴 [CẢNH BÁO]", "🟠 [CẢNH BÁO]")), text
    assert "Điện năng" in lines[0], text
    where = next(line for line in lines if line.startswith("Ở đâu: "))
    assert f"công tơ {meter.meter_id}" in where, text
    observed = next(line for line in lines if line.startswith("Đo được: "))
    assert re.search(r"\b1[78]\d(,\d)? V\b", observed), observed  # the sag, in Vietnamese digits
    link = next(line for line in lines if line.startswith("Biểu đồ: ")).removeprefix("Biểu đồ: ")

    # The link opens the energy dashboard at the anomaly's time, the meter selected ...
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    uid = parts.path.removeprefix("/d/")
    assert uid == DOMAIN_DASHBOARDS["energy"], link
    assert query["var-entity"] == [meter.meter_id], link
    started_ms = to_ms(events[12].event_time)
    assert int(query["from"][0]) <= started_ms, link
    assert query["to"] == ["now"], link  # still open: up to now
    # ... which ioc grafana builds with that variable, a panel of the selected meter, and
    # the domain's anomalies (narrowed to the meter) as annotations.
    built = {d.uid: d.to_json("vi", profile.timezone) for d in dashboards(profile)}[uid]
    variables = {v["name"] for v in built["templating"]["list"]}
    assert {k.removeprefix("var-") for k in query if k.startswith("var-")} <= variables
    sql = [
        (panel["title"], target.get("rawSql", ""))
        for panel in built["panels"]
        for target in panel.get("targets", [])
    ]
    entity_panels = [t for t, s in sql if "${entity:singlequote}" in s and "kpi_energy" in s]
    assert entity_panels, "no panel of the energy dashboard follows the entity variable"
    (annotation,) = built["annotations"]["list"]
    assert annotation["enable"]
    drawn = annotation["target"]["rawSql"]
    assert "anomalies_live" in drawn
    assert "domain = 'energy'" in drawn
    assert "${entity:singlequote}" in drawn
