"""Phase (d): our traffic KPI job against the same job in Quix Streams.

Both read the same traffic data (the data set's traffic events plus, per partition, one
later observation that closes every window — a control tick would be garbage to the
peer), each from its own copy of the topic loaded once the job is ready, and write
their KPI records to a Kafka topic stamped by the broker on append (LogAppendTime), so
"when was the last record written" reads the same for both. Each runs alone, one after
the other, timed from the start of its load to the last record appended.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from aiokafka.partitioner import murmur2

from ioc.kafka_client import librdkafka_options
from ioc.tooling.bench.dataset import BenchRecord, restamp
from ioc.tooling.bench.kafka_ops import Offsets, TopicPlan, create_topics, load
from ioc.tooling.bench.pipeline import PipelinePhase
from ioc.tooling.bench.procs import Proc, spawn
from ioc.tooling.bench.stack import RunContext
from ioc.tooling.bench.stats import rate, ratio
from schemas.results import Domain
from schemas.topics import KPI, TRAFFIC_OBS
from streams.runtime.sender import OutRecord
from streams.windows import DAY_MS, MINUTE_MS

PEER_APP = Path(__file__).with_name("peer_app.py")
PEER_KAFKA_ENV = "IOC_BENCH_PEER_KAFKA"
"""The peer's librdkafka TLS and SASL settings, as JSON (not on its command line)."""


def _closers(
    traffic: list[BenchRecord], partitions: int, at_ms: int, tag: str
) -> list[BenchRecord]:
    """One new observation per partition at ``at_ms`` (a fresh event id: not a duplicate)."""
    found: dict[int, BenchRecord] = {}
    for record in traffic:
        partition = (murmur2(record.key) & 0x7FFFFFFF) % partitions
        found.setdefault(partition, record)
    closers = []
    for partition, record in sorted(found.items()):
        moved = restamp(record, at_ms)
        payload = orjson.loads(moved.value)
        payload["event_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"ioc-bench/{tag}/{partition}"))
        closers.append(BenchRecord(moved.topic, moved.key, orjson.dumps(payload), at_ms))
    return closers


def _timed(
    ctx: RunContext, phase: PipelinePhase, proc_ready: Any, offsets: Offsets, group: str,
    source: str, output: str, data: list[BenchRecord], timeout_s: float,
) -> dict[str, Any]:  # fmt: skip
    phase.wait(proc_ready, 120, "ready job")
    ready = time.time()
    for proc in phase.procs:
        proc.sample()
    cpu_ready = sum(p.cpu_s for p in phase.procs)
    # Loaded once the job is up (joined, state recovered): start-up stays out, and a
    # job faster than our polling cannot finish before the clock starts.
    loading = time.time()
    load(ctx.settings, [OutRecord(source, r.key, r.value, None, r.timestamp_ms) for r in data])
    phase.wait(lambda: offsets.caught_up(group, [source]), timeout_s, "end of input")
    for proc in phase.procs:
        proc.sample()
    cpu = sum(p.cpu_s for p in phase.procs) - cpu_ready
    phase.stop()
    last_ms = offsets.last_timestamp(output)
    seconds = None if last_ms is None else last_ms / 1000 - loading
    return {
        "events": len(data),
        "startup_s": round(ready - phase.timeline.spawned, 2),
        "seconds": None if seconds is None else round(seconds, 2),
        "events_per_s": rate(len(data), seconds),
        "cpu_s_processing": round(cpu, 2),
        "events_per_cpu_s": rate(len(data), cpu),
        "output_records": sum(offsets.ends([output]).values()),
        "peak_rss_mb": max(phase.rss_mb().values(), default=0.0),
        "cpu_s": sum(phase.cpu_s().values()),
    }


def run_peer(ctx: RunContext, peer_python: Path, timeout_s: float) -> dict[str, Any]:
    """Our ``ioc worker --domain traffic`` then the Quix Streams job, on the same data."""
    names = ctx.names("peer")
    phase = PipelinePhase(ctx, names, workers=1, domains=(Domain.TRAFFIC,))
    offsets = Offsets(ctx.settings)
    source = TRAFFIC_OBS + names.suffix
    peer_source = source + ".quix"
    peer_output = f"ioc.tooling.bench.quix-kpi{names.suffix}"
    lateness_ms = ctx.settings.allowed_lateness_s * 1000
    results: dict[str, Any] = {}
    peer_phase = PipelinePhase(ctx, names, workers=0, domains=(Domain.TRAFFIC,))
    try:
        phase.create(log_append_kpi=True, database=False)
        create_topics(
            ctx.settings,
            [
                TopicPlan(peer_source, TRAFFIC_OBS),
                TopicPlan(peer_output, KPI, log_append_time=True),
            ],
        )
        traffic = [r for r in ctx.dataset.records if r.topic == TRAFFIC_OBS]
        partitions = len(offsets.partitions(source))
        close_at = ctx.dataset.last_ms + DAY_MS + lateness_ms + MINUTE_MS
        data = traffic + _closers(traffic, partitions, close_at, ctx.tag)

        phase.start(sink=False)
        ours = phase.worker_procs[0]
        results["ours"] = _timed(
            ctx, phase,
            lambda: b"Ready" in ours.log.read_bytes()
            and offsets.stable_members(names.app_id) == 1,
            offsets, names.app_id, source, KPI + names.suffix, data, timeout_s,
        )  # fmt: skip

        group = f"quix-bench-{ctx.tag}-peer"
        state = ctx.workdir / "peer" / "quix-state"
        argv = [
            str(peer_python), str(PEER_APP), "--broker", ctx.settings.kafka_bootstrap,
            "--broker-config-env", PEER_KAFKA_ENV,
            "--input", peer_source, "--output", peer_output, "--group", group,
            "--state-dir", str(state), "--grace-ms", str(lateness_ms),
        ]  # fmt: skip
        peer_phase.timeline.spawned = time.time()
        env = {**ctx.env(), PEER_KAFKA_ENV: json.dumps(librdkafka_options(ctx.settings))}
        quix: Proc = spawn("peer-quix", argv, env, ctx.workdir, ctx.logs)
        peer_phase.procs.append(quix)
        results["quix"] = _timed(
            ctx, peer_phase, lambda: offsets.stable_members(group) == 1,
            offsets, group, peer_source, peer_output, data, timeout_s,
        )  # fmt: skip
        results["ratio"] = ratio(results["ours"]["events_per_s"], results["quix"]["events_per_s"])
        results["ratio_cpu"] = ratio(
            results["ours"]["events_per_cpu_s"], results["quix"]["events_per_cpu_s"]
        )
        return results
    finally:
        phase.stop()
        peer_phase.stop()
        offsets.close()
        phase.cleanup()
