"""Every alert's link resolves: a dashboard that is built, variables it has, the entity
that fired among the variable's choices, and that entity's anomaly drawn on its series.

Checked on the generated dashboard JSON (what Grafana provisions), for an anomaly of each
domain on an entity of the shipped profile.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.sinks.alerter.alerts import Renderer
from ioc.ops.grafana.build import dashboards
from ioc.ops.grafana.macros import QueryContext, expand
from ioc.ops.grafana.uids import ANOMALIES, DOMAIN_DASHBOARDS
from schemas.province.loading import load_profile
from tests.factories import T0, anomaly

pytestmark = pytest.mark.unit

PROFILE = load_profile()
BUILT = {d.uid: d.to_json("vi", PROFILE.timezone) for d in dashboards(PROFILE)}
RENDERER = Renderer(
    grafana_url="http://grafana:3000", dashboards=DOMAIN_DASHBOARDS, fallback_dashboard=ANOMALIES
)

SUBJECTS = {
    "energy": ("meter", PROFILE.meters[0].meter_id, PROFILE.meters[0].area_code),
    "traffic": ("segment", PROFILE.segments[0].segment_id, PROFILE.segments[0].area_code),
    "qr": ("checkpoint", PROFILE.checkpoints[0].checkpoint_id, PROFILE.checkpoints[0].area_code),
    "dossier": ("agency", PROFILE.agencies[0].agency_code, PROFILE.agencies[0].area_code),
}


def link(domain: str) -> tuple[str, dict[str, list[str]]]:
    kind, entity, area = SUBJECTS[domain]
    url = RENDERER.dashboard_url(
        anomaly(domain=domain, entity_kind=kind, entity_id=entity, area_code=area)
    )
    parts = urlsplit(url)
    match = re.fullmatch(r"/d/([\w-]+)", parts.path)
    assert match, url
    return match.group(1), parse_qs(parts.query)


@pytest.mark.parametrize("domain", sorted(SUBJECTS))
def test_an_alert_link_opens_a_built_dashboard_with_variables_it_has(domain: str) -> None:
    uid, query = link(domain)
    assert uid in BUILT, f"{uid} is not a dashboard ioc grafana builds"
    names = {v["name"] for v in BUILT[uid]["templating"]["list"]}
    wanted = {key.removeprefix("var-") for key in query if key.startswith("var-")}
    assert wanted <= names, f"{uid} lacks variables {wanted - names}"
    assert query["var-entity"] == [SUBJECTS[domain][1]]
    start = int(query["from"][0])
    assert start == int((T0 - timedelta(minutes=30)).timestamp() * 1000)


@pytest.mark.parametrize("domain", sorted(SUBJECTS))
def test_the_linked_entity_is_a_choice_of_the_entity_variable(domain: str) -> None:
    uid, _ = link(domain)
    entity = next(v for v in BUILT[uid]["templating"]["list"] if v["name"] == "entity")
    kinds = set(re.findall(r"'(\w+)'", entity["query"].split("IN (", 1)[1].split(")", 1)[0]))
    assert SUBJECTS[domain][0] in kinds


@pytest.mark.parametrize("domain", sorted(SUBJECTS))
def test_the_linked_anomaly_is_drawn_on_the_dashboard(domain: str) -> None:
    """The annotation source reads the domain's anomalies, narrowed to the linked entity."""
    uid, query = link(domain)
    sources = BUILT[uid]["annotations"]["list"]
    assert len(sources) == 1
    assert sources[0]["enable"]
    ctx = QueryContext(
        time_from=T0 - timedelta(hours=1),
        time_to=T0,
        interval=timedelta(minutes=1),
        variables={"entity": query["var-entity"][0], "area": query["var-area"]},
    )
    sql = expand(sources[0]["target"]["rawSql"], ctx)
    assert f"domain = '{domain}'" in sql
    assert f"entity_id IN ('{SUBJECTS[domain][1]}')" in sql
    assert "timeEnd" in sql
    assert "ifNull(ended_at" in sql


def test_the_energy_link_opens_the_selected_meters_voltage_panel() -> None:
    """What the issue's end-to-end case asks: the meter that fired, its panel, its band."""
    uid, _query = link("energy")
    panels = BUILT[uid]["panels"]
    mine = [p for p in panels if "${entity" in str(p.get("targets", ""))]
    assert mine, "no panel reads the entity variable"
    targets = mine[0]["targets"]
    assert {t["refId"] for t in targets} == {"A", "B"}  # the series and its anomaly band
    assert "voltage_min_v" in targets[0]["rawSql"]
    assert "expected_low" in targets[1]["rawSql"]


def test_the_dossier_link_opens_the_selected_agencys_panels() -> None:
    """The services dashboard draws the agency that fired, day by day, with the band of the
    anomalies of the metric each panel shows (overdue dossiers; the on-time rate)."""
    uid, query = link("dossier")
    mine = [p for p in BUILT[uid]["panels"] if "${entity" in str(p.get("targets", ""))]
    assert len(mine) == 2, [p["title"] for p in mine]
    ctx = QueryContext(
        time_from=T0 - timedelta(days=2),
        time_to=T0,
        interval=timedelta(minutes=5),
        variables={"entity": query["var-entity"][0], "area": query["var-area"]},
    )
    for panel, metric, column in ((mine[0], "overdue", "open_late_at_end"),
                                  (mine[1], "on_time_rate", "finished_late")):  # fmt: skip
        kpi, band = (expand(t["rawSql"], ctx) for t in panel["targets"])
        assert [t["refId"] for t in panel["targets"]] == ["A", "B"]
        assert "FROM kpi_dossier_live AS k" in kpi
        assert "k.window_size = 'day'" in kpi  # dossier KPIs have day windows only
        assert column in kpi
        assert f"k.entity_id IN ('{SUBJECTS['dossier'][1]}')" in kpi
        assert "domain = 'dossier'" in band
        assert f"metric IN ('{metric}')" in band
        assert "expected_low" in band
    rate = mine[1]["fieldConfig"]["defaults"]
    assert rate["thresholds"]["steps"][-1]["value"] == PROFILE.rules.on_time_rate_target
