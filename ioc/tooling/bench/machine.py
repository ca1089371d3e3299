"""What a result was measured on: machine, load, versions, commit (for comparing runs)."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from ioc.assets import CHECKOUT_ROOT

PACKAGES = (
    "faust-streaming",
    "aiokafka",
    "orjson",
    "pydantic",
    "clickhouse-driver",
    "mode-streaming",
)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def load_average() -> list[float]:
    """1, 5 and 15-minute load averages (other engineers share these cores)."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """Host, CPU, cores, memory, kernel."""
    return {
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_mb": _mem_total_mb(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=CHECKOUT_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return ""
    return done.stdout.strip()


def versions(peer_python: Path | None) -> dict[str, Any]:
    """Our packages, the peer's, and the commit measured (dirty if the tree was)."""
    found: dict[str, Any] = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    if peer_python is not None and peer_python.exists():
        probe = (
            "import quixstreams, confluent_kafka;"
            "print(quixstreams.__version__, confluent_kafka.version()[0],"
            " confluent_kafka.libversion()[0])"
        )
        done = subprocess.run(
            [str(peer_python), "-W", "ignore", "-c", probe],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        parts = done.stdout.split()
        if len(parts) == 3:
            found["quixstreams"], found["confluent-kafka"], found["librdkafka"] = parts
    found["commit"] = _git("rev-parse", "--short", "HEAD")
    found["dirty"] = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return found
