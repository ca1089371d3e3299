"""``ioc grafana push``: publish data sources, the IOC folder and dashboards over Grafana's API.

Idempotent: each object is read first and written only when it differs, and the report
says what was (or, with ``--dry-run``, would be) created, updated or left alone.
Dashboards carry no alert rules: anomalies page people through Alertmanager only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from ioc.ops.grafana import provisioning
from ioc.ops.grafana.uids import FOLDER_UID
from ioc.settings import Settings
from schemas.errors import IocError, ServiceUnavailableError

Action = Literal["create", "update", "unchanged"]
# Grafana adds these to what it stores; they are not ours to compare.
_DASHBOARD_NOISE = {"id", "version", "iteration"}
_DATASOURCE_KEYS = ("name", "type", "access", "url", "isDefault", "jsonData")


class GrafanaPushError(IocError):
    """Grafana refused a change (bad payload, no permission)."""


@dataclass(frozen=True, slots=True)
class Change:
    kind: Literal["folder", "datasource", "dashboard"]
    uid: str
    title: str
    action: Action
    detail: str = ""


def client(settings: Settings) -> GrafanaApi:
    """A grafana-client for the configured Grafana (token, else user and password)."""
    token = settings.grafana_token.get_secret_value()
    credential: str | tuple[str, str] = token or (
        settings.grafana_user,
        settings.grafana_password.get_secret_value(),
    )
    api: GrafanaApi = GrafanaApi.from_url(settings.grafana_url, credential=credential, timeout=10.0)
    return api


def _get(call: Any, *args: Any) -> dict[str, Any] | None:
    """An object, or None when Grafana says 404."""
    try:
        found: dict[str, Any] = call(*args)
    except GrafanaClientError as exc:
        if exc.status_code == 404:
            return None
        raise GrafanaPushError(f"Grafana: {exc.message}") from exc
    except GrafanaException as exc:
        raise ServiceUnavailableError(f"Grafana: {exc.message}") from exc
    except OSError as exc:  # connection errors of grafana-client's HTTP library
        raise ServiceUnavailableError(f"Grafana not reachable: {exc}") from exc
    return found


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _datasource_differs(wanted: dict[str, Any], current: dict[str, Any]) -> list[str]:
    differing = [
        k for k in _DATASOURCE_KEYS if _canonical(wanted.get(k)) != _canonical(current.get(k))
    ]
    # Secrets cannot be read back: a missing one is a difference, a set one is trusted.
    secure = current.get("secureJsonFields") or {}
    differing += [f"secure {k}" for k in wanted.get("secureJsonData", {}) if not secure.get(k)]
    return differing


def _strip(dashboard: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in dashboard.items() if k not in _DASHBOARD_NOISE}


def _dashboard_differs(wanted: dict[str, Any], current: dict[str, Any]) -> bool:
    return _canonical(_strip(wanted)) != _canonical(_strip(current))


def plan_and_apply(
    api: GrafanaApi,
    settings: Settings,
    dashboards: Sequence[dict[str, Any]],
    *,
    dry_run: bool,
) -> list[Change]:
    """Compare every object with Grafana; write the differences unless ``dry_run``."""
    changes: list[Change] = []
    folder = _get(api.folder.get_folder, FOLDER_UID)
    folder_action: Action = "unchanged" if folder is not None else "create"
    changes.append(Change("folder", FOLDER_UID, provisioning.FOLDER_TITLE, folder_action))
    if folder is None and not dry_run:
        _write(api.folder.create_folder, provisioning.FOLDER_TITLE, FOLDER_UID)

    for datasource in provisioning.datasources():
        wanted = provisioning.fill(datasource, settings)
        current = _get(api.datasource.get_datasource_by_uid, wanted["uid"])
        if current is None:
            changes.append(Change("datasource", wanted["uid"], wanted["name"], "create"))
            if not dry_run:
                _write(api.datasource.create_datasource, wanted)
            continue
        differing = _datasource_differs(wanted, current)
        action: Action = "update" if differing else "unchanged"
        changes.append(
            Change("datasource", wanted["uid"], wanted["name"], action, ", ".join(differing))
        )
        if differing and not dry_run:
            _write(api.datasource.update_datasource_by_uid, wanted["uid"], wanted)

    for dashboard in dashboards:
        current = _get(api.dashboard.get_dashboard, dashboard["uid"])
        if current is None:
            action = "create"
        else:
            moved = (current.get("meta") or {}).get("folderUid") != FOLDER_UID
            action = (
                "update"
                if moved or _dashboard_differs(dashboard, current["dashboard"])
                else "unchanged"
            )
        changes.append(Change("dashboard", dashboard["uid"], dashboard["title"], action))
        if action != "unchanged" and not dry_run:
            payload = {
                "dashboard": {**dashboard, "id": None},
                "folderUid": FOLDER_UID,
                "overwrite": True,
                "message": "ioc grafana push",
            }
            _write(api.dashboard.update_dashboard, payload)
    return changes


def _write(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except GrafanaClientError as exc:
        raise GrafanaPushError(f"Grafana refused: {exc.message}") from exc
    except GrafanaException as exc:
        raise ServiceUnavailableError(f"Grafana: {exc.message}") from exc
    except OSError as exc:  # connection errors of grafana-client's HTTP library
        raise ServiceUnavailableError(f"Grafana not reachable: {exc}") from exc


def offline_plan(dashboards: Sequence[dict[str, Any]]) -> list[Change]:
    """What push would publish, when Grafana cannot be asked what it has."""
    changes = [
        Change("folder", FOLDER_UID, provisioning.FOLDER_TITLE, "create", "Grafana not reachable")
    ]
    changes += [
        Change("datasource", d["uid"], d["name"], "create", "Grafana not reachable")
        for d in provisioning.datasources()
    ]
    changes += [
        Change("dashboard", d["uid"], d["title"], "create", "Grafana not reachable")
        for d in dashboards
    ]
    return changes
