"""Phase (b): the full pipeline at saturation, and phase (a): the bare-consumer baseline.

The data are followed by one control tick per partition that closes every window (what
an idle worker's own tick does), so "the last KPI row" is well defined: the rows those
closes produce. The pipeline's processes are started and ready (recovered, group
stable) before the load, which takes a second or two — far less than the pipeline
needs — so start-up and the join of two workers stay out of the figure (reported
apart). The baseline reads topics loaded before it starts.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import orjson

from ioc.tooling.bench.kafka_ops import Offsets, delete_run_topics, load, out_records, send_ticks
from ioc.tooling.bench.pipeline import EVENT_TABLES, KPI_TABLES, PipelinePhase
from ioc.tooling.bench.procs import Proc, spawn
from ioc.tooling.bench.profiling import attach, summarize
from ioc.tooling.bench.stack import RunContext, python
from ioc.tooling.bench.stats import rate
from streams.windows import DAY_MS, MINUTE_MS


def _preload(ctx: RunContext, phase: PipelinePhase, offsets: Offsets) -> None:
    load(ctx.settings, out_records(ctx.dataset.records, phase.names.suffix))
    # Past every window of the data (1 d included) plus the allowed lateness.
    close_all = ctx.dataset.last_ms + DAY_MS + ctx.settings.allowed_lateness_s * 1000 + MINUTE_MS
    partitions = {t: len(offsets.partitions(t)) for t in phase.sources.values()}
    send_ticks(ctx.settings, partitions, close_all)


def _table_figures(ctx: RunContext, database: str, tables: tuple[str, ...]) -> tuple[int, int]:
    """(rows, max written_at_ms) over ``tables``."""
    executor = ctx.executor()
    try:
        rows = last = 0
        for table in tables:
            count, latest = executor.execute(
                f"SELECT count(), max(written_at_ms) FROM {database}.{table}"
            )[0]
            rows += int(count)
            last = max(last, int(latest))
        return rows, last
    finally:
        executor.close()


def _profile(spy: Proc | None, out: Path) -> dict[str, Any] | None:
    if spy is None:
        return None
    try:
        spy.popen.wait(timeout=30)  # py-spy writes its file when the worker has exited
    except subprocess.TimeoutExpired:
        spy.stop()
    if not out.exists():
        return {"file": str(out), "error": spy.tail(500)}
    samples, hottest = summarize(out.read_text().splitlines())
    return {
        "file": str(out),
        "samples": samples,
        "hottest": [
            {"function": h.function, "self": h.self_share, "inclusive": h.inclusive_share}
            for h in hottest
        ],
    }


def run_saturation(
    ctx: RunContext, workers: int, timeout_s: float, profile_to: Path | None = None
) -> dict[str, Any]:
    """Pre-load, start sink + workers, time until the last KPI row is in ClickHouse."""
    phase = PipelinePhase(ctx, ctx.names(f"sat-{workers}w"), workers)
    offsets = Offsets(ctx.settings)
    spy: Proc | None = None
    try:
        phase.create()
        phase.start()
        if profile_to is not None:
            spy = attach(ctx, phase.worker_procs[0], profile_to)
        phase.wait_ready(offsets)
        # Loaded once every process is up: start-up (and two workers' join and
        # rebalance) stays out of the figure; the load is far faster than the pipeline.
        cpu_before = phase.worker_cpu_s()
        loading = time.time()
        _preload(ctx, phase, offsets)
        loaded = time.time()
        phase.wait_done(offsets, timeout_s)
        worker_cpu = phase.worker_cpu_s() - cpu_before
        phase.stop()
        profile = None if profile_to is None else _profile(spy, profile_to)
        kpi_rows, last_kpi_ms = _table_figures(ctx, phase.names.database, KPI_TABLES)
        raw_rows, last_raw_ms = _table_figures(ctx, phase.names.database, EVENT_TABLES)
        other_rows, _ = _table_figures(ctx, phase.names.database, ("anomalies", "deadletter"))
        events = len(ctx.dataset.records)
        t = phase.timeline
        seconds = last_kpi_ms / 1000 - loading
        return {
            "workers": workers,
            "events": events,
            "startup_s": round(t.ready - t.spawned, 2),
            "seconds": round(seconds, 2),
            "events_per_s": rate(events, seconds),
            "load_s": round(loaded - loading, 2),
            "worker_cpu_s": round(worker_cpu, 2),
            "events_per_worker_cpu_s": rate(events, worker_cpu),
            "raw_rows": raw_rows,
            "kpi_rows": kpi_rows,
            "anomaly_and_deadletter_rows": other_rows,
            "last_raw_after_s": round(last_raw_ms / 1000 - loading, 2),
            "peak_rss_mb": phase.rss_mb(),
            "cpu_s": phase.cpu_s(),
            "profile": profile,
        }
    finally:
        phase.stop()
        if spy is not None:
            spy.stop()
        offsets.close()
        phase.cleanup()


def run_baseline(ctx: RunContext, timeout_s: float) -> dict[str, Any]:
    """A bare consumer over the same pre-loaded topics (fetch + orjson, nothing else)."""
    phase = PipelinePhase(ctx, ctx.names("base"), workers=0)
    offsets = Offsets(ctx.settings)
    try:
        phase.create(database=False)
        _preload(ctx, phase, offsets)
        expect = sum(offsets.ends(phase.sources.values()).values())
        argv = [
            python(),
            "-m",
            "ioc.tooling.bench.baseline",
            "--topics",
            ",".join(f"{t}:{len(offsets.partitions(t))}" for t in phase.sources.values()),
            "--expect",
            str(expect),
        ]
        proc = spawn("base-consumer", argv, ctx.env(), ctx.workdir, ctx.logs)
        phase.procs.append(proc)
        deadline = time.monotonic() + timeout_s
        while proc.alive() and time.monotonic() < deadline:
            proc.sample()
            time.sleep(0.05)
        if proc.popen.returncode != 0:
            raise RuntimeError(f"baseline consumer failed:\n{proc.tail()}")
        result = orjson.loads(proc.log.read_bytes().strip().splitlines()[-1])
        return {
            "records": result["records"],
            "seconds": round(result["seconds"], 3),
            "events_per_s": rate(result["records"], result["seconds"]),
            "events_per_cpu_s": rate(result["records"], result["cpu_s"]),
            "mb_per_s": (rate(result["bytes"], result["seconds"]) or 0) / 1e6,
            "peak_rss_mb": phase.rss_mb(),
            "cpu_s": phase.cpu_s(),
        }
    finally:
        phase.stop()
        offsets.close()
        delete_run_topics(ctx.settings, f"{ctx.tag}-{phase.names.phase}")


def run_engine_only(ctx: RunContext, timeout_s: float) -> dict[str, Any]:
    """The worker's engines on the same data in one process without Kafka or faust."""
    data = ctx.workdir / "data.jsonl"
    with data.open("wb") as out:
        for r in ctx.dataset.records:
            line = [r.topic, r.key.decode(), r.value.decode(), r.timestamp_ms]
            out.write(orjson.dumps(line) + b"\n")
    argv = [python(), "-m", "ioc.tooling.bench.engine_only", "--data", str(data),
            "--profile", str(ctx.dataset.profile_path)]  # fmt: skip
    proc = spawn("engine-only", argv, ctx.env(), ctx.workdir, ctx.logs)
    try:
        proc.popen.wait(timeout=timeout_s)
    finally:
        proc.stop()
        data.unlink(missing_ok=True)
    if proc.popen.returncode != 0:
        raise RuntimeError(f"engine-only run failed:\n{proc.tail()}")
    result: dict[str, Any] = orjson.loads(proc.log.read_bytes().strip().splitlines()[-1])
    return result
