"""Accepted notifications → each channel's recipients, retried with backoff (asyncio).

One bounded queue and one worker per channel, so a channel that fails or is rate
limited (Telegram's 429) delays only its own messages; the others go on. Messages of
one channel leave in order. A notification is accepted whole or not at all: when any
of its channels' queues is full, :meth:`Deliverer.offer` refuses it and the webhook
answers 503, and Alertmanager tries again later (decision 0028).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from connectors.sinks.notify.channels import Channel, DeliveryError
from connectors.sinks.notify.message import Message, TemplateConfig, render
from connectors.sinks.notify.metrics import NotifyMetrics
from connectors.sinks.notify.payload import Notification

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 6
    """Tries of one message, the first included."""
    initial_s: float = 1.0
    max_s: float = 60.0
    """Longest backoff between two tries."""
    retry_after_max_s: float = 300.0
    """A service's own Retry-After is honoured up to this (a longer one is not believed)."""

    def delay(self, failed_attempts: int, retry_after: float | None) -> float:
        """1, 2, 4… seconds up to the cap; the service's Retry-After when it gave one."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_max_s)
        return min(self.initial_s * 2.0 ** (failed_attempts - 1), self.max_s)


@dataclass(frozen=True, slots=True)
class Route:
    channel: Channel
    recipients: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Job:
    recipient: str
    message: Message
    accepted: float


class Deliverer:
    """Queues and workers of every configured channel."""

    def __init__(
        self,
        routes: Sequence[Route],
        templates: TemplateConfig,
        metrics: NotifyMetrics,
        *,
        policy: RetryPolicy | None = None,
        queue_size: int = 1_000,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.routes = [r for r in routes if r.recipients]
        self.templates = templates
        self.metrics = metrics
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._queues: dict[str, asyncio.Queue[_Job]] = {
            r.channel.name: asyncio.Queue(maxsize=queue_size) for r in self.routes
        }
        self._workers: list[asyncio.Task[None]] = []
        self._started = False
        for route in self.routes:
            metrics.declare(route.channel.name)

    @property
    def channels(self) -> list[str]:
        """Names of the channels messages go to."""
        return [r.channel.name for r in self.routes]

    @property
    def running(self) -> bool:
        """Started, and every worker alive (no channel configured is healthy: nothing to do)."""
        return self._started and not any(w.done() for w in self._workers)

    def start(self) -> None:
        """One worker task per channel."""
        self._workers = [
            asyncio.create_task(self._work(route), name=f"notify-{route.channel.name}")
            for route in self.routes
        ]
        self._started = True

    def offer(self, notification: Notification) -> bool:
        """Queue the notification for every recipient of every channel; False when full."""
        for route in self.routes:
            queue = self._queues[route.channel.name]
            if queue.maxsize - queue.qsize() < len(route.recipients):
                return False
        now = time.monotonic()
        for route in self.routes:
            channel = route.channel
            message = render(
                notification, self.templates, max_alerts=channel.max_alerts, limit=channel.limit
            )
            for recipient in route.recipients:
                self._queues[channel.name].put_nowait(_Job(recipient, message, now))
            self.metrics.queue_depth.labels(channel.name).set(self._queues[channel.name].qsize())
        return True

    async def stop(self, drain_s: float) -> None:
        """Deliver what is queued for up to ``drain_s``, then drop the rest (counted)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(q.join() for q in self._queues.values())), drain_s
            )
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        for name, queue in self._queues.items():
            if queue.qsize():
                log.error("%s: %d messages not delivered at shutdown", name, queue.qsize())
                self.metrics.sent.labels(name, "dropped").inc(queue.qsize())
        for route in self.routes:
            await route.channel.close()

    async def _work(self, route: Route) -> None:
        name = route.channel.name
        queue = self._queues[name]
        while True:
            job = await queue.get()
            try:
                outcome = await self._deliver(route.channel, job)
            except asyncio.CancelledError:
                self.metrics.sent.labels(name, "dropped").inc()
                raise
            except Exception:
                # A bug in a channel must not end its worker: the next message still goes.
                log.exception("%s: unexpected failure delivering to %s", name, job.recipient)
                outcome = "gave_up"
            finally:
                queue.task_done()
                self.metrics.queue_depth.labels(name).set(queue.qsize())
            self.metrics.sent.labels(name, outcome).inc()

    async def _deliver(self, channel: Channel, job: _Job) -> str:
        """Try until delivered, refused, or out of attempts; the outcome's label."""
        name = channel.name
        for attempt in range(1, self.policy.attempts + 1):
            try:
                await channel.send(job.recipient, job.message)
            except DeliveryError as exc:
                if not exc.retryable:
                    log.error("%s refused a message to %s: %s", name, job.recipient, exc)
                    return "rejected"
                if attempt == self.policy.attempts:
                    log.error("%s: giving up on %s after %d tries: %s", name, job.recipient,
                              attempt, exc)  # fmt: skip
                    return "gave_up"
                wait = self.policy.delay(attempt, exc.retry_after)
                log.warning("%s: %s; retrying in %.1f s", name, exc, wait)
                self.metrics.retries.labels(name).inc()
                await self._sleep(wait)
            else:
                self.metrics.delivery.labels(name).observe(time.monotonic() - job.accepted)
                self.metrics.last_success.labels(name).set(time.time())
                return "ok"
        return "gave_up"
