"""One pipeline phase: its topics and database, ``ioc worker`` × N and the sink as processes.

Shared by the saturation phase (events pre-loaded, timed until the last KPI row is in
ClickHouse) and the fixed-rate phase (events fed live, latency read from the rows).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ioc.tooling.bench.kafka_ops import Offsets, TopicPlan, create_topics, delete_run_topics
from ioc.tooling.bench.procs import Proc, sample_all, spawn, stop_all
from ioc.tooling.bench.stack import PhaseNames, RunContext, python
from schemas.domains import CONTRACTS
from schemas.results import Domain
from schemas.topics import ANOMALIES, DEADLETTER, DQ, KPI

POLL_S = 0.25
READY_LINE = b"Ready"
"""faust logs ``[^Worker]: Ready`` once its agents run (recovery done)."""

KPI_TABLES = ("kpi_traffic", "kpi_energy", "kpi_qr", "kpi_dossier")
EVENT_TABLES = ("events_traffic", "events_energy", "events_qr", "events_dossier")


@dataclass
class Timeline:
    """Wall-clock instants (epoch seconds) of a phase."""

    spawned: float = 0.0
    ready: float = 0.0
    """Every worker logged Ready (recovered, agents running) and the group is stable."""
    finished: float = 0.0


@dataclass
class PipelinePhase:
    ctx: RunContext
    names: PhaseNames
    workers: int
    domains: tuple[Domain, ...] = tuple(Domain)
    overrides: dict[str, object] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)
    timeline: Timeline = field(default_factory=Timeline)

    # --- topics ------------------------------------------------------------------------

    @property
    def sources(self) -> dict[Domain, str]:
        """Source topic per domain (with the phase's suffix)."""
        return {d: CONTRACTS[d].topic + self.names.suffix for d in self.domains}

    @property
    def outputs(self) -> list[str]:
        """Result topics the workers write and the sink reads."""
        return [t + self.names.suffix for t in (KPI, ANOMALIES, DEADLETTER)]

    def create(self, *, log_append_kpi: bool = False, database: bool = True) -> None:
        """Topics (every source, so the sink can subscribe) and the database."""
        plans = [TopicPlan(c.topic + self.names.suffix, c.topic) for c in CONTRACTS.values()]
        plans += [
            TopicPlan(KPI + self.names.suffix, KPI, log_append_time=log_append_kpi),
            TopicPlan(ANOMALIES + self.names.suffix, ANOMALIES),
            TopicPlan(DEADLETTER + self.names.suffix, DEADLETTER),
            # Every topic a worker writes: two workers starting together would otherwise
            # both create the missing one and the loser exits (TopicAlreadyExistsError).
            TopicPlan(DQ + self.names.suffix, DQ),
        ]
        create_topics(self.ctx.settings, plans)
        if database:
            self.ctx.create_database(self.names.database)

    # --- processes -----------------------------------------------------------------------

    def worker_env(self, index: int = 0) -> dict[str, str]:
        """Settings of the phase's worker ``index``."""
        base: dict[str, object] = {
            "stream_topic_suffix": self.names.suffix,
            "stream_app_id": self.names.app_id,
            "province_profile": self.ctx.dataset.profile_path,
            "stream_tick_interval_s": 0,  # ticks are part of the data (pre-loaded)
            "stream_metrics_port": 0,
            "stream_commit_interval_s": 0.5,
            # faust's data directory is <data_dir>/faust/<app id>: one per worker, inside
            # the run's directory (not the checkout's .cache/faust, shared by every worker
            # and left behind); the CA stays the one the settings name.
            "data_dir": self.worker_dir(index),
            "tls_ca_file": self.ctx.settings.ca_file,
        }
        base.update(self.overrides)
        return self.ctx.env(**base)

    def worker_dir(self, index: int) -> Path:
        """Working directory of worker ``index`` (its faust data directory is inside)."""
        return self.ctx.workdir / self.names.phase / f"worker-{index}"

    def state_dir(self, index: int) -> Path:
        """Worker ``index``'s faust data directory (as ioc.wiring.worker: data_dir/faust/app id)."""
        return self.worker_dir(index) / "faust" / self.names.app_id

    def spawn_worker(self, index: int, label: str = "") -> Proc:
        """Start worker ``index`` (``label`` tells a restarted one's log apart)."""
        cwd = self.worker_dir(index)
        cwd.mkdir(parents=True, exist_ok=True)
        domains: list[str] = []
        for d in self.domains:
            domains += ["--domain", d.value]
        argv = [python(), "-m", "ioc", "worker", "--loglevel", "info", *domains]
        name = f"{self.names.phase}-worker-{index}{label}"
        proc = spawn(name, argv, self.worker_env(index), cwd, self.ctx.logs)
        self.procs.append(proc)
        return proc

    def start(self, *, sink: bool = True) -> None:
        """Spawn the sink (if wanted) and the workers."""
        self.timeline.spawned = time.time()
        workdir = self.ctx.workdir / self.names.phase
        workdir.mkdir(parents=True, exist_ok=True)
        if sink:
            env = self.ctx.env(
                clickhouse_database=self.names.database,
                sink_group_id=self.names.sink_group,
                sink_metrics_port=0,  # beside a running stack's sink
            )
            argv = [python(), "-m", "ioc", "sink", "--topic-suffix", self.names.suffix]
            self.procs.append(spawn(f"{self.names.phase}-sink", argv, env, workdir, self.ctx.logs))
        for i in range(self.workers):
            self.spawn_worker(i)

    @property
    def worker_procs(self) -> list[Proc]:
        """The worker processes."""
        return [p for p in self.procs if "-worker-" in p.name]

    def wait(self, done: Callable[[], bool], timeout_s: float, what: str) -> float:
        """Poll ``done`` (sampling RSS) until true; the wall time it became true."""
        deadline = time.monotonic() + timeout_s
        while True:
            sample_all(self.procs)
            if done():
                return time.time()
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {p.name}\n{p.tail(1500)}" for p in self.procs)
                raise TimeoutError(
                    f"{self.names.phase}: no {what} after {timeout_s:.0f} s\n{tails}"
                )
            time.sleep(POLL_S)

    def wait_ready(self, offsets: Offsets, timeout_s: float = 120.0) -> None:
        """Until every worker logged Ready and the group is stable with all of them."""

        def ready() -> bool:
            logged = all(READY_LINE in p.log.read_bytes() for p in self.worker_procs)
            return logged and offsets.stable_members(self.names.app_id) == self.workers

        self.timeline.ready = self.wait(ready, timeout_s, "ready workers")

    def wait_done(self, offsets: Offsets, timeout_s: float, *, sink: bool = True) -> None:
        """Until the workers committed every source record and the sink every record."""
        sources = list(self.sources.values())
        every = [*sources, *self.outputs]

        def done() -> bool:
            if not offsets.caught_up(self.names.app_id, sources):
                return False
            return not sink or offsets.caught_up(self.names.sink_group, every)

        self.timeline.finished = self.wait(done, timeout_s, "end of processing")

    def stop(self) -> None:
        """Stop every process (figures are sampled first)."""
        stop_all(self.procs)

    def cleanup(self) -> None:
        """Delete the phase's topics (and changelogs) and database."""
        delete_run_topics(self.ctx.settings, f"{self.ctx.tag}-{self.names.phase}")
        self.ctx.drop_database(self.names.database)

    # --- figures -----------------------------------------------------------------------

    def rss_mb(self) -> dict[str, float]:
        """Peak RSS per process, MiB."""
        return {p.name: round(p.peak_rss_mb, 1) for p in self.procs}

    def worker_cpu_s(self) -> float:
        """CPU seconds used so far by the workers together (sampled now)."""
        for proc in self.worker_procs:
            proc.sample()
        return sum(p.cpu_s for p in self.worker_procs)

    def cpu_s(self) -> dict[str, float]:
        """CPU seconds per process."""
        return {p.name: round(p.cpu_s, 1) for p in self.procs}
