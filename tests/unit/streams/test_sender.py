"""The sender refuses a record the broker would refuse, before anything is sent."""

from __future__ import annotations

import asyncio

import pytest

from streams.runtime.sender import MAX_RECORD_BYTES, BatchSender, OutRecord, RecordTooLargeError

pytestmark = pytest.mark.unit


def test_a_record_over_the_broker_limit_is_an_error_not_a_retry() -> None:
    # No broker at this address: the check must fire before any connection.
    sender = BatchSender(
        {"bootstrap_servers": "127.0.0.1:1"}, client_id="t", request_timeout_ms=1000
    )
    big = OutRecord("changelog", b"0|sil|FD-1", b"x" * MAX_RECORD_BYTES)
    with pytest.raises(RecordTooLargeError, match="changelog"):
        asyncio.run(sender.send([big]))


def test_a_producer_that_never_starts_is_dropped_and_the_next_start_tries_anew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """aiokafka waits for a producer id silently and forever; the lock it holds would stall
    every agent's sends."""
    from aiokafka.errors import KafkaTimeoutError

    from streams.runtime import sender as module

    made: list[FakeProducer] = []

    class FakeProducer:
        def __init__(self, **_: object) -> None:
            self.stopped = False
            made.append(self)

        async def start(self) -> None:
            if len(made) == 1:
                await asyncio.Event().wait()  # no producer id, ever

        async def stop(self) -> None:
            self.stopped = True

    monkeypatch.setattr(module, "AIOKafkaProducer", FakeProducer)
    sender = BatchSender({"bootstrap_servers": "127.0.0.1:1"}, client_id="t", request_timeout_ms=20)

    async def run() -> None:
        with pytest.raises(KafkaTimeoutError, match="not started within"):
            await sender.start()
        await sender.start()  # a new producer, and the lock is free

    asyncio.run(run())
    assert len(made) == 2
    assert made[0].stopped
    assert not made[1].stopped
