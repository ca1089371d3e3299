"""ioc.traffic.obs.v1 → KPIs per sensor and road segment; anomalies; dead letters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemas.results import Domain
from streams.kpi.traffic import TrafficLogic

if TYPE_CHECKING:
    from streams.runtime.app import SourceTopic, Worker
    from streams.runtime.partition import DomainRuntime

AGENT = "ioc-traffic"
"""Stable agent name (faust derives consumer state from it)."""


def register(worker: Worker, source: SourceTopic) -> DomainRuntime:
    """Add the traffic agent (concurrency 1: records of a partition in offset order)."""
    runtime = worker.runtime(Domain.TRAFFIC, TrafficLogic, source)
    size, within = worker.config.batch_size, worker.config.batch_within_s

    @worker.app.agent(worker.source_topic(source), name=AGENT, concurrency=1)
    async def traffic(stream: Any) -> None:
        # noack_take: records are acked by the runtime only after their results and
        # state are delivered, never by faust when the batch is handed over.
        async for events in stream.noack_take(size, within=within):
            await runtime.handle(stream, events)

    return runtime
