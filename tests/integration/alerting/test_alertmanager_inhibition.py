"""The project's Alertmanager config, in a real Alertmanager: a source that is down mutes
the silence anomalies behind it, and nothing else."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import pytest

from schemas.timeutil import utcnow
from tests.integration.alerting.conftest import PrivateAlertmanager

pytestmark = pytest.mark.integration


def alert(**labels: str) -> dict[str, Any]:
    now = utcnow()
    return {
        "labels": labels,
        "annotations": {"summary": "inhibition test"},
        "startsAt": now.isoformat(),
        "endsAt": (now + timedelta(minutes=5)).isoformat(),
    }


def anomaly(domain: str, metric: str, entity: str) -> dict[str, Any]:
    return alert(
        alertname=f"Ioc{domain.title()}{metric.title().replace('_', '')}",
        source="ioc-alerter",
        domain=domain,
        metric=metric,
        entity=entity,
        severity="warning",
    )


def resolve(am: PrivateAlertmanager, source: dict[str, Any]) -> None:
    """End an alert now, as its sender would (the module shares one Alertmanager)."""
    ended = {**source, "endsAt": utcnow().isoformat()}
    am.post([ended])


def states(am: PrivateAlertmanager, run: str, timeout_s: float = 15) -> dict[str, str]:
    """entity → "active" or "suppressed" for this run's anomalies, once all are there."""
    deadline = time.monotonic() + timeout_s
    found: dict[str, str] = {}
    while time.monotonic() < deadline:
        found = {
            a["labels"]["entity"]: a["status"]["state"]
            for a in am.alerts()
            if a["labels"].get("entity", "").startswith(run)
        }
        if len(found) == 4 and "unprocessed" not in found.values():
            return found
        time.sleep(0.2)
    return found


def states_beside(
    am: PrivateAlertmanager, run: str, source: dict[str, Any], targets: list[dict[str, Any]]
) -> dict[str, str]:
    """Post ``source`` with ``targets``, read the targets' states, then end ``source``."""
    response = am.post([source, *targets])
    assert response.status_code == 200, response.text
    try:
        return states(am, run)
    finally:
        resolve(am, source)


def test_a_source_outage_mutes_only_the_silences_behind_it(
    alertmanager: PrivateAlertmanager,
) -> None:
    run = uuid.uuid4().hex[:8]
    bridge_down = alert(
        alertname="IocConnectorDown", job="ioc-mqtt", instance=f"{run}:9481",
        severity="warning", team="pipeline",
    )  # fmt: skip
    targets = [
        anomaly("energy", "last_seen", f"{run}-EM-1"),  # a meter behind the bridge: muted
        anomaly("traffic", "last_seen", f"{run}-TS-1"),  # a sensor behind the bridge: muted
        anomaly("qr", "last_seen", f"{run}-GATE-1"),  # gates come over HTTP: still pages
        anomaly("energy", "voltage_min_v", f"{run}-EM-2"),  # not a silence: still pages
    ]
    assert states_beside(alertmanager, run, bridge_down, targets) == {
        f"{run}-EM-1": "suppressed",
        f"{run}-TS-1": "suppressed",
        f"{run}-GATE-1": "active",
        f"{run}-EM-2": "active",
    }


def test_a_stream_with_no_data_mutes_the_silences_of_its_domain_only(
    alertmanager: PrivateAlertmanager,
) -> None:
    run = uuid.uuid4().hex[:8]
    # As Prometheus sends it: the rule's templated domain label (rules/pipeline.yml).
    no_energy = alert(
        alertname="IocStreamNoData", job=f"ioc-worker-{run}", stream="energy",
        domain="energy", severity="warning", team="pipeline",
    )  # fmt: skip
    targets = [
        anomaly("energy", "last_seen", f"{run}-EM-1"),
        anomaly("energy", "last_seen", f"{run}-EM-3"),
        anomaly("traffic", "last_seen", f"{run}-TS-1"),
        anomaly("energy", "voltage_min_v", f"{run}-EM-2"),
    ]
    assert states_beside(alertmanager, run, no_energy, targets) == {
        f"{run}-EM-1": "suppressed",
        f"{run}-EM-3": "suppressed",
        f"{run}-TS-1": "active",
        f"{run}-EM-2": "active",
    }


def health(alertname: str, run: str, name: str, severity: str = "warning") -> dict[str, Any]:
    """A pipeline or platform alert; ``entity`` only lets :func:`states` find it."""
    team = "platform" if alertname.startswith(("IocKafka", "IocClickHouse")) else "pipeline"
    return alert(alertname=alertname, team=team, severity=severity, entity=f"{run}-{name}")


def test_clickhouse_down_mutes_what_the_sink_says_about_it_only(
    alertmanager: PrivateAlertmanager,
) -> None:
    run = uuid.uuid4().hex[:8]
    clickhouse_down = alert(
        alertname="IocClickHouseDown", job="clickhouse", instance=f"{run}:9363",
        severity="critical", team="platform",
    )  # fmt: skip
    targets = [
        health("IocSinkFailing", run, "failing"),
        health("IocSinkFallingBehind", run, "behind"),
        health("IocClickHouseInsertErrors", run, "inserts"),
        health("IocWorkerDown", run, "worker", severity="critical"),  # not explained by it
    ]
    assert states_beside(alertmanager, run, clickhouse_down, targets) == {
        f"{run}-failing": "suppressed",
        f"{run}-behind": "suppressed",
        f"{run}-inserts": "suppressed",
        f"{run}-worker": "active",
    }


def test_offline_partitions_mute_pipeline_warnings_and_silences_not_the_rest(
    alertmanager: PrivateAlertmanager,
) -> None:
    run = uuid.uuid4().hex[:8]
    offline = alert(
        alertname="IocKafkaOfflinePartitions", severity="critical", team="platform",
    )  # fmt: skip
    targets = [
        health("IocConsumerLagGrowing", run, "lag"),  # a pipeline warning: muted
        anomaly("energy", "last_seen", f"{run}-EM-1"),  # a silence: muted
        anomaly("energy", "voltage_min_v", f"{run}-EM-2"),  # a real reading: still pages
        health("IocWorkerDown", run, "worker", severity="critical"),  # critical: still pages
    ]
    assert states_beside(alertmanager, run, offline, targets) == {
        f"{run}-lag": "suppressed",
        f"{run}-EM-1": "suppressed",
        f"{run}-EM-2": "active",
        f"{run}-worker": "active",
    }
