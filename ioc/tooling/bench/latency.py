"""Phase (c): the pipeline at a fixed rate; latencies read back from ClickHouse rows.

Raw events: ``written_at_ms − event_time_ms`` of every row (the sink stamps
``written_at_ms`` as it inserts). KPI rows: the first emission of every window that
closed during the feed, measured from the instant it *could* close — its end plus the
allowed lateness — and from its end (which adds the lateness). A window's own length
comes on top for its earliest event: that part is the definition of a 1-minute KPI, not
processing. A feed of a minute or two runs event time ahead of the wall clock so that a
window holding most of the feed closes inside it (see :mod:`ioc.tooling.bench.feed`); every
latency is against the wall clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ioc.kafka_client import kafka_client_options
from ioc.tooling.bench.feed import FeedResult, boundary_lead_ms, feed
from ioc.tooling.bench.kafka_ops import Offsets
from ioc.tooling.bench.pipeline import EVENT_TABLES, KPI_TABLES, PipelinePhase
from ioc.tooling.bench.stack import RunContext
from ioc.tooling.bench.stats import Spread


def _seconds(spread: Spread) -> dict[str, float | int | None]:
    def s(v: float | None) -> float | None:
        return None if v is None else round(v / 1000, 3)

    return {"count": spread.count, "p50_s": s(spread.p50), "p95_s": s(spread.p95),
            "p99_s": s(spread.p99), "max_s": s(spread.max)}  # fmt: skip


def _latencies(ctx: RunContext, database: str, lateness_ms: int, fed: FeedResult) -> dict[str, Any]:
    shift = fed.shift_ms  # event time − wall clock of the feed
    executor = ctx.executor()
    try:
        raw: list[float] = []
        for table in EVENT_TABLES:
            raw += [
                float(r[0] + shift)
                for r in executor.execute(
                    f"SELECT toInt64(written_at_ms) - toInt64(event_time_ms) "
                    f"FROM {database}.{table}"
                )
            ]
        from_close: list[float] = []
        from_end: list[float] = []
        by_size: dict[str, int] = {}
        for table in KPI_TABLES:
            rows = executor.execute(
                f"SELECT window_size, toInt64(toUnixTimestamp(window_end)) * 1000, "
                f"toInt64(written_at_ms) FROM {database}.{table} WHERE sequence = 1"
            )
            for size, window_end_ms, written_ms in rows:
                close_ms = window_end_ms + lateness_ms - shift  # on the wall clock
                if not fed.start_ms <= close_ms <= fed.end_ms:
                    continue  # closed by the end-of-feed drain, or before the feed
                from_close.append(written_ms - close_ms)
                from_end.append(written_ms - (window_end_ms - shift))
                by_size[size] = by_size.get(size, 0) + 1
    finally:
        executor.close()
    return {
        "raw": _seconds(Spread.of(raw)),
        "kpi_from_close": _seconds(Spread.of(from_close)),
        "kpi_from_window_end": _seconds(Spread.of(from_end)),
        "kpi_windows_by_size": by_size,
    }


def run_latency(
    ctx: RunContext,
    workers: int,
    *,
    rate: float,
    duration_s: float,
    lateness_s: int,
    timeout_s: float,
) -> dict[str, Any]:
    """Start sink + workers, feed ``rate`` events/s for ``duration_s``, read latencies."""
    phase = PipelinePhase(
        ctx, ctx.names(f"live-{workers}w"), workers, overrides={"allowed_lateness_s": lateness_s}
    )
    offsets = Offsets(ctx.settings)
    wanted = int(rate * duration_s)
    records = ctx.dataset.records[:wanted]
    if len(records) < wanted:
        raise ValueError(
            f"the data set has {len(ctx.dataset.records)} events; {wanted} needed for "
            f"{rate:g}/s × {duration_s:g} s (raise --events)"
        )
    try:
        phase.create()
        phase.start()
        phase.wait_ready(offsets)
        phase.wait(lambda: offsets.stable_members(phase.names.sink_group) == 1, 60, "ready sink")
        lead = boundary_lead_ms(int(duration_s * 1000), lateness_s * 1000)
        result = asyncio.run(
            feed(
                kafka_client_options(ctx.settings), records, phase.names.suffix, rate, lead_ms=lead
            )
        )
        phase.wait_done(offsets, timeout_s)
        phase.stop()
        figures = _latencies(ctx, phase.names.database, lateness_s * 1000, result)
        return {
            "workers": workers,
            "rate": rate,
            "duration_s": duration_s,
            "sent": result.sent,
            "achieved_rate": round(result.achieved_rate, 1),
            "feed_max_behind_s": result.max_behind_ms / 1000,
            "event_time_shift_s": result.shift_ms / 1000,
            "allowed_lateness_s": lateness_s,
            **figures,
            "peak_rss_mb": phase.rss_mb(),
            "cpu_s": phase.cpu_s(),
        }
    finally:
        phase.stop()
        offsets.close()
        phase.cleanup()
