"""Late data on the real stack (test_late_data.py): the sink and the file connector as
processes, settling, and the comparison of ``kpi_traffic_live`` with the reference.

What the worker must have done is decided from the source partitions as it read them
(events and control ticks in offset order, read back from Kafka): which events were on
time, which were late and at what watermark their first copy arrived, and the final
watermark, which says which windows are closed. Nothing here sleeps: every wait polls
a condition until a deadline.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, TopicPartition

from connectors.sinks.clickhouse.rows import KPI_PARTS
from ioc.kafka_client import kafka_client_options
from schemas.events import TrafficObservation
from schemas.province.profile import Profile
from schemas.results import Domain
from schemas.timeutil import to_ms
from schemas.topics import CONTROL_HEADER, KPI
from tests.integration.conftest import free_port
from tests.integration.sink.harness import end_offsets
from tests.integration.streams.conftest import PROJECT, StreamStack, wait_for
from tests.unit.streams import reference, reference_base

LATENESS_MS = 120_000
"""open_stack's allowed lateness (the reference is told the same)."""
MARGIN_MS = 60_000
"""A window that a late event reached this long after it was dropped must show a correction."""
Key = tuple[str, str, str, int]
Log = list[tuple[str, Any]]

# --- what the worker read -------------------------------------------------------------------


@dataclass
class Arrivals:
    """The traffic partitions as the worker read them, judged by the watermark rule."""

    events: dict[str, TrafficObservation] = field(default_factory=dict)
    """Every distinct event delivered, by id."""
    on_time: set[str] = field(default_factory=set)
    late: dict[str, int] = field(default_factory=dict)
    """Id of each event never applied on time -> the watermark its first copy met."""
    deliveries: int = 0
    final_wm: int = 0
    """The lowest partition's final watermark: a window ending by it − lateness is closed."""

    def closed(self, end_ms: int) -> bool:
        return end_ms + LATENESS_MS <= self.final_wm

    def late_index(self) -> dict[Key, list[int]]:
        """Window key -> the first-arrival watermark of each distinct late event in it."""
        index: dict[Key, list[int]] = defaultdict(list)
        for eid, wm in self.late.items():
            event = self.events[eid]
            for size in reference.SIZES:
                start, _ = reference_base.bounds(to_ms(event.observed_at), size)
                for kind, entity in (("sensor", event.sensor_id), ("segment", event.segment_id)):
                    index[(kind, entity, size, start)].append(wm)
        return index


def judge(logs: dict[int, Log]) -> Arrivals:
    """Which events the worker met on time and which late (reference_base.applied's rule)."""
    out = Arrivals()
    finals = []
    for log in logs.values():
        applied = reference_base.applied(log, LATENESS_MS, dossier=False)
        for index, (kind, item) in enumerate(log):
            if kind != "event":
                continue
            eid = str(item.event_id)
            out.deliveries += 1
            out.events.setdefault(eid, item)
            wm = applied.watermarks[index]
            minute_end = reference_base.bounds(to_ms(item.event_time), "1m")[1]
            if wm is not None and wm >= minute_end + LATENESS_MS:
                out.late.setdefault(eid, wm)
            elif eid not in out.late:
                out.on_time.add(eid)
        assert applied.final_wm is not None, "a partition without a record: no tick reached it"
        finals.append(applied.final_wm)
    out.final_wm = min(finals)
    return out


# --- the processes --------------------------------------------------------------------------


