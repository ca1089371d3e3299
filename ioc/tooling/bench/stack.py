"""What every phase of a bench run shares: settings, names, environment, ClickHouse.

A phase gets its own topics (suffix ``.bench-<tag>-<phase>``), worker app id, sink
group and ClickHouse database, so phases never read each other's data and cleaning up
is "everything with the tag".
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from ioc.ops.db.executors import ClickHouseExecutor
from ioc.ops.db.migrate import migrate
from ioc.settings import Settings
from ioc.tooling.bench.dataset import Dataset


@dataclass(frozen=True)
class PhaseNames:
    """Names of one phase's Kafka and ClickHouse objects."""

    tag: str
    phase: str

    @property
    def suffix(self) -> str:
        """Appended to every source and result topic of the phase."""
        return f".bench-{self.tag}-{self.phase}"

    @property
    def app_id(self) -> str:
        """Worker consumer group and changelog prefix."""
        return f"ioc-worker-bench-{self.tag}-{self.phase}"

    @property
    def sink_group(self) -> str:
        """The sink's consumer group."""
        return f"ioc-sink-bench-{self.tag}-{self.phase}"

    @property
    def database(self) -> str:
        """The phase's ClickHouse database."""
        return f"ioc_bench_{self.tag}_{self.phase}".replace("-", "_")


@dataclass
class RunContext:
    settings: Settings
    tag: str
    workdir: Path
    dataset: Dataset

    @property
    def logs(self) -> Path:
        """Where process logs go (kept after the run for a failure's post-mortem)."""
        return self.workdir / "logs"

    def names(self, phase: str) -> PhaseNames:
        """The names of one phase."""
        return PhaseNames(self.tag, phase)

    def env(self, **overrides: object) -> dict[str, str]:
        """The child environment: the effective settings as IOC_* plus ``overrides``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
        env |= self.settings.env_vars()
        for name, value in overrides.items():
            env[f"IOC_{name.upper()}"] = str(value)
        return env

    def executor(self) -> ClickHouseExecutor:
        """A ClickHouse client (the caller closes it)."""
        return ClickHouseExecutor.from_settings(self.settings)

    def create_database(self, database: str) -> None:
        """A fresh database with every migration applied."""
        executor = self.executor()
        try:
            migrate(
                executor,
                database,
                raw_retention_days=self.settings.raw_retention_days,
                cluster=self.settings.clickhouse_cluster,
            )
        finally:
            executor.close()

    def drop_database(self, database: str) -> None:
        """Drop a phase's database."""
        executor = self.executor()
        try:
            executor.execute(f"DROP DATABASE IF EXISTS {database}")
        finally:
            executor.close()


def python() -> str:
    """The interpreter running the bench (the project's venv)."""
    return sys.executable
