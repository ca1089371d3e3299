"""Prometheus rules and config, and the Alertmanager config, checked by their own tools.

promtool and amtool come with the Debian packages of the local stack; the configs are
templates, rendered here by the same bash function deploy/local/*.sh use.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from ioc.ops.grafana.dashboards.pipeline import PANELS, build
from ioc.settings import PROJECT_ROOT, Settings
from schemas.province.loading import load_profile

pytestmark = pytest.mark.unit

PROMETHEUS = PROJECT_ROOT / "deploy" / "prometheus"
ALERTMANAGER = PROJECT_ROOT / "deploy" / "alertmanager" / "alertmanager.yml"


def run(*argv: str, cwd: Path = PROJECT_ROOT) -> str:
    result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout + result.stderr


def render(template: Path, target: Path, **env: str) -> str:
    """deploy/local/lib.sh render_template, with the settings loaded as the scripts do."""
    return render_with(f'render_template "{template}" "{target}"', target, **env)


def render_alertmanager(target: Path, receivers: str) -> str:
    """deploy/local/lib.sh render_alertmanager_config: the routing tree + one receivers file."""
    command = f'render_alertmanager_config "{target}"'
    return render_with(command, target, IOC_ALERTMANAGER_RECEIVERS=receivers)


def render_with(command: str, target: Path, **env: str) -> str:
    script = f"source deploy/local/lib.sh; load_settings; {command}"
    environ = {
        **os.environ,
        "IOC_LOCAL_SETTINGS_LOADED": "",
        "IOC_DATA_DIR": str(target.parent),
        **env,
    }
    result = subprocess.run(
        ["bash", "-c", script], cwd=PROJECT_ROOT, env=environ, capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return target.read_text()


RULE_FILES = sorted((PROMETHEUS / "rules").glob("*.yml"))
RULES = {p.stem: p for p in RULE_FILES}


def alert_names(rules: Path) -> set[str]:
    return set(re.findall(r"- alert: (\w+)", rules.read_text()))


def test_the_rule_files_are_the_pipeline_and_the_platform() -> None:
    assert set(RULES) == {"pipeline", "platform"}


@pytest.mark.parametrize("name", sorted(RULES))
def test_promtool_check_rules(name: str) -> None:
    out = run("promtool", "check", "rules", str(RULES[name]))
    assert "SUCCESS" in out


@pytest.mark.parametrize("name", sorted(RULES))
def test_promtool_unit_tests_of_the_rules(name: str) -> None:
    out = run("promtool", "test", "rules", str(PROMETHEUS / "tests" / f"{name}_test.yml"))
    assert "SUCCESS" in out


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_has_a_promtool_test_and_a_runbook_section(name: str) -> None:
    rules = RULES[name].read_text()
    tests = (PROMETHEUS / "tests" / f"{name}_test.yml").read_text()
    names = alert_names(RULES[name])
    tested = set(re.findall(r"alertname: (\w+)", tests))
    assert names == tested, f"rules without a promtool test: {names - tested}"
    runbook = (PROJECT_ROOT / "docs" / "runbook.md").read_text()
    for alert in names:
        assert f"## {alert}\n" in runbook, f"docs/runbook.md has no section for {alert}"
    for anchor in re.findall(r"runbook: \"docs/runbook.md#(\w+)\"", rules):
        assert anchor in {n.lower() for n in names}


def test_every_health_alert_of_the_issues_has_a_rule() -> None:
    names = set().union(*(alert_names(p) for p in RULE_FILES))
    assert {
        "IocConsumerLagGrowing", "IocSinkFailing", "IocStreamNoData", "IocDeadLetterSpike",
        "IocWorkerDown", "IocAlerterDown", "IocWatchdog", "IocNotifyDown", "IocNotifyDeliveryFailing",
        # issue 19, part 3: the platform
        "IocKafkaBrokerDown", "IocKafkaUnderReplicatedPartitions", "IocClickHouseDown",
        "IocClickHouseInsertErrors", "IocDiskAlmostFull",
    } <= names  # fmt: skip


def test_prometheus_config_scrapes_every_process(tmp_path: Path) -> None:
    template = (PROMETHEUS / "prometheus.yml").read_text()
    ports = {f"IOC_{n.upper()}" for n in Settings.model_fields if n.endswith("_metrics_port")}
    ports |= {"IOC_HTTP_PORT", "IOC_NOTIFY_PORT"}  # /metrics beside their own API
    # Kafka's nodes: one target each, derived from IOC_KAFKA_METRICS_PORT (lib.sh)
    ports = (ports - {"IOC_KAFKA_METRICS_PORT"}) | {"KAFKA_METRICS_TARGETS"}
    missing = {p for p in ports if "${" + p + "}" not in template}
    assert not missing, f"a process's metrics port is not scraped: {missing}"
    rendered = render(PROMETHEUS / "prometheus.yml", tmp_path / "prometheus.yml")
    assert not re.search(r"\$\{[A-Z0-9_]+\}", rendered)
    kafka = next(j for j in yaml.safe_load(rendered)["scrape_configs"] if j["job_name"] == "kafka")
    assert kafka["static_configs"][0]["targets"] == ["127.0.0.1:9404"]
    three = render(PROMETHEUS / "prometheus.yml", tmp_path / "p3.yml", IOC_KAFKA_BROKERS="3")
    kafka = next(j for j in yaml.safe_load(three)["scrape_configs"] if j["job_name"] == "kafka")
    assert kafka["static_configs"][0]["targets"] == [
        "127.0.0.1:9404", "127.0.0.1:9504", "127.0.0.1:9604"
    ]  # fmt: skip
    out = run("promtool", "check", "config", str(tmp_path / "prometheus.yml"))
    assert "SUCCESS" in out
    assert f"{len(RULE_FILES)} rule files found" in out
    for rules in RULE_FILES:
        assert f"{rules}\n  SUCCESS: {len(alert_names(rules))} rules found" in out


@pytest.fixture(params=["local", "production"])
def alertmanager_config(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """The rendered config with each set of receivers: both must route the same way."""
    target = tmp_path / "alertmanager.yml"
    render_alertmanager(target, request.param)
    return target


def receivers_of(text: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in yaml.safe_load(text)["receivers"]}


def test_local_receivers_reach_nothing_outside_this_machine(tmp_path: Path) -> None:
    config = yaml.safe_load(render_alertmanager(tmp_path / "am.yml", "local"))
    assert not any(key.startswith(("smtp_", "telegram_", "slack_")) for key in config["global"])
    for receiver in config["receivers"]:
        kinds = {k for k in receiver if k.endswith("_configs")}
        if receiver["name"] == "ioc-watchdog":
            assert kinds == set()  # the heartbeat has nowhere to go on one machine
            continue
        assert kinds == {"webhook_configs"}, receiver["name"]
        for hook in receiver["webhook_configs"]:
            host = urlsplit(hook["url"]).hostname
            assert host in {"127.0.0.1", "localhost", "::1"}, (receiver["name"], hook["url"])


def test_production_receivers_page_by_webhook_mail_and_telegram(tmp_path: Path) -> None:
    receivers = receivers_of(render_alertmanager(tmp_path / "am.yml", "production"))
    assert {"webhook_configs", "email_configs"} <= receivers["ioc-energy"].keys()
    assert "telegram_configs" in receivers["ioc-energy-critical"]
    assert "telegram_configs" not in receivers["ioc-dossier"]  # public services: no pager


def test_both_receiver_sets_define_the_same_names(tmp_path: Path) -> None:
    local = receivers_of(render_alertmanager(tmp_path / "local.yml", "local"))
    production = receivers_of(render_alertmanager(tmp_path / "prod.yml", "production"))
    assert local.keys() == production.keys()


def test_an_unknown_receiver_set_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(AssertionError, match="names no file"):
        render_alertmanager(tmp_path / "am.yml", "telegram-only")


def test_amtool_check_config(alertmanager_config: Path) -> None:
    out = run("amtool", "check-config", str(alertmanager_config))
    assert "SUCCESS" in out
    assert "11 receivers" in out
    assert "9 inhibit rules" in out


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        ("source=ioc-alerter domain=energy severity=critical", "ioc-energy-critical"),
        ("source=ioc-alerter domain=energy severity=warning", "ioc-energy"),
        ("source=ioc-alerter domain=traffic severity=critical", "ioc-traffic-critical"),
        ("source=ioc-alerter domain=qr severity=warning", "ioc-qr"),
        ("source=ioc-alerter domain=dossier severity=critical", "ioc-dossier"),
        ("team=pipeline severity=critical alertname=IocWorkerDown", "ioc-pipeline-critical"),
        ("team=pipeline severity=warning alertname=IocStreamNoData", "ioc-pipeline"),
        ("team=platform severity=critical alertname=IocKafkaBrokerDown", "ioc-pipeline-critical"),
        ("team=platform severity=warning alertname=IocDiskFillingUp", "ioc-pipeline"),
        ("alertname=Unknown", "ioc-default"),
        ("alertname=IocWatchdog severity=none team=watchdog", "ioc-watchdog"),
    ],
)
def test_routes_by_domain_and_severity(
    alertmanager_config: Path, labels: str, receiver: str
) -> None:
    out = run(
        "amtool",
        "config",
        "routes",
        "test",
        f"--config.file={alertmanager_config}",
        *labels.split(),
    )
    assert out.splitlines()[0].strip() == receiver


def test_grouping_and_inhibition_as_the_design_says(alertmanager_config: Path) -> None:
    text = alertmanager_config.read_text()
    assert "group_by: [alertname, domain, group]" in text  # a feeder's meters: one notification
    assert "equal: [domain, entity]" in text  # critical mutes warnings of the same entity


def test_health_panels_draw_their_alert_where_the_rule_fires() -> None:
    """The dashed red line of a pipeline-health panel is the very value its rule compares
    with, and the panel's series is the one the rule watches."""
    rules = {
        rule["alert"]: rule
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    }
    drawn = [p for p in PANELS if p.alert is not None]
    assert {p.alert.name for p in drawn if p.alert} == {
        "IocConsumerLagGrowing", "IocSinkFallingBehind", "IocKafkaUnderReplicatedPartitions",
        "IocKafkaOfflinePartitions", "IocClickHouseTooManyParts", "IocDiskAlmostFull",
    }  # fmt: skip
    for panel in drawn:
        assert panel.alert is not None
        expr = rules[panel.alert.name]["expr"]
        value = rf"{panel.alert.value:g}0*"  # 0.1 is written 0.10 in a rule
        assert re.search(rf"[<>]\s*{value}\b", expr), (panel.alert, expr)
        metric = re.search(r"(ioc|kafka|ClickHouse[A-Za-z]*|node)_[A-Za-z_]+", panel.expr)
        assert metric is not None
        assert metric.group(0) in expr
    dashboard = build(load_profile()).to_json("en", "Asia/Ho_Chi_Minh")
    lag = next(p for p in dashboard["panels"] if p["title"] == "Consumer lag")
    steps = lag["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert steps[-1] == {"color": "red", "value": 1000}
    assert lag["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == {"mode": "dashed"}


def test_notify_rules_and_panels_name_metrics_ioc_notify_exports() -> None:
    """The notify alerts and the pipeline dashboard read series NotifyMetrics registers."""
    from connectors.sinks.notify.metrics import NotifyMetrics
    from ioc.ops.grafana.dashboards.pipeline import UP

    metrics = NotifyMetrics()
    metrics.declare("zalo")
    exported = {sample.name for family in metrics.registry.collect() for sample in family.samples}
    rules = (PROMETHEUS / "rules" / "pipeline.yml").read_text()
    used = set(re.findall(r"ioc_notify_[a-z_]+", rules))
    used |= {m for p in PANELS for m in re.findall(r"ioc_notify_[a-z_]+", p.expr)}
    assert used, "no rule or panel reads ioc notify's metrics"
    assert used <= exported, used - exported
    assert 'up{job="ioc-notify"}' in rules
    assert "ioc-notify" in UP
