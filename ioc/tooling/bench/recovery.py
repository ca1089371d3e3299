"""Phase (f): a rebalance and a state recovery at ≈ 100,000 entities.

On its own data set (``--recovery-copies``, ×310 by default), so the other phases keep
their size, and without sink or ClickHouse: "processing again" is read from the workers'
committed offsets, which cover a record only once its results and state writes are
acknowledged (streams/runtime/partition.py). Steps, one worker process each:

1. *fill*: worker 0 alone processes the history (the data set less the probes) — state
   for every entity, windows still open (no closing tick);
2. *join*: worker 1 starts; the group rebalances and worker 1 rebuilds its partitions'
   state from the changelogs;
3. *leave*: worker 1 gets SIGTERM; worker 0 takes its partitions back;
4. *restart*: worker 0 is SIGKILLed, its faust data directory deleted, and it is started
   again: every partition's state comes back from the changelogs.

Each step after the fill produces a probe (new events of the data set and one control tick
per source partition stamped in the past, which moves no watermark) once the group is
disturbed; the step is done when the group is stable, every member logged faust's
``Worker ready`` after the start, and the probe is committed (recovery_figures).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ioc.tooling.bench import faustlog
from ioc.tooling.bench.dataset import BenchRecord
from ioc.tooling.bench.faustlog import Event
from ioc.tooling.bench.kafka_ops import Offsets, load, out_records, send_ticks
from ioc.tooling.bench.pipeline import POLL_S, PipelinePhase
from ioc.tooling.bench.procs import Proc, sample_all
from ioc.tooling.bench.recovery_figures import (
    Marks,
    after,
    bytes_read,
    changelog_figures,
    per,
    state_check,
)
from ioc.tooling.bench.stack import RunContext
from ioc.tooling.bench.stats import rate

PROBE_EVENTS = 300
"""New events per step: a few per partition, far too few to add processing time."""
STEPS = 3

Key = tuple[str, int]


class _Phase:
    """The phase's processes, Kafka views and probes."""

    def __init__(self, ctx: RunContext, timeout_s: float) -> None:
        self.ctx = ctx
        self.p = PipelinePhase(ctx, ctx.names("rec"), workers=0)
        self.offsets = Offsets(ctx.settings)
        self.timeout_s = timeout_s
        records = ctx.dataset.records
        cut = len(records) - STEPS * PROBE_EVENTS
        self.history = records[:cut]
        self.probes = [records[cut + i * PROBE_EVENTS : cut + (i + 1) * PROBE_EVENTS]
                       for i in range(STEPS)]  # fmt: skip
        self.retired: list[Proc] = []

    @property
    def app_id(self) -> str:
        return self.p.names.app_id

    @property
    def sources(self) -> list[str]:
        return list(self.p.sources.values())

    def events(self, proc: Proc, start: float) -> list[Event]:
        return faustlog.since(faustlog.parse(proc.log.read_text(errors="replace")), start)

    def poll(self, done: Callable[[], bool], what: str) -> float:
        """Until ``done`` (every live process sampled, failing fast if one died)."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            sample_all(self.p.procs)
            if done():
                return time.time()
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {p.name}\n{p.tail(1500)}" for p in self.p.procs)
                raise TimeoutError(f"recovery: no {what} after {self.timeout_s:.0f} s\n{tails}")
            time.sleep(POLL_S)

    def retire(self, proc: Proc) -> None:
        """Take a worker out of the live set (it is stopping or stopped on purpose)."""
        self.p.procs.remove(proc)
        self.retired.append(proc)

    # --- Kafka views -------------------------------------------------------------------

    def changelogs(self) -> tuple[dict[Key, int], dict[Key, int]]:
        """(offsets held, bytes) per changelog partition."""
        topics = [t for t in self.offsets.topics_starting(self.app_id + "-")
                  if t.endswith("-changelog")]  # fmt: skip
        ends = self.offsets.ends(topics)
        starts = self.offsets.beginnings(topics)
        spans = {(tp.topic, tp.partition): end - starts.get(tp, 0) for tp, end in ends.items()}
        sizes = {(tp.topic, tp.partition): size for tp, size in self.offsets.sizes(topics).items()}
        return spans, sizes

    def probe(self, records: list[BenchRecord]) -> dict[Key, int]:
        """Produce a probe; return the last offset applied per (stream, partition) before it."""
        ends = self.offsets.ends(self.sources)
        streams = {topic: domain.value for domain, topic in self.p.sources.items()}
        load(self.ctx.settings, out_records(records, self.p.names.suffix))
        partitions = {t: len(self.offsets.partitions(t)) for t in self.sources}
        send_ticks(self.ctx.settings, partitions, self.ctx.dataset.first_ms)
        return {(streams[tp.topic], tp.partition): end - 1 for tp, end in ends.items()}

    # --- one step --------------------------------------------------------------------------

    def settle(self, members: list[Proc], start: float) -> Marks:
        """Poll until the group is stable with ``members``, recovered and caught up."""
        marks = Marks(start)
        streams = {topic: domain.value for domain, topic in self.p.sources.items()}

        def done() -> bool:
            now = time.time()
            logs = [self.events(p, start) for p in members]
            # Each member assigned since the start: a killed member stays in a Stable group
            # until its session times out, and must not count as the new one.
            assigned = all(faustlog.first(e, "assigned") is not None for e in logs)
            stable = assigned and self.offsets.stable_members(self.app_id) == len(members)
            recovered = all(faustlog.settled(e) for e in logs)
            committed = self.offsets.committed(self.app_id)
            caught = True
            for tp, end in self.offsets.ends(self.sources).items():
                if end and committed.get(tp, 0) < end:
                    caught = False
                else:
                    marks.partitions.setdefault(f"{streams[tp.topic]}[{tp.partition}]", now)
            if stable and marks.stable is None:
                marks.stable = now
            if caught and marks.caught_up is None:
                marks.caught_up = now
            if not (stable and recovered and caught):
                return False
            readies = [faustlog.last(e, "ready") for e in logs]
            marks.recovered = max(r.at for r in readies if r is not None)
            marks.done = now
            return True

        self.poll(done, "stable, recovered group with its probe processed")
        return marks

    def replayed(
        self, proc: Proc, start: float, spans: dict[Key, int], sizes: dict[Key, int]
    ) -> dict[str, Any]:
        """What ``proc``'s last recovery since ``start`` read from the changelogs."""
        events = self.events(proc, start)
        plan = faustlog.replay_plan(events)
        begun = faustlog.last(events, "restoring")
        ended = faustlog.last(events, "done_reading")
        seconds = None if begun is None or ended is None else after(begun.at, ended.at)
        records = sum(plan.values())
        return {
            "records": records,
            "bytes": bytes_read(plan, spans, sizes),
            "partitions": len(plan),
            "seconds": seconds,
            "records_per_s": None if seconds is None else per(records, seconds, 0),
        }

    def loaded(self, procs: list[Proc], start: float) -> list[faustlog.Loaded]:
        return [e.loaded for p in procs for e in self.events(p, start) if e.loaded is not None]


