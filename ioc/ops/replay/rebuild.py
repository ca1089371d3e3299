"""``ioc replay rebuild``: KPIs and anomalies of a time range, recomputed under a new generation.

How it stays equal to the live worker's results (docs/architecture.md, "Replay and generations"):

- it runs the worker's own partition engines (:mod:`ioc.ops.replay.engines`) over the
  source topics' records in offset order, with the worker's profile and settings;
- it starts ``IOC_REPLAY_LOOKBACK_S`` (default one day, the largest telemetry window)
  plus the allowed lateness and the clock skew before ``--from``, so every window
  overlapping the range is complete and each meter's previous register reading is
  known; dossiers start from the open-dossier snapshot (:mod:`ioc.ops.replay.snapshot`);
- ``--from``/``--to`` are event times: it reads on to the end of the log (a backlog
  written today can carry last week's events), applies late events as corrections the
  way the sink merges them (:mod:`schemas.corrections`), and writes a window only once
  its final watermark has dropped it (end + lateness): a window still held could change
  again, and the live run would have a later version of it;
- rows go through the sink's own row builders and writer, so they land exactly as the
  live pipeline's, under a generation recorded in ``generations`` — never produced to
  Kafka, so the alerter never sees (never pages) its anomalies.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from clickhouse_driver import Client
from kafka.admin import KafkaAdminClient

from connectors.sinks.clickhouse.rows import Row, anomaly_row, kpi_row
from connectors.sinks.clickhouse.writer import TableWriter
from ioc.ops.replay import kafka_io, snapshot
from ioc.ops.replay.engines import DomainEngines, build
from ioc.ops.replay.generations import (
    KIND_REBUILD,
    Generation,
    Key,
    Registry,
    row_key,
    row_parts,
    same_parts,
)
from ioc.ops.replay.kafka_io import Span
from ioc.ops.replay.times import ReplayUsageError
from ioc.settings import Settings
from ioc.wiring.worker import build_config
from schemas.corrections import merge
from schemas.domains import CONTRACTS
from schemas.results import Anomaly, Domain, KpiRecord
from schemas.timeutil import to_ms, utcnow
from streams.engine import Outputs, SourceRecord
from streams.records import DossierRecord
from streams.runtime.app import WorkerConfig

WRITE_BATCH = 20_000
MONTH_MS = 31 * 86_400_000
"""How far before --from a window in range can start (a dossier month)."""


@dataclass(frozen=True)
class RebuildPlan:
    generation: int
    app_id: str
    from_ms: int
    to_ms: int
    read_from_ms: int
    read_to_ms: int
    complete_from_ms: int
    """Windows starting before this may lack records read before the first offset."""
    source_database: str
    database: str
    promote: bool
    spans: dict[Domain, list[Span]]
    topics: dict[Domain, str]

    @property
    def in_place(self) -> bool:
        """Rows beside the live ones (else: a separate database for comparison)."""
        return self.database == self.source_database

    @property
    def records(self) -> int:
        """Records to read, all domains."""
        return sum(s.size for spans in self.spans.values() for s in spans)


@dataclass
class TableSummary:
    written: int = 0
    unchanged: int = 0
    changed: int = 0
    new: int = 0
    only_before: int = 0
    """Visible rows in the range that the rebuild did not produce."""


@dataclass
class RebuildSummary:
    records: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    tables: dict[str, TableSummary] = field(default_factory=dict)
    anomalies: int = 0
    held_back: int = 0
    """Windows in range the final watermark had not dropped: not written."""
    seeded_dossiers: int = 0
    rejected: int = 0
    seconds: float = 0.0


def _ms(settings: Settings) -> tuple[int, int, int]:
    return (
        settings.replay_lookback_s * 1000,
        settings.allowed_lateness_s * 1000,
        settings.max_clock_skew_s * 1000,
    )


def now_ms() -> int:
    """The wall clock, in epoch ms (the end of the log at planning time)."""
    return to_ms(utcnow())


def plan(
    admin: KafkaAdminClient,
    client: Client,
    settings: Settings,
    from_ms: int,
    to_ms: int,
    *,
    into_database: str | None = None,
    promote: bool = False,
    domains: list[Domain] | None = None,
) -> RebuildPlan:
    """Generation, offsets and target of a rebuild (nothing is written)."""
    if promote and into_database:
        raise ReplayUsageError("--promote applies to an in-place rebuild, not --into-database")
    lookback, lateness, skew = _ms(settings)
    read_from = from_ms - lookback - lateness - skew
    # --from/--to are event times. A record cannot be written before its event (less
    # the clock skew the worker allows), but it can be written any time after: a
    # backlog or an import of last week's readings. So the read starts at the range
    # (less lookback) and runs to the end of the log.
    read_to = max(to_ms + 2 * lateness + skew, now_ms() + skew)
    generation = Registry(client, settings.clickhouse_database).next_generation()
    chosen = domains or list(CONTRACTS)
    topics = {d: CONTRACTS[d].topic + settings.stream_topic_suffix for d in chosen}
    return RebuildPlan(
        generation=generation,
        app_id=f"{settings.stream_app_id}-rebuild-{generation}",
        from_ms=from_ms,
        to_ms=to_ms,
        read_from_ms=read_from,
        read_to_ms=read_to,
        complete_from_ms=from_ms - lookback,
        source_database=settings.clickhouse_database,
        database=into_database or settings.clickhouse_database,
        promote=promote,
        spans={d: kafka_io.spans(admin, t, read_from, read_to) for d, t in topics.items()},
        topics=topics,
    )


class _Collector:
    """Final KPI rows and anomalies of the rebuild, written as they become final."""

    def __init__(self, plan_: RebuildPlan, writer: TableWriter, lateness_ms: int) -> None:
        self.plan = plan_
        self.writer = writer
        self.lateness_ms = lateness_ms
        self.pending: dict[tuple[Domain, int], dict[str, KpiRecord]] = {}
        self.rows: dict[str, list[Row]] = {}
        self.keys: dict[str, dict[Key, tuple[object, ...]]] = {}
        self.anomalies: dict[str, Anomaly] = {}
        self.summary = RebuildSummary()
        self.complete_from: dict[Domain, int] = {}
        self.final: dict[str, KpiRecord] = {}
        """Windows written (or to be): what a later correction merges into."""

    def add(self, domain: Domain, partition: int, out: Outputs) -> None:
        held = self.pending.setdefault((domain, partition), {})
        for kpi in out.kpis:
            if kpi.correction:
                self._correct(domain, held, kpi)
            else:
                held[kpi.key] = kpi  # a re-emission carries a higher sequence: the last wins
        for anomaly in out.anomalies:
            self.anomalies[anomaly.anomaly_id] = anomaly
        for outcome, n in out.outcomes.items():
            self.summary.outcomes[outcome] = self.summary.outcomes.get(outcome, 0) + n

    def settle(self, domain: Domain, partition: int, watermark: int | None) -> None:
        """Move windows the watermark dropped (they can no longer change) to the writer."""
        held = self.pending.get((domain, partition), {})
        if watermark is None:
            return
        for key in [k for k, kpi in held.items() if to_ms(kpi.window_end) + self.lateness_ms
                    <= watermark]:  # fmt: skip
            self._final(domain, held.pop(key))
        self._write_full()

    def _correct(self, domain: Domain, held: dict[str, KpiRecord], correction: KpiRecord) -> None:
        # A late event for a window the engine dropped: merged as the sink merges it
        # (schemas.corrections), into the window still waiting here or the one written.
        key = correction.key
        pending = held.get(key)
        merged = merge(pending if pending is not None else self.final.get(key), correction)
        if merged is None:
            return
        if pending is not None:
            held[key] = merged
        else:
            self._final(domain, merged)  # written again: the higher sequence replaces it

    def _final(self, domain: Domain, kpi: KpiRecord) -> None:
        self.final[kpi.key] = kpi
        start, end = to_ms(kpi.window_start), to_ms(kpi.window_end)
        if end <= self.plan.from_ms or start >= self.plan.to_ms:
            return  # outside the range: read only to get the range right
        if start < self.complete_from.get(domain, self.plan.complete_from_ms):
            return  # some of its records may be before the first offset read
        table = f"kpi_{kpi.domain.value}"
        row = kpi_row(kpi, to_ms(utcnow()))
        self.rows.setdefault(table, []).append(row)
        self.keys.setdefault(table, {})[row_key(table, row)] = row_parts(table, row)

    def _write_full(self, force: bool = False) -> None:
        for table, rows in self.rows.items():
            if rows and (force or len(rows) >= WRITE_BATCH):
                self.summary.rejected += len(self.writer.write(table, rows))
                self.summary.tables.setdefault(table, TableSummary()).written += len(rows)
                self.rows[table] = []

    def finish(self) -> None:
        """Write what is final; count what is not; write anomalies that started in range."""
        self.summary.held_back = sum(
            1
            for held in self.pending.values()
            for kpi in held.values()
            if to_ms(kpi.window_end) > self.plan.from_ms
            and to_ms(kpi.window_start) < self.plan.to_ms
        )
        self._write_full(force=True)
        rows = [
            anomaly_row(a, to_ms(utcnow()))
            for a in self.anomalies.values()
            if self.plan.from_ms <= to_ms(a.started_at) < self.plan.to_ms
        ]
        if rows:
            self.summary.rejected += len(self.writer.write("anomalies", rows))
        self.summary.anomalies = len(rows)


def _worker_config(settings: Settings, plan_: RebuildPlan) -> WorkerConfig:
    rebuild_settings = settings.model_copy(
        update={"generation": plan_.generation, "stream_app_id": plan_.app_id}
    )
    return build_config(rebuild_settings, list(plan_.spans))


def _run_domain(
    settings: Settings,
    config: WorkerConfig,
    plan_: RebuildPlan,
    domain: Domain,
    seeds: dict[int, list[tuple[str, DossierRecord]]],
    collector: _Collector,
    progress: Callable[[int], None],
) -> None:
    spans = {s.partition: s for s in plan_.spans[domain]}
    # Started engines re-emit only periods held in their seed, and seeds hold none.
    engines, _ = build(config, domain, spans, seeds)
    kafka = kafka_io.consumer(settings, f"{plan_.app_id}-{domain.value}")
    try:
        for batch in kafka_io.read(kafka, plan_.topics[domain], spans):
            _apply(engines, domain, batch, collector)
            collector.summary.records += len(batch)
            progress(len(batch))
    finally:
        kafka.close()
    for partition, engine in engines.engines.items():
        collector.settle(domain, partition, engine.watermark)


def _apply(
    engines: DomainEngines, domain: Domain, batch: list[kafka_io.Message], collector: _Collector
) -> None:
    partition = batch[0].partition
    out = Outputs()
    for m in batch:
        record = SourceRecord(m.topic, m.partition, m.offset, m.key, m.value, m.timestamp_ms,
                              m.headers)  # fmt: skip
        out.extend(engines.process(record))
    engines.settle()
    collector.add(domain, partition, out)
    collector.settle(domain, partition, engines.engines[partition].watermark)


def execute(
    settings: Settings,
    admin: KafkaAdminClient,
    client: Client,
    plan_: RebuildPlan,
    progress: Callable[[int], None] = lambda n: None,
) -> RebuildSummary:
    """Run the rebuild, record its generation, compare with what panels read, promote."""
    began = time.monotonic()
    source = Registry(client, plan_.source_database)
    target = Registry(client, plan_.database)
    if not plan_.in_place:
        _prepare_database(client, settings, plan_.database)
    gen = Generation(plan_.generation, plan_.app_id, KIND_REBUILD, plan_.from_ms, plan_.to_ms,
                     "running", False, _note(plan_))  # fmt: skip
    source.record(gen)
    if not plan_.in_place:
        target.record(gen)
    config = _worker_config(settings, plan_)
    collector = _Collector(plan_, TableWriter(client, plan_.database), settings.allowed_lateness_s
                           * 1000)  # fmt: skip
    for domain in plan_.spans:
        seeds: dict[int, list[tuple[str, DossierRecord]]] = {}
        if domain is Domain.DOSSIER:
            starts = {s.partition: s.start for s in plan_.spans[domain]}
            seeds, collector.summary.seeded_dossiers = snapshot.dossier_seeds(
                admin, settings, settings.stream_app_id, starts
            )
            if seeds:
                # The snapshot holds each open dossier's whole history: periods that
                # started before the first offset read are complete too.
                collector.complete_from[domain] = 0
        _run_domain(settings, config, plan_, domain, seeds, collector, progress)
    collector.finish()
    summary = collector.summary
    _compare(source, plan_, collector, summary)
    done = dataclasses.replace(gen, status="complete")
    source.record(done)
    if not plan_.in_place:
        # The comparison database shows the rebuild in its own *_live views.
        target.record(dataclasses.replace(done, promoted=True))
    elif plan_.promote:
        source.record(dataclasses.replace(done, status="promoted", promoted=True))
    summary.seconds = time.monotonic() - began
    return summary


def _note(plan_: RebuildPlan) -> str:
    where = "in place" if plan_.in_place else f"into database {plan_.database}"
    return f"ioc replay rebuild {where}, {len(plan_.spans)} domain(s), {plan_.records} records"


def _compare(
    source: Registry, plan_: RebuildPlan, collector: _Collector, s: RebuildSummary
) -> None:
    """Rows changed: the rebuild's rows against what the panels of the source read now."""
    for table, rebuilt in collector.keys.items():
        t = s.tables.setdefault(table, TableSummary())
        visible = source.visible(table, plan_.from_ms - MONTH_MS, plan_.to_ms)
        for key, parts in rebuilt.items():
            before = visible.get(key)
            if before is None:
                t.new += 1
            elif same_parts(parts, before):
                t.unchanged += 1
            else:
                t.changed += 1
        lo, hi = plan_.from_ms // 1000, plan_.to_ms // 1000
        t.only_before = sum(1 for key in visible if key not in rebuilt and lo <= key[3] < hi)


def _prepare_database(client: Client, settings: Settings, database: str) -> None:
    """A comparison database: the same migrations, and the profile's areas and entities."""
    from ioc.ops.db.executors import ClickHouseExecutor
    from ioc.ops.db.migrate import migrate

    migrate(
        ClickHouseExecutor(client),
        database,
        raw_retention_days=settings.raw_retention_days,
        cluster=settings.clickhouse_cluster,
    )
    src = settings.clickhouse_database
    for table in ("areas", "entities", "area_paths"):
        client.execute(f"INSERT INTO {database}.{table} SELECT * FROM {src}.{table} FINAL")
