"""The Helm chart (deploy/helm): linted, rendered, valid Kubernetes, and saying what we mean.

A unit test like the promtool and amtool checks: no cluster, no service. It runs the
same check as ``make helm-check`` (``ioc.tooling.helm_check``: helm built from the Go
module proxy on first use, then lint, template, and the Kubernetes schemas of
kubernetes-validate, offline), then reads the rendered manifests: probes, replicas,
resources, security, where settings and secrets go, and that they agree with
ioc/settings.py, the topic registry, the compose file and the Prometheus rules.
"""

from __future__ import annotations

import base64
import os
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from ioc.settings import PROJECT_ROOT, Settings
from ioc.tooling import helm_check
from ioc.tooling.helm_check import HelmCheckError, Manifest, Rendered
from schemas.domains import CONTRACTS
from schemas.topics import registry

# The first helm build takes minutes (deploy/local/test.sh builds it before the unit tests).
pytestmark = [pytest.mark.unit, pytest.mark.timeout(1_800)]

CHART = helm_check.CHART
ONE_REPLICA = {"mqtt-bridge", "outbox-poller", "alerter"}
PROCESSES = {
    "worker": ["ioc", "worker"],
    "sink": ["ioc", "sink"],
    "alerter": ["ioc", "alerter"],
    "http-gateway": ["ioc", "connector", "http", "serve"],
    "mqtt-bridge": ["ioc", "connector", "mqtt"],
    "outbox-poller": ["ioc", "connector", "outbox", "run"],
    "notify": ["ioc", "notify"],
}


@pytest.fixture(scope="module")
def helm() -> Path:
    return helm_check.ensure_helm(log=lambda *_: None)


@pytest.fixture(scope="module")
def results(helm: Path) -> list[Rendered]:
    return helm_check.check(log=lambda *_: None)


def _default(results: list[Rendered]) -> list[Manifest]:
    return next(r for r in results if r.values is None).manifests


