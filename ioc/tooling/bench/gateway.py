"""``ioc connector http bench``: accepted events/s of a real gateway process.

The gateway runs as its own process (as in production) on fresh, uniquely named
topics that are deleted afterwards; this process only generates and posts batches,
so client and server do not share one event loop.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.table import Table

from connectors.sources.http.keys import add_key
from ioc.settings import Settings
from schemas.timeutil import utcnow


@dataclass(frozen=True, slots=True)
class BenchResult:
    events: int
    accepted: int
    batch_size: int
    concurrency: int
    seconds: float
    events_per_s: float
    request_p50_ms: float
    request_p95_ms: float

    def as_dict(self) -> dict[str, Any]:
        """For the JSON line."""
        return asdict(self)

    def table(self) -> Table:
        """For people."""
        table = Table("measure", "value", title="HTTP gateway bench")
        for name, value in self.as_dict().items():
            table.add_row(name, f"{value:,.1f}" if isinstance(value, float) else f"{value:,}")
        return table


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _batch(start: int, size: int) -> list[dict[str, Any]]:
    now = utcnow().isoformat()
    return [
        {
            "checkpoint_id": f"CP-{(start + i) % 30:02d}",
            "area_code": "689",
            "scanned_at": now,
            "citizen_id": f"070{start + i:09d}",  # raw: the gateway hashes it
            "direction": "in" if i % 2 else "out",
            "declaration_status": "green",
            "device_id": f"DEV-{(start + i) % 90:02d}",
        }
        for i in range(size)
    ]


async def _wait_healthy(client: httpx.AsyncClient, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gateway exited with {proc.returncode}")
        try:
            if (await client.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("gateway not healthy after 30 s")


async def run_bench(
    settings: Settings, events: int, batch_size: int, concurrency: int
) -> BenchResult:
    """Start a gateway process, post ``events`` in batches, report accepted events/s."""
    from ioc.wiring.connectors import check_topics

    suffix = f".bench-{uuid.uuid4().hex[:8]}"
    port = _free_port()
    check_topics(settings.model_copy(update={"connector_topic_suffix": suffix}), create=True)
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys.json"
        key = add_key(keys, "bench", ["qr"])
        env = {
            **os.environ,
            "IOC_CONNECTOR_TOPIC_SUFFIX": suffix,
            "IOC_HTTP_API_KEYS_FILE": str(keys),
            "IOC_HTTP_PORT": str(port),
            # The bench measures the gateway, not its per-key limits: one key, all the load.
            "IOC_HTTP_RATE_PER_KEY": "1000000",
            "IOC_HTTP_BURST_PER_KEY": "1000000",
            "IOC_HTTP_MAX_IN_FLIGHT_PER_KEY": str(max(concurrency, 8)),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "ioc", "connector", "http", "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            return await _drive(port, key, events, batch_size, concurrency, proc)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            _delete_topics(settings, suffix)


async def _drive(
    port: int,
    key: str,
    events: int,
    batch_size: int,
    concurrency: int,
    proc: subprocess.Popen[bytes],
) -> BenchResult:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=60
    ) as client:
        await _wait_healthy(client, proc)
        warm = await client.post("/v1/streams/qr/events", json=_batch(0, 1), headers=headers)
        if warm.status_code != 200:
            raise RuntimeError(
                f"gateway refused the warm-up request: {warm.status_code} {warm.text}"
            )
        starts = list(range(0, events, batch_size))
        latencies: list[float] = []
        accepted = 0
        queue: asyncio.Queue[int] = asyncio.Queue()
        for s in starts:
            queue.put_nowait(s)

        async def worker() -> None:
            nonlocal accepted
            while not queue.empty():
                start = queue.get_nowait()
                body = _batch(start, min(batch_size, events - start))
                t0 = time.perf_counter()
                response = await client.post("/v1/streams/qr/events", json=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if response.status_code == 200:
                    accepted += int(response.json()["accepted"])

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - began
    quantiles = statistics.quantiles(latencies, n=20) if len(latencies) > 1 else latencies * 19
    return BenchResult(
        events=events,
        accepted=accepted,
        batch_size=batch_size,
        concurrency=concurrency,
        seconds=seconds,
        events_per_s=accepted / seconds,
        request_p50_ms=statistics.median(latencies) * 1_000,
        request_p95_ms=quantiles[18] * 1_000,
    )


def _delete_topics(settings: Settings, suffix: str) -> None:
    from ioc.ops.kafka_admin import admin_client

    admin = admin_client(settings)
    try:
        existing = set(admin.list_topics())
        doomed = [t for t in existing if t.endswith(suffix)]
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()