def _fill(run: _Phase, worker: Proc) -> dict[str, Any]:
    run.poll(
        lambda: (
            faustlog.first(run.events(worker, 0), "app_ready") is not None
            and run.offsets.stable_members(run.app_id) == 1
        ),
        "ready worker",
    )
    cpu = run.p.worker_cpu_s()
    started = time.time()
    load(run.ctx.settings, out_records(run.history, run.p.names.suffix))
    done = run.poll(lambda: run.offsets.caught_up(run.app_id, run.sources), "end of the fill")
    cpu = run.p.worker_cpu_s() - cpu
    return {
        "events": len(run.history),
        "seconds": round(done - started, 2),
        "events_per_s": rate(len(run.history), done - started),
        "worker_cpu_s": round(cpu, 2),
        "events_per_worker_cpu_s": rate(len(run.history), cpu),
    }


def _join(run: _Phase, old: Proc) -> tuple[dict[str, Any], Proc]:
    spans, sizes = run.changelogs()
    spawned = time.time()
    new = run.p.spawn_worker(1)
    # The join request: the newcomer revokes its (empty) assignment right before it.
    asked = run.poll(lambda: faustlog.first(run.events(new, spawned), "revoke") is not None,
                     "join request")  # fmt: skip
    start = faustlog.first(run.events(new, spawned), "revoke")
    start_at = start.at if start is not None else asked
    # Probed once the old member has stopped: no record of it can be processed before
    # the new assignment and its recovery.
    run.poll(lambda: faustlog.first(run.events(old, start_at), "revoke") is not None,
             "rebalance in the old member")  # fmt: skip
    told = faustlog.first(run.events(old, start_at), "revoke")
    expected = run.probe(run.probes[0])
    marks = run.settle([old, new], start_at)
    return {
        "startup_s": after(spawned, start_at),
        "old_member_told_s": after(start_at, told.at if told else None),
        **marks.seconds(),
        "replayed": {p.name: run.replayed(p, start_at, spans, sizes) for p in (old, new)},
        "state": state_check(run.loaded([old, new], start_at), expected),
    }, new


