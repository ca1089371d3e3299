"""Dashboards as code: the checked-in JSON is what the code renders, and it is well formed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ioc.ops.grafana.build import LANGUAGES, dashboards, render_all, stale, write_all
from ioc.ops.grafana.model import Sql
from ioc.ops.grafana.provisioning import datasources, fill, placeholders
from ioc.ops.grafana.uids import CLICKHOUSE_UID, PROMETHEUS_UID
from ioc.settings import PROJECT_ROOT, Settings
from schemas.province.loading import DEFAULT_PROFILE, load_profile

pytestmark = pytest.mark.unit

PROFILE = load_profile(DEFAULT_PROFILE)
DASHBOARDS_DIR = PROJECT_ROOT / "deploy" / "grafana" / "dashboards"
PROVISIONING_DIR = PROJECT_ROOT / "deploy" / "grafana" / "provisioning"


def test_checked_in_json_is_not_stale() -> None:
    assert stale(PROFILE) == [], "run `ioc grafana build` and commit deploy/grafana/"


def test_build_into_another_directory_writes_the_same_files(tmp_path: Path) -> None:
    written = write_all(PROFILE, tmp_path)
    assert stale(PROFILE, tmp_path) == []
    relative = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    checked_in = sorted(
        p.relative_to(PROJECT_ROOT / "deploy" / "grafana").as_posix()
        for p in (PROJECT_ROOT / "deploy" / "grafana").rglob("*")
        if p.is_file()
    )
    assert relative == checked_in
    for path in written:
        original = PROJECT_ROOT / "deploy" / "grafana" / path.relative_to(tmp_path)
        assert path.read_text(encoding="utf-8") == original.read_text(encoding="utf-8")


def test_every_dashboard_in_both_languages() -> None:
    rendered = render_all(PROFILE)
    by_language = {
        lang: [r.data for r in rendered if r.path.parent.name == lang] for lang in LANGUAGES
    }
    assert set(by_language) == {"vi", "en"}
    for vi, en in zip(by_language["vi"], by_language["en"], strict=True):
        assert vi["uid"] == en["uid"]
        assert vi["title"] != en["title"]
        assert [p["type"] for p in vi["panels"]] == [p["type"] for p in en["panels"]]
        assert [p["title"] for p in vi["panels"]] != [p["title"] for p in en["panels"]]
    assert {r.path.parent for r in rendered} == {DASHBOARDS_DIR / "vi", DASHBOARDS_DIR / "en"}


def test_panels_are_well_formed() -> None:
    for rendered in render_all(PROFILE):
        data = rendered.data
        ids = [p["id"] for p in data["panels"]]
        assert len(ids) == len(set(ids)), data["uid"]
        variables = {v["name"] for v in data["templating"]["list"]}
        for panel in data["panels"]:
            grid = panel["gridPos"]
            assert grid["x"] >= 0, (data["uid"], panel["title"])
            assert grid["x"] + grid["w"] <= 24, (data["uid"], panel["title"])
            assert "alert" not in panel, "anomalies page through Alertmanager, never Grafana"
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] in {CLICKHOUSE_UID, PROMETHEUS_UID}
                sql = target.get("rawSql", "")
                used = set(re.findall(r"\$\{?([a-z]\w*)", sql))
                assert used <= variables, (data["uid"], panel["title"], used - variables)


def test_every_sql_target_declares_its_check() -> None:
    for dashboard in dashboards(PROFILE):
        for _, panel, target in dashboard.sql_targets():
            assert isinstance(target, Sql)
            assert target.check.columns, (dashboard.uid, panel.title.en)


def test_geomap_colours_entities_by_state() -> None:
    overview = next(r.data for r in render_all(PROFILE) if r.data["uid"] == "ioc-overview")
    geomap = next(p for p in overview["panels"] if p["type"] == "geomap")
    layer = geomap["options"]["layers"][-1]
    assert layer["filterData"] == {"id": "byRefId", "options": "A"}
    assert layer["location"] == {"mode": "coords", "latitude": "latitude", "longitude": "longitude"}
    assert layer["config"]["style"]["color"]["field"] == "state"
    steps = geomap["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["color"] for s in steps] == ["green", "blue", "orange", "red"]


def test_on_time_tile_threshold_is_the_profile_target() -> None:
    overview = next(r.data for r in render_all(PROFILE) if r.data["uid"] == "ioc-overview")
    tile = overview["panels"][0]
    steps = tile["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "green", "value": PROFILE.rules.on_time_rate_target}


def test_provisioning_uses_the_read_only_user_and_only_settings() -> None:
    files = sorted(
        p.relative_to(PROVISIONING_DIR).as_posix() for p in PROVISIONING_DIR.rglob("*.yaml")
    )
    assert files == ["dashboards/ioc.yaml", "datasources/ioc.yaml"]  # no alerting/ here
    names = {n[4:].lower() for n in placeholders(datasources())}
    assert names <= set(Settings.model_fields)
    settings = Settings(clickhouse_grafana_user="viewer", clickhouse_grafana_password="s3cret")
    clickhouse = fill(datasources()[0], settings)
    assert clickhouse["jsonData"]["username"] == "viewer"
    assert clickhouse["secureJsonData"]["password"] == "s3cret"
    assert clickhouse["jsonData"]["defaultDatabase"] == settings.clickhouse_database


def test_grafana_reaches_clickhouse_over_tls_with_our_ca() -> None:
    """The data source as Grafana reads it, filled from settings (what the plugin parses)."""
    ca = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    source = datasources()[0]
    assert source["jsonData"]["tlsSkipVerify"] is False  # never: a server not ours is refused
    secure = fill(source, Settings(grafana_clickhouse_ca_cert=ca))
    assert secure["jsonData"]["secure"] == "true"
    assert secure["jsonData"]["tlsAuthWithCACert"] == "true"
    assert secure["jsonData"]["port"] == str(Settings().clickhouse_tls_port) == "9440"
    assert secure["secureJsonData"]["tlsCACert"] == ca  # the PEM, line breaks and all
    plain = fill(source, Settings(grafana_clickhouse_tls=False, grafana_clickhouse_port=9000))
    assert (plain["jsonData"]["secure"], plain["jsonData"]["port"]) == ("false", "9000")
    assert plain["secureJsonData"]["tlsCACert"] == ""
    # The file on disk is what the code renders (ioc grafana build keeps them in step).
    text = (PROVISIONING_DIR / "datasources" / "ioc.yaml").read_text()
    for line in ('secure: "${IOC_GRAFANA_CLICKHOUSE_TLS}"',
                 'tlsAuthWithCACert: "${IOC_GRAFANA_CLICKHOUSE_TLS}"',
                 'port: "${IOC_GRAFANA_CLICKHOUSE_PORT}"',
                 'tlsCACert: "${IOC_GRAFANA_CLICKHOUSE_CA_CERT}"'):  # fmt: skip
        assert line in text, line
