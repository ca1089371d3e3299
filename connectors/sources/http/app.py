"""aiohttp routes of the gateway: authentication, limits and status codes around the Ingestor."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from connectors.sources.edge import STREAMS
from connectors.sources.http.idempotency import (
    IDEMPOTENCY_HEADER,
    CachedResponse,
    body_digest,
    valid_idempotency_key,
)
from connectors.sources.http.keys import ApiKey
from connectors.sources.http.limits import Reason
from connectors.sources.http.openapi import openapi_document
from schemas.domains import DomainContract
from schemas.errors import ServiceUnavailableError
from schemas.timeutil import utcnow

if TYPE_CHECKING:
    from connectors.sources.http.gateway import HttpGateway

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        status=status, body=orjson.dumps(body), content_type="application/json", headers=headers
    )


def _error(
    status: int, error: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return _json(status, {"error": error, "message": message}, headers)


def _throttled(error: str, message: str) -> Callable[[int], web.Response]:
    def answer(retry_after_s: int) -> web.Response:
        return _error(429, error, message, {"Retry-After": str(retry_after_s)})

    return answer


_THROTTLED: dict[Reason, Callable[[int], web.Response]] = {
    "rate": _throttled("rate_limited", "too many requests for this API key; retry later"),
    "in_flight": _throttled(
        "too_many_in_flight", "too many requests of this API key in progress; retry later"
    ),
}


def _presented_key(request: web.Request) -> str | None:
    auth = request.headers.get("Authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.headers.get("X-API-Key") or None


class Routes:
    """The handlers, bound to one gateway."""

    def __init__(self, gateway: HttpGateway) -> None:
        self.gw = gateway
        self._openapi = orjson.dumps(openapi_document())

    async def ingest(self, request: web.Request) -> web.StreamResponse:
        """POST /v1/streams/{stream}/events: who, may they, not too fast, then the body."""
        gw = self.gw
        stream = STREAMS.get(request.match_info["stream"])
        if stream is None:
            return _error(404, "unknown_stream", f"streams: {', '.join(STREAMS)}")
        raw_key = _presented_key(request)
        key = gw.keys.authenticate(raw_key) if raw_key else None
        if key is None:
            return _error(
                401, "unauthorized", "a valid API key is required", {"WWW-Authenticate": "Bearer"}
            )
        if key.expired(utcnow()):
            return _error(
                401, "key_expired", "this API key has expired", {"WWW-Authenticate": "Bearer"}
            )
        if not key.may_write(stream.name):
            return _error(403, "forbidden", f"this key may not write the {stream.name} stream")
        throttled = gw.limiter.admit(key.sha256, rate=key.rate, burst=key.burst)
        if throttled is not None:
            gw.throttled.labels(key.source, throttled.reason).inc()
            return _THROTTLED[throttled.reason](throttled.retry_after_s)
        try:
            return await self._admitted(request, stream, key)
        finally:  # however the request ends: answered, failed or cancelled by the client
            gw.limiter.release(key.sha256)

    async def _admitted(
        self, request: web.Request, stream: DomainContract, key: ApiKey
    ) -> web.StreamResponse:
        gw = self.gw
        idem = request.headers.get(IDEMPOTENCY_HEADER)
        if idem is not None and not valid_idempotency_key(idem):
            return _error(400, "bad_idempotency_key", "1-255 visible ASCII characters")
        limit = gw.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            gw.metrics.count(stream.name, "rejected")
            return _error(413, "body_too_large", f"at most {limit} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            gw.metrics.count(stream.name, "rejected")
            return _error(413, "body_too_large", f"at most {limit} bytes")
        retry_after = {"Retry-After": str(gw.config.retry_after_s)}
        if not gw.link.ready:
            return _error(503, "kafka_unavailable", "retry later", retry_after)

        cache_key = (key.source, stream.name, idem) if idem else None
        digest = body_digest(body)
        if cache_key is not None and (cached := gw.replay.get(cache_key)) is not None:
            if cached.digest != digest:
                return _error(
                    409, "idempotency_conflict", f"{IDEMPOTENCY_HEADER} reused with another body"
                )
            gw.metrics.count(stream.name, "duplicate", cached.items)
            return web.Response(
                status=cached.status,
                body=cached.body,
                content_type="application/json",
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            result = await gw.ingestor.ingest(stream, key, body, idem)
        except ServiceUnavailableError as exc:
            return _error(503, "kafka_unavailable", str(exc), retry_after)
        payload = orjson.dumps(result.body)
        if cache_key is not None and result.status in (200, 422):
            items = result.accepted + result.rejected
            gw.replay.put(cache_key, CachedResponse(digest, result.status, payload, items))
        return web.Response(status=result.status, body=payload, content_type="application/json")

    async def health(self, request: web.Request) -> web.StreamResponse:
        """GET /health: 200 while Kafka is connected, 503 otherwise (the process answers)."""
        up = self.gw.link.healthy
        return _json(200 if up else 503, {"status": "ok" if up else "degraded",
                                          "kafka": "up" if up else "down"})  # fmt: skip

    async def metrics(self, request: web.Request) -> web.StreamResponse:
        """GET /metrics: this gateway's registry in Prometheus text format."""
        return web.Response(
            body=generate_latest(self.gw.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def openapi(self, request: web.Request) -> web.StreamResponse:
        """GET /openapi.json."""
        return web.Response(body=self._openapi, content_type="application/json")


def build_app(gateway: HttpGateway) -> web.Application:
    """The aiohttp application of one gateway."""
    routes = Routes(gateway)

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        route = request.match_info.route.resource
        path = route.canonical if route is not None else "unmatched"
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            gateway.http_requests.labels(path, str(status)).inc()
            gateway.http_seconds.labels(path).observe(time.perf_counter() - started)

    app = web.Application(client_max_size=gateway.config.max_body_bytes, middlewares=[observe])
    app.router.add_post("/v1/streams/{stream}/events", routes.ingest)
    app.router.add_get("/health", routes.health)
    app.router.add_get("/metrics", routes.metrics)
    app.router.add_get("/openapi.json", routes.openapi)
    return app
