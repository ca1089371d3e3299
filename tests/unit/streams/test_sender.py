"""The sender refuses a record the broker would refuse, before anything is sent."""

from __future__ import annotations

import asyncio

import pytest

from streams.runtime.sender import MAX_RECORD_BYTES, BatchSender, OutRecord, RecordTooLargeError

pytestmark = pytest.mark.unit


def test_a_record_over_the_broker_limit_is_an_error_not_a_retry() -> None:
    # No broker at this address: the check must fire before any connection.
    sender = BatchSender("127.0.0.1:1", client_id="t", request_timeout_ms=1000)
    big = OutRecord("changelog", b"0|sil|FD-1", b"x" * MAX_RECORD_BYTES)
    with pytest.raises(RecordTooLargeError, match="changelog"):
        asyncio.run(sender.send([big]))
