"""Issue 17's fault: the HTTP gateway sent SIGTERM with requests in flight. Clients keep
posting from several threads while the process stops; every request answered 200 has
its events in Kafka, once each, and the process exits 0 within a supervisor's grace.
Requests the stopping gateway no longer takes fail at the client (connection refused or
reset, or 503): a client retries those, they were not accepted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import orjson
import pytest

from connectors.sources.edge import TopicRoutes
from connectors.sources.http.keys import add_key
from ioc.settings import Settings
from tests.integration.conftest import free_port
from tests.integration.connectors.conftest import read_topic, values, wait_until
from tests.integration.connectors.test_http_gateway import qr

pytestmark = [pytest.mark.integration, pytest.mark.faults]

CLIENTS = 4
BATCH = 20


def test_sigterm_with_requests_in_flight_loses_no_accepted_event(
    conn_settings: Settings, routes: TopicRoutes, tmp_path: Path, unique: str
) -> None:
    keys = tmp_path / "keys.json"
    key = add_key(keys, "qr-gate-dx", ["qr"])
    port = free_port()
    env = {
        **os.environ,
        "IOC_CONNECTOR_TOPIC_SUFFIX": conn_settings.connector_topic_suffix,
        "IOC_HTTP_API_KEYS_FILE": str(keys),
        "IOC_HTTP_RATE_PER_KEY": "10000",
        "IOC_HTTP_BURST_PER_KEY": "10000",
        "IOC_HTTP_MAX_IN_FLIGHT_PER_KEY": "64",
    }
    log = tmp_path / "gateway.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ioc", "connector", "http", "serve", "--port", str(port),
             "--create-topics"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(f"{base}/health", timeout=2).json().get("kafka") == "up"
        except httpx.HTTPError:
            return False

    accepted: list[str] = []
    refused = [0]
    stop = threading.Event()
    lock = threading.Lock()

    def client(n: int) -> None:
        with httpx.Client(base_url=base, timeout=30) as http:
            i = 0
            while not stop.is_set():
                body = [qr(n * 1_000_000 + i * BATCH + j) for j in range(BATCH)]
                i += 1
                try:
                    response = http.post(
                        "/v1/streams/qr/events", content=orjson.dumps(body),
                        headers={"Authorization": f"Bearer {key}"},
                    )  # fmt: skip
                except httpx.HTTPError:
                    with lock:
                        refused[0] += 1
                    time.sleep(0.05)
                    continue
                with lock:
                    if response.status_code == 200:
                        accepted.extend(e["event_id"] for e in response.json()["event_ids"])
                    else:
                        refused[0] += 1

    try:
        wait_until(healthy, 60, f"the gateway (log: {log})")
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        wait_until(lambda: len(accepted) >= 400, 60, "traffic before the stop")
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        exited_s = time.monotonic() - stopped_at
        time.sleep(0.5)  # clients meet the closed port
        stop.set()
        for thread in threads:
            thread.join(30)
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert code == 0, log.read_text()[-3000:]
    print(f"exited {exited_s:.1f} s after SIGTERM; {len(accepted)} accepted, {refused[0]} refused")
    assert refused[0] > 0, "the stop should have met requests"
    in_kafka = [r["event_id"] for r in values(read_topic(conn_settings, routes.topic("qr")))]
    assert len(in_kafka) == len(set(in_kafka)), "an event written twice"
    missing = set(accepted) - set(in_kafka)
    assert not missing, f"{len(missing)} events answered 200 but not in Kafka"
    assert len(set(accepted)) == len(accepted)
