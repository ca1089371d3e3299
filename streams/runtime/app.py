"""The faust app of the IOC workers: one agent per domain, control ticks, partition hooks.

Built from a plain :class:`WorkerConfig` (the ``ioc worker`` command makes one from
the settings and the province profile); nothing here reads the environment.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust

from schemas.errors import IocError
from schemas.results import Domain
from schemas.topics import CONTROL_HEADER
from streams.detect import DetectorParams, DetectorSuite
from streams.domains import DOMAINS, EngineFactory
from streams.engine import TICK, EngineConfig
from streams.kpi.base import KpiContext
from streams.runtime import agents, diagnostics
from streams.runtime.guards import GroupLeaveGuard, RecoveryGuard, ServiceCrashGuard
from streams.runtime.messages import OutputTopics
from streams.runtime.metrics import StreamMetrics
from streams.runtime.partition import DomainRuntime
from streams.runtime.resume import LogProbe
from streams.runtime.sender import BatchSender
from streams.topology import Topology
from streams.windows import DAY_MS

log = logging.getLogger(__name__)

UNSTALL_INTERVAL_S = 1.0
"""How often each domain looks for partitions faust stopped handing over."""

TABLE_SUFFIX = "-state"
"""Table ``<domain>-state``; its changelog is ``<app id>-<domain>-state-changelog``."""

EXIT_DATA_DIR = 73
"""EX_CANTCREAT: the worker could not create its data directories (disk full, permissions)."""


class DataDirError(IocError):
    """The worker's data directories could not be created (decision 0038)."""

    code = EXIT_DATA_DIR


@dataclass(frozen=True)
class SourceTopic:
    name: str
    partitions: int


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker process needs."""

    app_id: str
    kafka: Mapping[str, Any]
    """Client options: bootstrap_servers and the security settings (TLS, SASL)."""
    sources: dict[Domain, SourceTopic]
    outputs: OutputTopics
    topology: Topology = field(default_factory=Topology)
    detector_params: DetectorParams | None = None
    generation: int = 1
    lateness_ms: int = 120_000
    max_skew_ms: int = 300_000
    replay_horizon_ms: int = 30 * DAY_MS
    dossier_retention_ms: int = 45 * DAY_MS
    lag_threshold_s: float = 60.0
    store: str = "memory://"
    datadir: str = "{conf.name}-data"
    """faust's working directory (this default, faust's own, is relative to the current one)."""
    batch_size: int = 1_000
    batch_within_s: float = 0.2
    commit_interval_s: float = 2.0
    tick_interval_s: float = 10.0
    empty_state_from_group: bool = False
    """A partition whose state applied nothing starts at the group's offset, not the log's
    start (an operator's choice, to skip a backlog; decision 0014)."""
    session_timeout_s: float = 30.0
    max_poll_interval_s: float = 300.0
    request_timeout_s: float = 30.0
    replication_factor: int = 1
    recovery_delay_s: float = 0.0


def _now() -> datetime:
    return datetime.now(tz=UTC)


def engine_config(
    config: WorkerConfig, suite: DetectorSuite, now: Callable[[], datetime]
) -> EngineConfig:
    """What every partition engine of a worker (or of a replay of it) is built with."""
    return EngineConfig(
        kpi=KpiContext(
            topology=config.topology,
            lateness_ms=config.lateness_ms,
            generation=config.generation,
            now=now,
            dossier_retention_ms=config.dossier_retention_ms,
        ),
        producer=config.app_id,
        max_skew_ms=config.max_skew_ms,
        replay_horizon_ms=config.replay_horizon_ms,
        suite=suite,
    )


def broker_credentials(kafka: Mapping[str, Any]) -> faust.types.auth.CredentialsT | None:
    """Faust's form of the client options' security (its own clients, the changelogs)."""
    protocol = kafka.get("security_protocol", "PLAINTEXT")
    if protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=kafka["sasl_plain_username"],
            password=kafka["sasl_plain_password"],
            mechanism=kafka["sasl_mechanism"],
            ssl_context=kafka.get("ssl_context"),
        )
    if protocol == "SSL":
        return faust.SSLCredentials(kafka["ssl_context"])
    return None


