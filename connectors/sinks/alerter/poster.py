"""Alertmanager's v2 API: POST /api/v2/alerts."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any

import httpx

from schemas.errors import IocError, ServiceUnavailableError


class AlertsRejectedError(IocError):
    """Alertmanager refused the payload (400): retrying the same batch cannot help."""


class AlertsUnauthorizedError(ServiceUnavailableError):
    """Alertmanager refused our credentials (401/403).

    Retried, but a configuration error that no wait fixes: the alerter logs it as an error
    and counts it apart.
    """


class AlertmanagerPoster:
    """Posts batches of alerts; raises ServiceUnavailableError when it should be retried.

    ``auth`` and ``verify``: Alertmanager's basic auth and the CA of its certificate
    (decision 0034), as httpx takes them.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 10.0,
        auth: httpx.Auth | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout_s, auth=auth, verify=verify
        )

    async def post(self, alerts: Sequence[dict[str, Any]]) -> None:
        """One POST of every alert given (Alertmanager accepts a list)."""
        try:
            response = await self._client.post("/api/v2/alerts", json=list(alerts))
        except httpx.HTTPError as exc:
            raise ServiceUnavailableError(f"Alertmanager at {self.base_url}: {exc!r}") from exc
        if response.status_code in (401, 403):
            raise AlertsUnauthorizedError(
                f"Alertmanager at {self.base_url} refused our credentials "
                f"({response.status_code}): check IOC_ALERTMANAGER_WEB_USER/_PASSWORD"
            )
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
