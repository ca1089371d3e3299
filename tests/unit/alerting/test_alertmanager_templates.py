"""Alertmanager's own e-mail and Telegram messages (deploy/alertmanager/templates), in
Vietnamese and English: they parse (amtool check-config on the rendered production
config), they render Alertmanager's template data (amtool template render, the same JSON
as a webhook), and they say what ``ioc notify`` says, line for line where both can.

amtool comes with the Debian package of the local stack, as for test_alerting_configs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from connectors.sinks.notify.message import TemplateConfig, render
from connectors.sinks.notify.payload import parse
from tests.notify_fakes import anomaly_alert, pipeline_alert, webhook_body
from tests.unit.alerting.test_alerting_configs import render_with, run

pytestmark = pytest.mark.unit

BASE = "https://docs.ioc.test/"
SHARED = ("Ở đâu", "Từ lúc", "Đến lúc", "Biểu đồ", "Hướng dẫn xử lý", "Chi tiết",
          "Where", "Since", "Until", "Dashboard", "Runbook", "Details")  # fmt: skip


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("am") / "alertmanager.yml"
    config = render_alertmanager_env(target)
    assert "ioc.vi.telegram" in config  # IOC_NOTIFY_LANGUAGE=vi picked the Vietnamese ones
    out = run("amtool", "check-config", str(target))
    assert "1 templates" in out
    assert "SUCCESS" in out
    return target.parent / "templates"


def render_alertmanager_env(target: Path) -> str:
    """The production config, with a runbook base URL of the test's."""
    command = f'render_alertmanager_config "{target}"'
    return render_with(
        command, target, IOC_ALERTMANAGER_RECEIVERS="production", IOC_NOTIFY_RUNBOOK_BASE_URL=BASE
    )


def amtool_render(templates: Path, data: dict[str, object], name: str, kind: str = "text") -> str:
    source = templates.parent / f"{name}.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    return run(
        "amtool", "template", "render", f"--template.glob={templates}/*.tmpl",
        f"--template.data={source}", f"--template.type={kind}",
        f'--template.text={{{{ template "{name}" . }}}}',
    )  # fmt: skip


BODIES = {
    "anomaly": webhook_body(
        anomaly_alert(),
        anomaly_alert(
            status="resolved",
            endsAt="2026-12-07T09:00:00Z",
            labels={"entity": "EM-0002", "anomaly_id": "an-2"},
        ),
    ),
    "pipeline": webhook_body(pipeline_alert()),
}


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize("body", sorted(BODIES))
def test_the_text_says_what_ioc_notify_says(templates: Path, language: str, body: str) -> None:
    data = BODIES[body]
    ours = render(parse(data), TemplateConfig(language=language, runbook_base_url=BASE)).text
    theirs = amtool_render(templates, data, f"ioc.{language}.text")
    ours_lines = ours.splitlines()
    theirs_lines = theirs.strip().splitlines()
    assert theirs_lines[0] == ours_lines[0]  # the header: status, severity, domain
    for line in ours_lines:
        if line.startswith(SHARED):
            assert line in theirs_lines, (line, theirs)
    subject = amtool_render(templates, data, f"ioc.{language}.subject")
    assert subject.strip() == render(parse(data), TemplateConfig(language=language)).subject


@pytest.mark.parametrize("language", ["vi", "en"])
def test_telegram_and_html_render(templates: Path, language: str) -> None:
    data = BODIES["anomaly"]
    telegram = amtool_render(templates, data, f"ioc.{language}.telegram")
    assert telegram.startswith("<b>🔴 [")
    assert telegram.count("<b>") == telegram.count("</b>")
    page = amtool_render(templates, data, f"ioc.{language}.html", kind="html")
    assert page.startswith("<html><body>")
    assert "&amp;" in page  # html/template escaped the dashboard link's query
