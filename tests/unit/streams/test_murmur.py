"""streams.murmur equals aiokafka's murmur2 (the Java client's) on every key length."""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import murmur2 as reference

from streams.murmur import murmur2, partition_of

pytestmark = pytest.mark.unit


def test_equals_aiokafka_on_random_keys() -> None:
    rng = random.Random(8)
    for length in range(64):
        for _ in range(50):
            key = rng.randbytes(length)
            assert murmur2(key) == reference(key), key


def test_known_keys() -> None:
    # Values from Kafka's own partitioner tests (org.apache.kafka.common.utils.UtilsTest).
    assert murmur2(b"21") == (-973932308) & 0xFFFFFFFF
    assert murmur2(b"foobar") == (-790332482) & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == (-985981536) & 0xFFFFFFFF
    assert murmur2(b"") == 275646681


def test_partition_of_text_keys() -> None:
    for key in ("seg-001.c7", "MTR-0042", "000.00.31.H10", "tuyến đường"):
        raw = key.encode()
        assert partition_of(raw, 12) == (reference(raw) & 0x7FFFFFFF) % 12
