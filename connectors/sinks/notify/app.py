"""aiohttp routes of ``ioc notify``: POST /alerts (Alertmanager's webhook), /health, /metrics.

Every refusal is a 4xx with a one-line JSON reason, so a misconfigured sender learns
what is wrong from its own log: 400 not an Alertmanager notification (not UTF-8, not
JSON, nested too deep, wrong fields), 413 larger than the limit, 415 not JSON by its
content type. 503 means "not now" (queues full, or shutting down): Alertmanager retries
a webhook that fails, so nothing is lost by refusing.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from connectors.sinks.notify.delivery import Deliverer
from connectors.sinks.notify.metrics import NotifyMetrics
from connectors.sinks.notify.payload import PayloadError, decode


def build_app(
    deliverer: Deliverer,
    metrics: NotifyMetrics,
    *,
    max_body_bytes: int,
    accepting: Callable[[], bool],
) -> web.Application:
    """The application; ``accepting()`` turns false once the service is stopping."""

    def refuse(status: int, outcome: str, reason: str) -> web.Response:
        metrics.requests.labels(outcome).inc()
        return web.json_response({"status": "error", "error": reason}, status=status)

    async def alerts(request: web.Request) -> web.Response:
        if not accepting():
            return refuse(503, "stopping", "shutting down")
        kind = request.content_type
        if kind not in ("application/json", "application/octet-stream", ""):
            return refuse(415, "invalid", f"content type {kind}, expected application/json")
        if request.content_length is not None and request.content_length > max_body_bytes:
            return refuse(413, "too_large", f"body over {max_body_bytes} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return refuse(413, "too_large", f"body over {max_body_bytes} bytes")
        try:
            notification = decode(body)
        except PayloadError as exc:
            return refuse(400, "invalid", str(exc))
        if not deliverer.offer(notification):
            return refuse(503, "queue_full", "delivery queues are full; retry later")
        metrics.requests.labels("accepted").inc()
        return web.json_response({"status": "accepted", "channels": deliverer.channels})

    async def health(request: web.Request) -> web.Response:
        ok = accepting() and deliverer.running
        return web.json_response({"healthy": ok}, status=200 if ok else 503)

    async def metrics_page(request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    # client_max_size: aiohttp itself refuses a longer body (a chunked one included).
    app = web.Application(client_max_size=max_body_bytes)
    app.router.add_post("/alerts", alerts)
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", metrics_page)
    return app
