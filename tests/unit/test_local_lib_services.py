"""deploy/local/lib.sh's select_services: what up.sh, down.sh and status.sh act on."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

LIB = Path(__file__).resolve().parents[2] / "deploy" / "local" / "lib.sh"


def _selected(data_dir: Path, **settings: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env |= {"IOC_DATA_DIR": str(data_dir)} | {f"IOC_{k.upper()}": v for k, v in settings.items()}
    script = f'source "{LIB}"; select_services; echo "${{SERVICES[@]}}"'
    out = subprocess.run(
        ["bash", "-c", script], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return out.stdout.split()


def test_one_clickhouse_by_default_and_zookeeper_with_a_replica_for_a_cluster(
    tmp_path: Path,
) -> None:
    one = _selected(tmp_path)
    assert "clickhouse" in one
    assert "zookeeper" not in one
    assert "clickhouse-2" not in one
    cluster = _selected(tmp_path, clickhouse_cluster="ioc")
    # ZooKeeper before the replicas (down.sh stops them in reverse order).
    assert cluster.index("zookeeper") < cluster.index("clickhouse") < cluster.index("clickhouse-2")
    assert "clickhouse-2" not in _selected(
        tmp_path, clickhouse_cluster="ioc", clickhouse_replicas="1"
    )


def test_a_replica_still_running_is_stopped_after_the_setting_went_back(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "clickhouse-2.pid").write_text("12345\n")
    (tmp_path / "run" / "zookeeper.pid").write_text("12346\n")
    assert {"zookeeper", "clickhouse-2"} <= set(_selected(tmp_path))