def _of(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def _component(manifest: Manifest) -> str:
    return str(manifest["metadata"]["labels"]["app.kubernetes.io/component"])


def _deployments(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {_component(d): d for d in _of(manifests, "Deployment")}


def _pods(manifests: list[Manifest]) -> Iterator[tuple[str, dict[str, Any]]]:
    for m in manifests:
        if m["kind"] in ("Deployment", "Job"):
            yield f"{m['kind']}/{m['metadata']['name']}", m["spec"]["template"]["spec"]


def _settings_map(manifests: list[Manifest]) -> dict[str, str]:
    (config,) = [m for m in _of(manifests, "ConfigMap") if m["metadata"]["name"].endswith("-settings")
                 and "helm.sh/hook" not in m["metadata"].get("annotations", {})]  # fmt: skip
    data: dict[str, str] = config["data"]
    return data


def test_every_values_file_lints_renders_and_validates(results: list[Rendered]) -> None:
    names = {r.name for r in results}
    assert names == {"default", "operator-managed.yaml"}, names
    assert {r.kubernetes for r in results} == set(helm_check.KUBERNETES_VERSIONS)
    for result in results:
        assert not result.problems, (result.name, result.kubernetes, result.problems)
        kinds = {m["kind"] for m in result.manifests}
        assert {"Deployment", "ConfigMap", "Job", "Service", "PodDisruptionBudget"} <= kinds


def test_the_schema_check_catches_a_wrong_manifest() -> None:
    wrong = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "datta": {}}
    assert helm_check.validate([wrong], "1.31")
    unknown = {"apiVersion": "example.invalid/v1", "kind": "Nothing", "metadata": {"name": "y"}}
    assert helm_check.validate([unknown], "1.31")


def test_chart_version_and_kubernetes_floor() -> None:
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    assert chart["apiVersion"] == "v2"
    assert chart["appVersion"] == project["version"]
    assert chart["kubeVersion"] == f">={helm_check.KUBERNETES_VERSIONS[0]}.0-0"
    dev = " ".join(project["optional-dependencies"]["dev"])
    assert "kubernetes-validate==" in dev


def test_every_process_runs_its_command(results: list[Rendered]) -> None:
    deployments = _deployments(_default(results))
    assert set(deployments) == set(PROCESSES)
    compose = yaml.safe_load((PROJECT_ROOT / "deploy" / "docker-compose.yml").read_text())
    compose_commands = [s.get("command") or [] for s in compose["services"].values()]
    for component, argv in PROCESSES.items():
        (container,) = deployments[component]["spec"]["template"]["spec"]["containers"]
        assert container["command"][: len(argv)] == argv, component
        assert any(c[: len(argv)] == argv for c in compose_commands), argv


def test_probes_mean_something(results: list[Rendered]) -> None:
    for component, deployment in _deployments(_default(results)).items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        ready, live = container["readinessProbe"], container["livenessProbe"]
        assert ready["httpGet"]["port"] in ports
        assert live["httpGet"]["port"] in ports
        # Readiness is the process's own /health (its real state: Kafka link, last write,
        # alerter replayed); liveness never restarts a process for an outside outage.
        assert ready["httpGet"]["path"] == "/health", component
        # ioc notify's /health depends on nothing outside the pod (its delivery workers).
        expected_live = {"worker": "/health", "http-gateway": "/openapi.json", "notify": "/health"}
        assert live["httpGet"]["path"] == expected_live.get(component, "/metrics"), component


def test_ports_are_the_settings_the_processes_read(
    results: list[Rendered], monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in [k for k in os.environ if k.startswith("IOC_")]:
        monkeypatch.delenv(key)
    settings = _settings_map(_default(results))
    port_setting = {
        "worker": "IOC_STREAM_METRICS_PORT", "sink": "IOC_SINK_METRICS_PORT",
        "alerter": "IOC_ALERTER_METRICS_PORT", "http-gateway": "IOC_HTTP_PORT",
        "mqtt-bridge": "IOC_MQTT_METRICS_PORT", "outbox-poller": "IOC_OUTBOX_METRICS_PORT",
        "notify": "IOC_NOTIFY_PORT",
    }  # fmt: skip
    defaults = Settings(_env_file=None).env_vars()  # type: ignore[call-arg]
    for component, deployment in _deployments(_default(results)).items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        (port,) = container["ports"]
        name = port_setting[component]
        assert str(port["containerPort"]) == settings[name] == defaults[name], component
    # In a pod, /metrics and /health must answer the kubelet and Prometheus, not 127.0.0.1.
    assert settings["IOC_METRICS_HOST"] == "0.0.0.0"
    assert settings["IOC_HTTP_HOST"] == "0.0.0.0"
    assert settings["IOC_NOTIFY_HOST"] == "0.0.0.0"


def test_replicas_and_group_semantics(results: list[Rendered]) -> None:
    prod_partitions = {s.partitions_prod for s in registry() if s.name in
                       {c.topic for c in CONTRACTS.values()}}  # fmt: skip
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert prod_partitions == {values["kafka"]["sourcePartitions"]}
    for result in results:
        deployments = _deployments(result.manifests)
        for component in ONE_REPLICA:
            spec = deployments[component]["spec"]
            assert spec["replicas"] == 1, component
            assert spec["strategy"] == {"type": "Recreate"}, component
        worker = deployments["worker"]["spec"]
        assert 1 <= worker["replicas"] <= values["kafka"]["sourcePartitions"]
        pdbs = {_component(p): p for p in _of(result.manifests, "PodDisruptionBudget")}
        selector = pdbs["worker"]["spec"]["selector"]["matchLabels"]
        assert selector == worker["selector"]["matchLabels"]
        assert pdbs["worker"]["spec"]["maxUnavailable"] == 1


def test_the_chart_refuses_what_would_run_wrong(helm: Path) -> None:
    refused = {
        "--set=worker.replicas=13": "kafka.sourcePartitions",
        "--set=settings.pii_hmac_key=x": "is a secret",
        "--set=settings.kafka_host=x": "",  # allowed: not wired, just unused
        "--set=settings.metrics_host=127.0.0.1": "wired by the chart",
        "--set=secrets.values.no_such_secret=x": "is not a secret",
        "--set=clickhouse.host=": "clickhouse.host",
    }
    for option, message in refused.items():
        if not message:
            helm_check.render(helm, None, "1.31", option)
            continue
        with pytest.raises(HelmCheckError, match=re.escape(message)):
            helm_check.render(helm, None, "1.31", option)


def test_every_container_has_resources_and_runs_locked_down(results: list[Rendered]) -> None:
    for result in results:
        for where, pod in _pods(result.manifests):
            assert pod["securityContext"]["runAsNonRoot"] is True, where
            assert isinstance(pod["securityContext"]["runAsUser"], int), where  # image: USER ioc
            assert pod["automountServiceAccountToken"] is False, where
            mounts_of_pod = {v["name"] for v in pod["volumes"]}
            for container in pod["containers"]:
                context = container["securityContext"]
                assert context["readOnlyRootFilesystem"] is True, where
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["capabilities"]["drop"] == ["ALL"], where
                requests = container["resources"]["requests"]
                assert {"cpu", "memory"} <= set(requests), where
                assert "memory" in container["resources"]["limits"], where
                assert "cpu" not in container["resources"]["limits"], where  # no throttling
                mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                assert {"/data", "/tmp"} <= set(mounts), where  # IOC_DATA_DIR, HOME
                assert set(mounts.values()) <= mounts_of_pod, where


def test_settings_are_settings_and_secrets_stay_out_of_the_configmap(
    results: list[Rendered],
) -> None:
    fields = {f"IOC_{name.upper()}" for name in Settings.model_fields}
    secret_fields = {
        name for name, info in Settings.model_fields.items() if info.annotation is SecretStr
    }
    helpers = (CHART / "templates" / "_helpers.tpl").read_text()
    listed = re.search(r'define "ioc.secretNames".*?list (.*?) \| toJson', helpers, re.S)
    assert listed, "ioc.secretNames not found"
    assert set(re.findall(r'"([a-z_]+)"', listed.group(1))) == secret_fields
    for result in results:
        for config in _of(result.manifests, "ConfigMap"):
            keys = set(config["data"])
            assert keys <= fields, keys - fields
            assert not keys & {f"IOC_{s.upper()}" for s in secret_fields}


def test_the_configmap_is_what_the_settings_read(
    results: list[Rendered], monkeypatch: pytest.MonkeyPatch
) -> None:
    example = next(r for r in results if r.name == "operator-managed.yaml").manifests
    for key in [k for k in os.environ if k.startswith("IOC_")]:
        monkeypatch.delenv(key)
    for key, value in _settings_map(example).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("IOC_SECRETS_DIR")  # the Secret's files are not here; given below
    strong = {name: SecretStr("s" * 48) for name in ("pii_hmac_key",
              "clickhouse_migrator_password", "clickhouse_sink_password",
              "clickhouse_replay_password", "clickhouse_reader_password",
              "clickhouse_grafana_password", "postgres_password", "outbox_password", "grafana_token",
              "mqtt_password", "kafka_password",
              "prometheus_web_password", "alertmanager_web_password")}  # fmt: skip
    settings = Settings(**strong)  # type: ignore[arg-type]
    assert settings.environment == "prod"
    assert settings.partition_profile == "prod"
    assert len(settings.kafka_bootstrap.split(",")) == 3
    assert settings.clickhouse_host.startswith("clickhouse-")
    # The operator's installation is one shard of two replicas (decision 0036).
    assert settings.clickhouse_cluster == "ioc"
    assert len(settings.clickhouse_alt_hosts.split(",")) == 2


def test_secrets_are_files_in_run_secrets(helm: Path, results: list[Rendered]) -> None:
    marker = "a-very-recognisable-pii-key-0123456789abcdef"
    manifests = helm_check.render(helm, None, "1.31", f"--set=secrets.values.pii_hmac_key={marker}")
    assert not helm_check.validate(manifests, "1.31")
    text = yaml.safe_dump_all(manifests)
    for config in _of(manifests, "ConfigMap"):
        assert marker not in yaml.safe_dump(config)
        assert config["data"]["IOC_SECRETS_DIR"] == "/run/secrets"
    secrets = [s for s in _of(manifests, "Secret") if "ioc_pii_hmac_key" in s["data"]]
    assert len(secrets) == 2  # the release's and the setup hook's copy
    assert all(base64.b64decode(s["data"]["ioc_pii_hmac_key"]).decode() == marker for s in secrets)
    assert marker not in text.replace(base64.b64encode(marker.encode()).decode(), "")
    for where, pod in _pods(manifests):
        (container,) = pod["containers"]
        mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
        assert mounts["/run/secrets"]["readOnly"] is True, where
    # An existing Secret: mounted by name, nothing of it rendered.
    example = next(r for r in results if r.name == "operator-managed.yaml").manifests
    assert not [s for s in _of(example, "Secret")]
    for where, pod in _pods(example):
        names = {v.get("secret", {}).get("secretName") for v in pod["volumes"]}
        assert "ioc-pipeline-secrets" in names, where
    # Without any secret: no IOC_SECRETS_DIR (a named directory that is missing is an error).
    assert "IOC_SECRETS_DIR" not in _settings_map(_default(results))


def test_setup_job_migrates_and_creates_topics_before_the_release(results: list[Rendered]) -> None:
    for result in results:
        (job,) = _of(result.manifests, "Job")
        hooks = job["metadata"]["annotations"]["helm.sh/hook"]
        assert set(hooks.split(",")) == {"pre-install", "pre-upgrade"}
        script = job["spec"]["template"]["spec"]["containers"][0]["command"][-1]
        setup = (PROJECT_ROOT / "deploy" / "compose" / "setup.sh").read_text()
        steps = (
            "ioc db migrate",
            "ioc db panel-access",
            "ioc topics create",
            "ioc db load-entities",
        )
        for step in steps:
            assert step in script, step
            assert step in setup, step
        (config,) = [m for m in _of(result.manifests, "ConfigMap")
                     if m["metadata"].get("annotations", {}).get("helm.sh/hook")]  # fmt: skip
        weight = int(config["metadata"]["annotations"]["helm.sh/hook-weight"])
        assert weight < int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
        assert config["data"] == _settings_map(result.manifests)


def test_scrape_jobs_are_the_ones_the_rules_name(results: list[Rendered]) -> None:
    prometheus = (PROJECT_ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text()
    jobs = set(re.findall(r"job_name: (ioc-[a-z]+)", prometheus))
    seen = set()
    for deployment in _of(_default(results), "Deployment"):
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        seen.add(annotations["prometheus.io/job"])
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert int(annotations["prometheus.io/port"]) == container["ports"][0]["containerPort"]
    assert seen == jobs


def test_alertmanager_reaches_notify_through_its_service(
    helm: Path, results: list[Rendered]
) -> None:
    """The notify Service selects the notify pods on the port they listen on; with a
    NetworkPolicy, that port admits Alertmanager (notifyFrom) and Prometheus (metricsFrom)."""
    manifests = _default(results)
    (container,) = _deployments(manifests)["notify"]["spec"]["template"]["spec"]["containers"]
    services = {s["metadata"]["name"]: s for s in _of(manifests, "Service")}
    service = services["ioc-pipeline-notify"]["spec"]
    assert service["selector"]["app.kubernetes.io/component"] == "notify"
    (port,) = service["ports"]
    assert port["targetPort"] == container["ports"][0]["name"] == "http"
    assert port["port"] == container["ports"][0]["containerPort"] == 9096
    peer = "--set=networkPolicy.notifyFrom[0].podSelector.matchLabels.app=alertmanager"
    rendered = helm_check.render(helm, None, "1.31", "--set=networkPolicy.enabled=true", peer)
    assert not helm_check.validate(rendered, "1.31")
    (policy,) = _of(rendered, "NetworkPolicy")
    rules = policy["spec"]["ingress"]
    metrics = next(r for r in rules if "from" not in r)  # metricsFrom: [] = any source
    assert {"port": 9096, "protocol": "TCP"} in metrics["ports"]
    webhook = next(r for r in rules if r.get("from"))
    assert webhook["ports"] == [{"port": 9096, "protocol": "TCP"}]
    assert webhook["from"] == [{"podSelector": {"matchLabels": {"app": "alertmanager"}}}]
    disabled = helm_check.render(helm, None, "1.31", "--set=notify.enabled=false")
    assert "notify" not in _deployments(disabled)


def test_each_kafka_client_pod_logs_in_as_its_own_user(results: list[Rendered]) -> None:
    manifests = next(r for r in results if r.name == "operator-managed.yaml").manifests
    users: dict[str, str] = {}
    for kind in ("Deployment", "StatefulSet", "Job"):
        for item in _of(manifests, kind):
            container = item["spec"]["template"]["spec"]["containers"][0]
            env = {e["name"]: e for e in container.get("env", [])}
            if "IOC_KAFKA_USERNAME" not in env:
                continue
            user = env["IOC_KAFKA_USERNAME"]["value"]
            users[container["name"]] = user
            ref = env["IOC_KAFKA_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert ref == {"name": user, "key": "password"}  # Strimzi's KafkaUser Secret
    assert users == {
        "http-gateway": "ioc-gateway", "mqtt-bridge": "ioc-bridge", "outbox-poller": "ioc-outbox",
        "worker": "ioc-worker", "sink": "ioc-sink", "alerter": "ioc-alerter", "setup": "ioc-admin",
    }  # fmt: skip