def _leave(run: _Phase, stays: Proc, leaves: Proc) -> dict[str, Any]:
    spans, sizes = run.changelogs()
    run.retire(leaves)
    start = time.time()
    leaves.popen.terminate()
    expected = run.probe(run.probes[1])
    marks = run.settle([stays], start)
    leaves.stop()
    left = faustlog.first(run.events(leaves, start), "left")
    return {
        "left_group_s": after(start, left.at if left else None),
        **marks.seconds(),
        "replayed": {stays.name: run.replayed(stays, start, spans, sizes)},
        "state": state_check(run.loaded([stays], start), expected),
    }


def _tree_bytes(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file()] if path.exists() else []
    return len(files), sum(p.stat().st_size for p in files)


def _restart(run: _Phase, victim: Proc) -> tuple[dict[str, Any], Proc]:
    run.retire(victim)
    killed = time.time()
    victim.sample()
    victim.popen.kill()
    victim.popen.wait(timeout=30)
    state_dir = run.p.state_dir(0)
    files, size = _tree_bytes(state_dir)
    shutil.rmtree(state_dir, ignore_errors=True)
    spans, sizes = run.changelogs()
    expected = run.probe(run.probes[2])
    start = time.time()
    worker = run.p.spawn_worker(0, "-restarted")
    marks = run.settle([worker], start)
    worker.sample()
    events = run.events(worker, start)
    joined = faustlog.last(events, "joined")
    ready = faustlog.first(events, "app_ready")
    replay = run.replayed(worker, start, spans, sizes)
    memory = run.ctx.settings.stream_store.startswith("memory://")
    return {
        "local_state_deleted": {"path": str(state_dir), "files": files, "bytes": size},
        # With the memory store nothing of the state is on disk: a restart that keeps the
        # directory replays the same changelogs, so it is not run separately.
        "restart_with_local_state_kept": "same as this (memory:// store)" if memory else None,
        "kill_to_start_s": after(killed, start),
        "joined_s": after(start, joined.at if joined else None),
        "ready_s": after(start, ready.at if ready else None),
        **marks.seconds(),
        "kill_to_processing_s": after(killed, marks.done),
        "replayed": {worker.name: replay},
        "changelog_at_kill": changelog_figures(spans, sizes),
        "peak_rss_mb": round(worker.peak_rss_mb, 1),
        "cpu_s": round(worker.cpu_s, 1),
        "state": state_check(run.loaded([worker], start), expected),
    }, worker


def run_recovery(ctx: RunContext, timeout_s: float) -> dict[str, Any]:
    """Fill, join, leave, kill and restart on ``ctx``'s data set (its own, ×310)."""
    started = time.time()
    data = ctx.dataset
    run = _Phase(ctx, timeout_s)
    try:
        run.p.create(database=False)
        run.p.timeline.spawned = time.time()
        first = run.p.spawn_worker(0)
        fill = _fill(run, first)
        spans, sizes = run.changelogs()
        changelog = changelog_figures(spans, sizes, len(run.history), data.entities)
        join, second = _join(run, first)
        leave = _leave(run, first, second)
        restart, _ = _restart(run, first)
        run.p.stop()
        procs = run.retired + run.p.procs
        return {
            "probe_events": PROBE_EVENTS,
            "store": ctx.settings.stream_store,
            "session_timeout_s": ctx.settings.consumer_session_timeout_ms / 1000,
            "fill": fill,
            "changelog": changelog,
            "join": join,
            "leave": leave,
            "restart": restart,
            "peak_rss_mb": {p.name: round(p.peak_rss_mb, 1) for p in procs},
            "cpu_s": {p.name: round(p.cpu_s, 1) for p in procs},
            "wall_s": round(time.time() - started, 1),
        }
    finally:
        run.p.stop()
        for proc in run.retired:
            proc.stop()
        run.offsets.close()
        run.p.cleanup()
