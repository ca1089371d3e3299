"""ioc.dossier.status.v1 → KPIs per agency, day and month to date; anomalies; dead letters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from schemas.results import Domain
from streams.kpi.dossier import DossierLogic

if TYPE_CHECKING:
    from streams.runtime.app import SourceTopic, Worker
    from streams.runtime.partition import DomainRuntime

AGENT = "ioc-dossier"
"""Stable agent name (faust derives consumer state from it)."""


def register(worker: Worker, source: SourceTopic) -> DomainRuntime:
    """Add the dossier agent (concurrency 1: records of a partition in offset order)."""
    runtime = worker.runtime(Domain.DOSSIER, DossierLogic, source)
    size, within = worker.config.batch_size, worker.config.batch_within_s

    @worker.app.agent(worker.source_topic(source), name=AGENT, concurrency=1)
    async def dossier(stream: Any) -> None:
        # noack_take: records are acked by the runtime only after their results and
        # state are delivered, never by faust when the batch is handed over.
        async for events in stream.noack_take(size, within=within):
            await runtime.handle(stream, events)

    return runtime
