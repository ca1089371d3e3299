"""`ioc grafana push` against a small in-process fake of Grafana's HTTP API."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from ioc.cli import app
from ioc.ops.grafana.build import dashboards
from ioc.ops.grafana.push import client, plan_and_apply
from ioc.settings import Settings
from schemas.province.loading import DEFAULT_PROFILE, load_profile

pytestmark = pytest.mark.unit


class FakeGrafana:
    """Folders, data sources and dashboards by uid, as Grafana's API returns them."""

    def __init__(self) -> None:
        self.folders: dict[str, dict[str, Any]] = {}
        self.datasources: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.writes: list[tuple[str, str]] = []
        self.auth: set[str] = set()

    def handle(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if method != "GET":
            self.writes.append((method, path))
        if m := re.fullmatch(r"/api/folders/([\w-]+)", path):
            found = self.folders.get(m.group(1))
            return (200, found) if found else (404, {"message": "folder not found"})
        if path == "/api/folders" and method == "POST":
            self.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"]}
            return 200, self.folders[body["uid"]]
        if m := re.fullmatch(r"/api/datasources/uid/([\w-]+)", path):
            uid = m.group(1)
            if method == "PUT":
                self._store_datasource(body)
                return 200, {"message": "Datasource updated"}
            found = self.datasources.get(uid)
            return (200, found) if found else (404, {"message": "Data source not found"})
        if path == "/api/datasources" and method == "POST":
            self._store_datasource(body)
            return 200, {"message": "Datasource added"}
        if m := re.fullmatch(r"/api/dashboards/uid/([\w-]+)", path):
            found = self.dashboards.get(m.group(1))
            return (200, found) if found else (404, {"message": "Dashboard not found"})
        if path == "/api/dashboards/db" and method == "POST":
            dash = dict(body["dashboard"])
            previous = self.dashboards.get(dash["uid"], {}).get("dashboard", {})
            dash["id"], dash["version"] = 7, previous.get("version", 0) + 1
            self.dashboards[dash["uid"]] = {
                "dashboard": dash,
                "meta": {"folderUid": body["folderUid"]},
            }
            return 200, {"status": "success", "uid": dash["uid"]}
        return 404, {"message": f"no route {method} {path}"}

    def _store_datasource(self, body: dict[str, Any]) -> None:
        stored = {k: v for k, v in body.items() if k != "secureJsonData"}
        stored["secureJsonFields"] = {k: True for k in body.get("secureJsonData", {})}
        stored["id"] = len(self.datasources) + 1
        self.datasources[body["uid"]] = stored


@pytest.fixture
def grafana() -> Iterator[tuple[FakeGrafana, str]]:
    fake = FakeGrafana()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            fake.auth.add(self.headers.get("Authorization", ""))
            status, payload = fake.handle(self.command, self.path.split("?")[0], body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def do_PUT(self) -> None:
            self._serve()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def wanted(language: str = "en") -> list[dict[str, Any]]:
    profile = load_profile(DEFAULT_PROFILE)
    return [d.to_json(language, profile.timezone) for d in dashboards(profile)]  # type: ignore[arg-type]


def test_first_push_creates_then_nothing_changes(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    settings = Settings(grafana_url=url, grafana_user="ops", grafana_password="pw")
    api = client(settings)
    first = plan_and_apply(api, settings, wanted(), dry_run=False)
    assert {c.action for c in first} == {"create"}
    assert len(fake.dashboards) == 7
    assert set(fake.datasources) == {
        "ioc-clickhouse",
        "ioc-prometheus",
    }
    assert (
        fake.datasources["ioc-clickhouse"]["jsonData"]["username"]
        == settings.clickhouse_grafana_user
    )
    assert all(d["meta"]["folderUid"] == "ioc" for d in fake.dashboards.values())
    assert "Basic " + base64.b64encode(b"ops:pw").decode() in fake.auth

    second = plan_and_apply(api, settings, wanted(), dry_run=False)
    assert {c.action for c in second} == {"unchanged"}

    changed = wanted()
    changed[2]["title"] = "renamed"
    third = plan_and_apply(api, settings, changed, dry_run=False)
    assert [(c.uid, c.action) for c in third if c.action != "unchanged"] == [
        ("ioc-energy", "update")
    ]
    assert fake.dashboards["ioc-energy"]["dashboard"]["title"] == "renamed"


def test_dry_run_writes_nothing(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    settings = Settings(grafana_url=url, grafana_token="tok")
    plan = plan_and_apply(client(settings), settings, wanted(), dry_run=True)
    assert {c.action for c in plan} == {"create"}
    assert fake.writes == []
    assert "Bearer tok" in fake.auth


def test_changed_datasource_is_updated(grafana: tuple[FakeGrafana, str]) -> None:
    fake, url = grafana
    settings = Settings(grafana_url=url)
    plan_and_apply(client(settings), settings, wanted(), dry_run=False)
    moved = Settings(grafana_url=url, clickhouse_host="10.0.0.5")
    plan = plan_and_apply(client(moved), moved, wanted(), dry_run=False)
    updated = [c for c in plan if c.action == "update"]
    assert [(c.uid, c.detail) for c in updated] == [("ioc-clickhouse", "jsonData")]
    assert fake.datasources["ioc-clickhouse"]["jsonData"]["host"] == "10.0.0.5"


def test_cli_dry_run_without_grafana_prints_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_GRAFANA_URL", "http://127.0.0.1:9")  # nothing listens there
    result = CliRunner().invoke(app, ["grafana", "push", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "ioc-overview" in result.output
    assert "10 create" in result.output


def test_cli_push_without_grafana_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_GRAFANA_URL", "http://127.0.0.1:9")
    result = CliRunner().invoke(app, ["grafana", "push"])
    assert result.exit_code != 0
