"""Hostile records written straight into every source topic a worker reads.

Anyone who can write to a topic (kcat, a broken producer, an attacker on the network)
bypasses the connectors' validation. Each hostile record must become one dead letter
with a reason, and the next valid record of the same partition must still be processed:
no agent crash-loops, no partition stops, the process stays up.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from kafka import KafkaProducer

from ioc.kafka_client import kafka_client_options
from schemas.privacy import MAX_PAYLOAD
from schemas.results import Domain
from schemas.timeutil import to_ms
from tests import clock
from tests import factories as f
from tests.integration.streams.conftest import StreamStack, wait_for

pytestmark = pytest.mark.integration

HOSTILE = [
    b'{"source": "x", "note": ' + b"[" * 900 + b"]" * 900 + b"}",  # valid JSON, 900 deep
    b"[" * 5_000,  # past any parser's recursion
    b'{"a": ' * 5_000,
    b"\xff\xfe\x00 not utf-8",
    b'{"source": "x", "active_power_kw": 1e999, "intensity": 1e308}',
    b'{"source": "' + "ệ".encode() * 330_000 + b'"}',  # a megabyte of non-ASCII text
    b'{"source": "a", "source": "b"}',  # duplicate keys
    b"NaN",
    b"",
]


def test_hostile_records_in_every_source_topic_halt_nothing(stream_stack: StreamStack) -> None:
    stack = stream_stack
    now = clock.now().replace(second=0, microsecond=0)
    at = now - timedelta(minutes=10)
    traffic = f.traffic(observed_at=at + timedelta(seconds=5))
    valid = {
        Domain.TRAFFIC: traffic,
        Domain.ENERGY: f.energy(measured_at=at + timedelta(seconds=5)),
        Domain.QR: f.qr_scan(scanned_at=at + timedelta(seconds=5)),
        Domain.DOSSIER: f.dossier(
            changed_at=at, received_at=at, due_at=now + timedelta(days=3), outbox_id=7
        ),
    }
    producer = KafkaProducer(
        **kafka_client_options(stack.settings),
        acks="all",
        max_request_size=2_000_000,
    )
    try:
        for domain, event in valid.items():
            key = event.key.encode()
            for payload in HOSTILE:  # unkeyed, like kcat: any partition, here the valid one's
                producer.send(stack.source(domain), value=payload, key=key)
            producer.send(
                stack.source(domain),
                value=event.to_json(),
                key=key,
                timestamp_ms=to_ms(event.event_time),
            )
        producer.flush(timeout=30)
    finally:
        producer.close()
    stack.produce_ticks(Domain.TRAFFIC, to_ms(now + timedelta(minutes=5)))
    worker = stack.start_worker()

    try:
        end = stack.end_offsets()
        wait_for(
            lambda: all(stack.committed().get(tp, 0) >= n for tp, n in end.items()),
            120,
            "the worker to commit every source record, hostile ones included",
            interval_s=0.5,
        )
        # The valid traffic reading was applied: its minute closed with its vehicles.
        wait_for(
            lambda: any(
                k.entity_id == traffic.sensor_id and k.window.value == "1m" for k in stack.kpis()
            ),
            60,
            "the KPI of the valid reading after the hostile ones",
        )
    except pytest.fail.Exception:
        print(stack.logs())
        raise
    assert worker.poll() is None, stack.logs()

    letters = stack.deadletters()
    for domain in valid:
        mine = [d for d in letters if d["source_topic"] == stack.source(domain)]
        assert len(mine) == len(HOSTILE), (domain, [d["reason"] for d in mine])
        assert all(d["reason"] for d in mine)
        assert max(len(d["payload"]) for d in mine) <= MAX_PAYLOAD
    reasons = {d["reason"] for d in letters}
    assert {"too_deep", "invalid_json", "validation"} <= reasons, reasons
