"""One faust agent per domain: a source topic's records, in batches, to its runtime."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streams.domains import EngineFactory
    from streams.runtime.app import SourceTopic, Worker
    from streams.runtime.partition import DomainRuntime


def register(worker: Worker, factory: EngineFactory, source: SourceTopic) -> DomainRuntime:
    """Add the domain's agent (concurrency 1: records of a partition in offset order)."""
    runtime = worker.runtime(factory, source)
    size, within = worker.config.batch_size, worker.config.batch_within_s

    @worker.app.agent(worker.source_topic(source), name=factory.spec.agent, concurrency=1)
    async def agent(stream: Any) -> None:
        # noack_take: records are acked by the runtime only after their results and
        # state are delivered, never by faust when the batch is handed over.
        async for events in stream.noack_take(size, within=within):
            await runtime.handle(stream, events)

    return runtime
