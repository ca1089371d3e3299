"""Alertmanager's v2 API: POST /api/v2/alerts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from schemas.errors import IocError, ServiceUnavailableError


class AlertsRejectedError(IocError):
    """Alertmanager refused the payload (400): retrying the same batch cannot help."""


class AlertmanagerPoster:
    """Posts batches of alerts; raises ServiceUnavailableError when it should be retried."""

    def __init__(self, base_url: str, *, timeout_s: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=timeout_s)

    async def post(self, alerts: Sequence[dict[str, Any]]) -> None:
        """One POST of every alert given (Alertmanager accepts a list)."""
        try:
            response = await self._client.post("/api/v2/alerts", json=list(alerts))
        except httpx.HTTPError as exc:
            raise ServiceUnavailableError(f"Alertmanager at {self.base_url}: {exc!r}") from exc
        if response.status_code == 400:
            raise AlertsRejectedError(f"Alertmanager rejected alerts: {response.text[:500]}")
        if response.status_code >= 300:
            raise ServiceUnavailableError(
                f"Alertmanager at {self.base_url} answered {response.status_code}: "
                f"{response.text[:200]}"
            )

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