@dataclass
class LatePipeline:
    """A stream stack's worker and sink (``ioc worker``, ``ioc sink``) on one database."""

    stack: StreamStack
    database: str
    client: Any
    """clickhouse_driver.Client of the real server."""
    sink_group: str
    sink: subprocess.Popen[bytes] | None = None

    @property
    def topic(self) -> str:
        return self.stack.source(Domain.TRAFFIC)

    def start(self) -> None:
        """The sink, then a worker that closes windows itself (control ticks every second)."""
        env = {
            **self.stack.env,
            "IOC_CLICKHOUSE_DATABASE": self.database,
            "IOC_SINK_GROUP_ID": self.sink_group,
            "IOC_SINK_METRICS_PORT": str(free_port()),
            "IOC_SINK_BATCH_MAX_AGE_S": "0.2",
        }
        log = (self.stack.log_dir / "sink.log").open("wb")
        self.sink = subprocess.Popen(
            [sys.executable, "-m", "ioc", "sink", "--topic-suffix", self.stack.suffix],
            cwd=PROJECT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.stack.processes.append(self.sink)  # stopped by the fixture
        self.stack.env["IOC_STREAM_TICK_INTERVAL_S"] = "1"
        self.stack.start_worker()

    def run_live(self, live: list[TrafficObservation], profile: Profile) -> None:
        """``live`` in the topic, then the sink and worker started: the worker meets it on
        time, its control ticks close the windows, and ClickHouse must equal the reference
        (so a later failure is about late data, not this harness)."""
        self.stack.produce(Domain.TRAFFIC, live)
        self.start()
        arrivals = self.settle()
        assert arrivals.deliveries == len(live), (arrivals.deliveries, len(live))
        assert not arrivals.late, "the live data must be on time"
        self.check(arrivals, profile, "while live, before any late event")

    def logs(self) -> str:
        sink = self.stack.log_dir / "sink.log"
        tail = sink.read_text(errors="replace")[-4000:] if sink.exists() else "(none)"
        return f"{self.stack.logs()}\n----- sink.log -----\n{tail}"

    def alive(self) -> None:
        dead = [p.args for p in self.stack.processes if p.poll() is not None]
        assert not dead, f"exited: {dead}\n{self.logs()}"

    def load_file(self, path: Path, lines: int) -> None:
        """``ioc connector file`` into this stack's traffic topic, as an operator would."""
        env = {**self.stack.env, "IOC_CONNECTOR_TOPIC_SUFFIX": self.stack.suffix, "COLUMNS": "200"}
        done = subprocess.run(
            [sys.executable, "-m", "ioc", "connector", "file", str(path),
             "--stream", "traffic", "--no-progress"],
            cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"accepted {lines}, dead-lettered 0" in done.stderr, done.stderr

    def settle(self, timeout_s: float = 90) -> Arrivals:
        """A tick at the machine's now into every partition, the worker past everything
        delivered, the sink past every KPI record; then what the worker read, judged."""
        skew_ms = self.stack.settings.max_clock_skew_s * 1000
        self.stack.produce_ticks(Domain.TRAFFIC, to_ms(datetime.now(UTC)) - skew_ms)
        ends = {tp: n for tp, n in self.stack.end_offsets().items() if tp[0] == self.topic}

        def processed() -> bool:
            self.alive()
            done = self.stack.committed()
            return all(done.get(tp, 0) >= n for tp, n in ends.items())

        self.stack.wait_for(processed, timeout_s, "the worker to commit every delivered record")
        self.wait_for_sink(timeout_s)
        return judge(self.read_logs(ends))

    def wait_for_sink(self, timeout_s: float) -> None:
        kpi = end_offsets(self.stack.settings, [self.stack.topic(KPI)])

        def written() -> bool:
            self.alive()
            consumer = KafkaConsumer(
                **kafka_client_options(self.stack.settings),
                group_id=self.sink_group,
                enable_auto_commit=False,
            )
            try:
                return all(
                    (consumer.committed(TopicPartition(t, p)) or 0) >= n
                    for (t, p), n in kpi.items()
                )
            finally:
                consumer.close()

        wait_for(written, timeout_s, "the sink to commit every KPI record")

    def read_logs(self, ends: dict[tuple[str, int], int]) -> dict[int, Log]:
        """Each traffic partition up to ``ends``: ("tick", ms) or ("event", observation)."""
        logs: dict[int, Log] = {p: [] for t, p in ends if t == self.topic}
        records = sorted(self.stack.read_all(self.topic), key=lambda r: (r.partition, r.offset))
        for r in records:
            if r.offset >= ends[(self.topic, r.partition)]:
                continue
            if any(k == CONTROL_HEADER for k, _ in r.headers or ()):
                logs[r.partition].append(("tick", int(r.timestamp)))
            else:
                logs[r.partition].append(("event", TrafficObservation.model_validate_json(r.value)))
        return logs

    def rows(self) -> dict[Key, dict[str, Any]]:
        """kpi_traffic_live (FINAL, one row per window) by (kind, entity, size, start ms)."""
        data, columns = self.client.execute(
            "SELECT *, toUnixTimestamp(window_start) AS start_s, "
            f"toUnixTimestamp(window_end) AS end_s FROM {self.database}.kpi_traffic_live",
            with_column_types=True,
        )
        names = [name for name, _ in columns]
        out: dict[Key, dict[str, Any]] = {}
        for values in data:
            row = dict(zip(names, values, strict=True))
            key = (row["entity_kind"], row["entity_id"], row["window_size"], row["start_s"] * 1000)
            assert key not in out, f"two live rows for {key}"
            out[key] = row
        return out

    def check(self, arrivals: Arrivals, profile: Profile, what: str) -> dict[Key, dict[str, Any]]:
        """Every closed window equals the reference; polled a little (the sink's last
        batch), then the differences are the failure."""
        problems: list[str] = []
        rows: dict[Key, dict[str, Any]] = {}

        def equal() -> bool:
            nonlocal problems, rows
            rows = self.rows()
            problems = compare(rows, arrivals, profile)
            return not problems

        try:
            wait_for(equal, 15, f"kpi_traffic_live to equal the reference {what}", 1.0)
        except pytest.fail.Exception:
            raise AssertionError(f"{what}:\n" + "\n".join(problems[:40])) from None
        return rows


# --- comparison -----------------------------------------------------------------------------


def _same(have: Any, want: Any) -> bool:
    if have is None or want is None:
        return have is None and want is None
    if isinstance(want, float) or isinstance(have, float):
        return math.isclose(have, want, rel_tol=1e-9)
    return bool(have == want)


def compare(rows: dict[Key, dict[str, Any]], arrivals: Arrivals, profile: Profile) -> list[str]:
    """Closed windows of ClickHouse against the reference over the distinct events: the
    same keys both ways, integer parts exactly, floats to 1e-9 relative. [] when equal."""
    expected = reference.traffic(list(arrivals.events.values()), profile)
    want = {e.key: e for e in expected if arrivals.closed(e.end_ms)}
    got = {k: r for k, r in rows.items() if arrivals.closed(r["end_s"] * 1000)}
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    differ: list[str] = []
    differing: set[Key] = set()
    for key in sorted(set(want) & set(got)):
        for name, value in want[key].parts.items():
            have = got[key].get(name, "(no column)")
            if not _same(have, value):
                differing.add(key)
                differ.append(f"{key} {name}: got {have!r}, want {value!r}")
    if not (missing or extra or differ):
        return []

    def by_size(keys: list[Key]) -> dict[str, int]:
        return dict(sorted(Counter(f"{k[0]} {k[2]}" for k in keys).items()))

    return [
        f"{len(want)} closed windows expected, {len(got)} in ClickHouse: {len(missing)} missing "
        f"{by_size(missing)}, {len(extra)} extra {by_size(extra)}, "
        f"{len(differing)} differ {by_size(sorted(differing))} (final watermark "
        f"{datetime.fromtimestamp(arrivals.final_wm / 1000, UTC).isoformat()})",
        *(f"missing {k}: {want[k].parts}" for k in missing[:8]),
        *(f"extra {k}" for k in extra[:8]),
        *differ[:24],
    ]


def late_problems(rows: dict[Key, dict[str, Any]], arrivals: Arrivals) -> list[str]:
    """``late_events`` of the closed rows: per sensor minute exactly its distinct late events
    (so their sum is every distinct late event), > 0 on a window a late event reached well
    after it was dropped, 0 where no late event belongs. [] when right."""
    closed = {k: r for k, r in rows.items() if arrivals.closed(r["end_s"] * 1000)}
    if closed and "late_events" not in next(iter(closed.values())):
        return ["kpi_traffic_live has no late_events column"]
    index = arrivals.late_index()
    problems: list[str] = []
    total = 0
    for key, row in sorted(closed.items()):
        kind, _, size, _ = key
        count, wms = int(row["late_events"]), index.get(key, [])
        if kind == "sensor" and size == "1m":
            total += count
            if count != len(wms):
                problems.append(f"{key}: late_events {count}, want {len(wms)}")
        elif not wms and count:
            problems.append(f"{key}: late_events {count} but no late event belongs there")
        elif wms and not count and max(wms) >= row["end_s"] * 1000 + LATENESS_MS + MARGIN_MS:
            problems.append(f"{key}: corrected by {len(wms)} late events, late_events 0")
    if total != len(arrivals.late):
        problems.insert(
            0, f"sum of late_events over sensor 1m rows {total}, want {len(arrivals.late)}"
        )
    return problems


# --- the operator's rebuild -----------------------------------------------------------------


def rebuild(
    stack: StreamStack, database: str, into: str, first: datetime, end: datetime
) -> subprocess.CompletedProcess[str]:
    """``ioc replay rebuild --from first --to end --domain traffic`` into another database."""
    env = {**stack.env, "IOC_CLICKHOUSE_DATABASE": database, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "ioc", "replay", "rebuild", "--from", first.isoformat(),
         "--to", end.isoformat(), "--domain", "traffic", "--into-database", into, "--execute"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


PARTS = KPI_PARTS["traffic"]  # the sink's own column list of the parts


def live_rows(ch: Any, database: str, first: datetime, end: datetime) -> dict[Key, tuple[Any, ...]]:
    """The parts of every kpi_traffic_live window inside [first, end), by key."""
    rows = ch.execute(
        f"SELECT entity_kind, entity_id, window_size, toUnixTimestamp(window_start), "
        f"{', '.join(PARTS)} FROM {database}.kpi_traffic_live "
        f"WHERE window_start >= toDateTime({int(first.timestamp())}) "
        f"AND window_end <= toDateTime({int(end.timestamp())})"
    )
    return {(r[0], r[1], r[2], int(r[3]) * 1000): tuple(r[4:]) for r in rows}


def same_parts(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return all(_same(x, y) for x, y in zip(a, b, strict=True))