def make_app(config: WorkerConfig) -> faust.App:
    """The bare faust app with the project's guarantees."""
    return faust.App(
        config.app_id,
        broker=f"kafka://{config.kafka['bootstrap_servers']}",
        broker_credentials=broker_credentials(config.kafka),
        store=config.store,
        datadir=config.datadir,
        autodiscover=False,
        web_enabled=False,
        processing_guarantee="at_least_once",
        producer_acks=-1,
        table_standby_replicas=0,
        topic_replication_factor=config.replication_factor,
        topic_disable_leader=True,
        broker_commit_interval=config.commit_interval_s,
        broker_session_timeout=config.session_timeout_s,
        broker_heartbeat_interval=max(0.5, config.session_timeout_s / 5),
        broker_max_poll_interval=config.max_poll_interval_s,
        broker_request_timeout=config.request_timeout_s,
        consumer_auto_offset_reset="earliest",
        stream_recovery_delay=config.recovery_delay_s,
        # Never ack a record because its handler raised or was cancelled: an ack makes
        # the offset committable, and that record's results may not exist.
        stream_ack_exceptions=False,
        stream_ack_cancelled_tasks=False,
    )


class Worker:
    """The app and its domain runtimes."""

    def __init__(self, config: WorkerConfig, metrics: StreamMetrics | None = None) -> None:
        if not config.store.startswith("memory://"):
            # The runtime writes the store with an explicit partition; faust's RocksDB
            # store would pick its database from "the current event" instead.
            raise ValueError(f"stream store {config.store!r} is not supported; use memory://")
        self.config = config
        self.metrics = metrics or StreamMetrics()
        self.app = make_app(config)
        self.suite = DetectorSuite(config.detector_params)
        self.sender = BatchSender(
            config.kafka,
            client_id=f"{config.app_id}-results",
            request_timeout_ms=int(config.request_timeout_s * 1000),
        )
        self.probe = LogProbe(config.kafka, client_id=f"{config.app_id}-probe")
        self.runtimes: dict[Domain, DomainRuntime] = {}
        kpi = engine_config(config, self.suite, _now)
        for domain, source in config.sources.items():
            factory = EngineFactory(DOMAINS[domain], kpi, config.topology, source.partitions)
            self.runtimes[domain] = agents.register(self, factory, source)
        self._hooks()

    def prepare_datadir(self) -> Path:
        """Create faust's data, version and table directories, or raise DataDirError.

        With the memory store these empty directories are all a worker writes to disk
        (decision 0038). Left to faust, a failure (ENOSPC on a full disk) is a traceback
        in the middle of its shutdown log and exit code 1; here it is one line and code 73,
        before anything connects. Called once by ``ioc worker``, like the guards.
        """
        conf = self.app.conf
        try:
            for path in (conf.datadir, conf.appdir, conf.tabledir):
                Path(path).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
            raise DataDirError(
                f"cannot create the worker's data directory {exc.filename}: {exc.strerror} "
                f"({name}). Free space on that filesystem (or fix its permissions) and "
                "restart: the worker resumes from its changelogs and committed offsets"
            ) from exc
        return Path(conf.tabledir)

    def install_guards(self) -> None:
        """Make this process exit loudly on the failures faust only logs.

        Called once by ``ioc worker``: the guards end the process, so they belong to the
        process, not to every Worker (a test's Worker must not install them).
        """
        logging.getLogger("faust.tables.recovery").addHandler(RecoveryGuard())

        def stopping() -> bool:
            return bool(self.app.should_stop)

        for name in ("faust", "mode"):  # every service logs through its module's logger
            logging.getLogger(name).addHandler(ServiceCrashGuard(stopping))
        coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
        coordinator.addHandler(GroupLeaveGuard(stopping))

        @self.app.task  # type: ignore[untyped-decorator]
        async def stages_on_sigusr2() -> None:
            # `kill -USR2 <pid>`: which step each agent is in (a stalled worker says why).
            diagnostics.install(
                asyncio.get_running_loop(),
                lambda: [(r.stream_name, r.stage) for r in self.runtimes.values()],
                self._diagnostic_lines,
            )

        # The guard needs aiokafka's INFO records even under --loglevel warning (group
        # membership changes are worth a line in the log anyway).
        coordinator.setLevel(logging.INFO)

    def _diagnostic_lines(self) -> list[str]:
        """The SIGUSR2 dump's lines after the stages: each engine's offset, then faust's."""
        lines = [
            f"{r.stream_name}[{partition}]: state applied offset {engine.offset}"
            + (
                f", rewinding to {r.rewinding[partition].awaited}"
                if partition in r.rewinding
                else ""
            )
            for r in self.runtimes.values()
            for partition, engine in sorted(r.engines.items())
        ]
        topics = [r.topic for r in self.runtimes.values()]
        return lines + diagnostics.consumer_lines(self.app, topics)

    # --- wiring used by the agents --------------------------------------------------

    def runtime(self, factory: EngineFactory, source: SourceTopic) -> DomainRuntime:
        """The table and engines of one domain."""
        table = self.app.Table(
            f"{factory.spec.domain.value}{TABLE_SUFFIX}",
            # Keys "<partition>|<record key>" and values plain JSON: no key/value types,
            # since faust would try ``dict.from_data`` on recovery.
            partitions=source.partitions,
        )
        return DomainRuntime(
            app=self.app,
            table=table,
            topic=source.name,
            factory=factory,
            outputs=self.config.outputs,
            lag_threshold_s=self.config.lag_threshold_s,
            metrics=self.metrics,
            sender=self.sender,
            probe=self.probe,
            empty_state_from_group=self.config.empty_state_from_group,
        )

    def source_topic(self, source: SourceTopic) -> Any:
        """A source topic read as raw bytes: decoding is ours, so nothing can crash faust."""
        return self.app.topic(
            source.name,
            key_serializer="raw",
            value_serializer="raw",
            partitions=source.partitions,
        )

    # --- partitions and ticks -----------------------------------------------------------

    def _by_topic(self, tps: Any) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for tp in tps:
            found.setdefault(tp.topic, []).append(tp.partition)
        return found

    def _hooks(self) -> None:
        app = self.app

        # faust calls receivers as (app, tps, signal=...); mode's annotation of
        # ``connect`` (a union of callables) rejects any async def, hence the ignores.
        @app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def on_revoked(sender: Any, *args: Any, signal: Any, **_: Any) -> None:
            by_topic = self._by_topic(args[0] if args else ())
            for runtime in self.runtimes.values():
                runtime.revoke(by_topic.get(runtime.topic, []))

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]
        async def on_assigned(sender: Any, *args: Any, signal: Any, **_: Any) -> None:
            by_topic = self._by_topic(args[0] if args else ())
            for runtime in self.runtimes.values():
                runtime.assigned(by_topic.get(runtime.topic, []))

        @app.on_before_shutdown.connect  # type: ignore[arg-type]
        async def on_shutdown(sender: Any, *args: Any, signal: Any, **_: Any) -> None:
            await self.sender.stop()
            await self.probe.stop()

        app.timer(UNSTALL_INTERVAL_S, name="ioc-unstall")(self._unstall)
        if self.config.tick_interval_s > 0:
            interval = max(0.2, min(1.0, self.config.tick_interval_s / 4))
            app.timer(interval, name="ioc-control-ticks")(self._tick)

    async def _unstall(self) -> None:
        """Seek back the partitions faust stopped handing over (DomainRuntime.unstall)."""
        for runtime in self.runtimes.values():
            await runtime.unstall()

    async def _tick(self) -> None:
        """Produce a control tick into every owned partition idle for the tick interval."""
        now = time.monotonic()
        stamp = time.time() - self.config.max_skew_ms / 1000
        for runtime in self.runtimes.values():
            for partition in sorted(runtime.owned()):
                last = runtime.last_activity.setdefault(partition, now)
                if now - last < self.config.tick_interval_s:
                    continue
                runtime.last_activity[partition] = now
                await self.app.producer.send(
                    runtime.topic, None, b"", partition, stamp, [(CONTROL_HEADER, TICK)]
                )
                self.metrics.ticks.labels(runtime.stream_name).inc()
