"""``python -m ioc.tooling.bench.baseline``: the practical limit.

Fetch and JSON-decode, nothing else.

A bare aiokafka consumer (no group: partitions assigned directly, so no join delay)
reads the given topics from the beginning and ``orjson.loads`` every value until it
has seen ``--expect`` records, then prints one JSON line with its timings.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from ioc.kafka_client import kafka_client_options
from ioc.settings import Settings


async def consume(kafka: dict[str, Any], topics: list[str], expect: int) -> dict[str, float | int]:
    """Read until ``expect`` records; seconds from ready to the last decode."""
    consumer = AIOKafkaConsumer(
        **kafka,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tps = [
            TopicPartition(name, p)
            for name, count in (t.rsplit(":", 1) for t in topics)
            for p in range(int(count))
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ready = time.perf_counter()
        cpu = time.process_time()
        first: float | None = None
        seen = decoded_bytes = 0
        while seen < expect:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                if first is None:
                    first = time.perf_counter()
                for record in records:
                    if record.value:  # control ticks are empty
                        orjson.loads(record.value)
                        decoded_bytes += len(record.value)
                    seen += 1
        done = time.perf_counter()
        cpu = time.process_time() - cpu
    finally:
        await consumer.stop()
    return {
        "records": seen,
        "bytes": decoded_bytes,
        "seconds": done - ready,
        "cpu_s": cpu,
        "first_fetch_s": (first or done) - ready,
    }


def main(argv: list[str]) -> int:
    """Parse arguments, consume, print the JSON result."""
    parser = argparse.ArgumentParser(prog="ioc.tooling.bench.baseline")
    parser.add_argument("--topics", required=True, help="comma-separated topic:partitions")
    parser.add_argument("--expect", type=int, required=True)
    args = parser.parse_args(argv[1:])
    result = asyncio.run(
        consume(kafka_client_options(Settings()), args.topics.split(","), args.expect)
    )
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
