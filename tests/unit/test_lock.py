"""The lock files agree with pyproject.toml, carry hashes, and every install path uses them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ioc.settings import PROJECT_ROOT

pytestmark = pytest.mark.unit

LOCKS = PROJECT_ROOT / "requirements"
_ENTRY = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)(.*?)(?: \\)?$")


def pins(path: Path) -> dict[str, set[str]]:
    """{package: versions} of a lock file, checking that each entry has a hash."""
    found: dict[str, set[str]] = {}
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        match = _ENTRY.match(line)
        if match:
            name = canonicalize_name(match.group(1))
            found.setdefault(name, set()).add(match.group(2))
            assert lines[i + 1].strip().startswith("--hash=sha256:"), (path.name, line)
    return found


def pyproject() -> dict[str, list[Requirement]]:
    data = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = data["project"]
    groups = {"runtime": project["dependencies"], **project["optional-dependencies"]}
    return {group: [Requirement(r) for r in reqs] for group, reqs in groups.items()}


def _pinned(req: Requirement) -> str:
    (spec,) = req.specifier
    assert spec.operator == "==", f"{req} is not pinned"
    return spec.version


def test_dev_lock_has_every_pinned_dependency_and_extra_at_its_version() -> None:
    dev = pins(LOCKS / "dev.lock")
    for group in ("runtime", "dev", "profiles", "bench"):
        for req in pyproject()[group]:
            assert dev.get(canonicalize_name(req.name)) == {_pinned(req)}, (group, str(req))
    assert "setuptools" in dev  # the build backend, for --no-build-isolation


def test_runtime_lock_is_the_runtime_part_of_the_dev_lock() -> None:
    dev, runtime = pins(LOCKS / "dev.lock"), pins(LOCKS / "runtime.lock")
    for req in pyproject()["runtime"]:
        assert runtime.get(canonicalize_name(req.name)) == {_pinned(req)}, str(req)
    for name, versions in runtime.items():
        assert dev.get(name) == versions, f"{name}: runtime {versions} vs dev {dev.get(name)}"
    for group in ("dev", "profiles", "bench"):
        for req in pyproject()[group]:
            assert canonicalize_name(req.name) not in runtime, (group, str(req))


def test_tool_and_bench_peer_locks_have_hashes() -> None:
    assert "uv" in pins(LOCKS / "tools.lock")
    assert "quixstreams" in pins(LOCKS / "bench-peer.lock")


def test_every_install_path_installs_from_a_lock_with_hashes() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip install -q --require-hashes -r requirements/dev.lock" in makefile
    assert "pip install -q --no-deps --no-build-isolation -e ." in makefile
    assert "--require-hashes -r requirements/bench-peer.lock" in makefile
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "pip install --require-hashes -r requirements/runtime.lock" in dockerfile
    assert re.search(r"pip install --no-deps --no-build-isolation", dockerfile)
    installs = re.findall(r"pip install[^\n]*", makefile + dockerfile)
    for line in installs:
        assert "--require-hashes" in line or "--no-deps" in line, line
