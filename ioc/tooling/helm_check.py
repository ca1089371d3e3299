"""``make helm-check``: the Helm chart linted, rendered and validated offline (decision 0026).

1. helm, built from the Go module proxy (``go install helm.sh/helm/v4/cmd/helm@HELM_VERSION``)
   into ``.cache/tools/helm/<version>/``; skipped when that binary says it is that
   version. A build with Go's module and build caches empty took 3 min 20 s and 6 min 11 s
   (two runs on the shared 2-core development machine); with warm caches, 8 s.
2. For the chart's default values and each file of ``deploy/helm/examples/``:
   ``helm lint --strict``, then ``helm template`` for each of KUBERNETES_VERSIONS.
3. Every rendered manifest validated against that Kubernetes version's schemas, which the
   kubernetes-validate package ships (no network), strictly: an unknown field is an
   error, and so is a kind without a schema.

``python -m ioc.tooling.helm_check`` prints one line per values file and exits non-zero
with every problem listed; tests/unit/test_helm_chart.py runs the same and reads the
manifests. Needs Go (on PATH or /usr/local/go/bin) for the first build only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ioc.assets import CHECKOUT_ROOT

HELM_VERSION = "v4.3.2"
HELM_MODULE = "helm.sh/helm/v4/cmd/helm"
KUBERNETES_VERSIONS = ("1.31", "1.37")
"""The oldest Kubernetes the chart supports (Chart.yaml's kubeVersion) and the newest the
pinned kubernetes-validate ships (helm 4.3.2's client-go is 1.37 too)."""
RELEASE = "ioc-pipeline"
NAMESPACE = "ioc"

CHART = CHECKOUT_ROOT / "deploy" / "helm" / "ioc-pipeline"
EXAMPLES = CHART.parent / "examples"
TOOLS = CHECKOUT_ROOT / ".cache" / "tools" / "helm"
GO_FALLBACK = Path("/usr/local/go/bin/go")
BUILD_TIMEOUT_S = 1_800


class HelmCheckError(Exception):
    """The check could not run (no Go, a failed build) or the chart failed it."""


Manifest = dict[str, Any]


@dataclass
class Rendered:
    """One values file rendered for one Kubernetes version."""

    values: Path | None
    kubernetes: str
    manifests: list[Manifest] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """``default`` or the example file's name."""
        return "default" if self.values is None else self.values.name


def go_binary() -> Path:
    """Go from PATH, else /usr/local/go/bin/go; a clear error when there is none."""
    found = shutil.which("go")
    if found:
        return Path(found)
    if GO_FALLBACK.is_file():
        return GO_FALLBACK
    raise HelmCheckError(
        f"Go is needed once, to build helm {HELM_VERSION} from the Go module proxy, and was "
        f"found neither on PATH nor at {GO_FALLBACK}: install Go, or put a helm "
        f"{HELM_VERSION} binary at {TOOLS / HELM_VERSION / 'helm'}"
    )


def _version_of(helm: Path) -> str:
    done = subprocess.run(
        [str(helm), "version", "--template", "{{.Version}}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    return done.stdout.strip() if done.returncode == 0 else ""


def ensure_helm(log: Any = print) -> Path:
    """The pinned helm binary, built with ``go install`` when it is not there yet."""
    target = TOOLS / HELM_VERSION
    helm = target / "helm"
    if helm.is_file() and _version_of(helm) == HELM_VERSION:
        return helm
    go = go_binary()
    log(f"building helm {HELM_VERSION} with {go} (minutes the first time: Go's caches are cold)")
    target.mkdir(parents=True, exist_ok=True)
    # The version is what `helm version` prints (helm's own Makefile sets it the same way);
    # GOTOOLCHAIN=local: build with this Go or fail, never fetch another toolchain.
    ldflags = f"-s -w -X helm.sh/helm/v4/internal/version.version={HELM_VERSION}"
    env = {**os.environ, "GOBIN": str(target), "GOTOOLCHAIN": "local"}
    started = time.monotonic()
    try:
        done = subprocess.run(
            [str(go), "install", f"-ldflags={ldflags}", f"{HELM_MODULE}@{HELM_VERSION}"],
            cwd=target, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as exc:
        raise HelmCheckError(f"go install of helm took over {BUILD_TIMEOUT_S} s") from exc
    if done.returncode != 0 or _version_of(helm) != HELM_VERSION:
        raise HelmCheckError(f"go install of helm {HELM_VERSION} failed:\n{done.stderr[-4000:]}")
    log(f"built {helm} in {time.monotonic() - started:.0f} s")
    return helm


def values_files() -> list[Path | None]:
    """The chart's default values (None) and every example values file."""
    return [None, *sorted(EXAMPLES.glob("*.yaml"))]


def _helm(helm: Path, *args: str) -> str:
    done = subprocess.run(
        [str(helm), *args], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise HelmCheckError(f"helm {' '.join(args)}:\n{done.stdout}{done.stderr}")
    return done.stdout


def lint(helm: Path, values: Path | None) -> None:
    """``helm lint --strict`` (warnings fail too) with these values."""
    extra = ["--values", str(values)] if values else []
    _helm(helm, "lint", "--strict", str(CHART), *extra)


def render(helm: Path, values: Path | None, kubernetes: str, *options: str) -> list[Manifest]:
    """``helm template`` (hooks included) as Python objects, for this Kubernetes version.

    ``options`` go to helm as they are (``--set``, …).
    """
    import yaml

    extra = ["--values", str(values)] if values else []
    text = _helm(
        helm, "template", RELEASE, str(CHART), "--namespace", NAMESPACE,
        "--kube-version", f"{kubernetes}.0", *extra, *options,
    )  # fmt: skip
    return [doc for doc in yaml.safe_load_all(text) if doc]


def validate(manifests: list[Manifest], kubernetes: str) -> list[str]:
    """Each manifest against the Kubernetes schemas, strictly; the problems found."""
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError

    problems = []
    for doc in manifests:
        what = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, kubernetes, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            problems.append(f"{what}: {where}: {exc.message}")
        except SchemaNotFoundError as exc:
            problems.append(f"{what}: {exc.message}")
    return problems


def check(log: Any = print) -> list[Rendered]:
    """Lint, render and validate every values file for every Kubernetes version."""
    helm = ensure_helm(log)
    results = []
    for values in values_files():
        lint(helm, values)
        for kubernetes in KUBERNETES_VERSIONS:
            manifests = render(helm, values, kubernetes)
            result = Rendered(values, kubernetes, manifests, validate(manifests, kubernetes))
            if not manifests:
                result.problems.append("nothing rendered")
            results.append(result)
    return results


def main() -> int:
    """Run :func:`check`; one line per values file and version, the problems, the exit code."""
    started = time.monotonic()
    try:
        results = check()
    except HelmCheckError as exc:
        print(f"helm check: {exc}", file=sys.stderr)
        return 1
    for result in results:
        state = "FAILED" if result.problems else "ok"
        print(
            f"{result.name}: helm lint ok, {len(result.manifests)} manifests for Kubernetes "
            f"{result.kubernetes}: {state}"
        )
        for problem in result.problems:
            print(f"  {problem}", file=sys.stderr)
    print(f"helm check: {time.monotonic() - started:.1f} s")
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
