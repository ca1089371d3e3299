"""What the connectors have written so far: the source topics read as they fill.

One consumer (no group) in a thread reads the four source topics from their start and
keeps each record's identity: the event id (QR, traffic, energy) or the outbox row id
(dossiers: the feeder knows the row ids it committed, not the ids the poller derives).
A recovery check compares a client's acknowledged ids with it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from ioc.kafka_client import kafka_client_options
from ioc.settings import Settings
from schemas.topics import CONTROL_HEADER


class KafkaTail(threading.Thread):
    """Identities seen per source topic, and how often (a redelivery shows as 2)."""

    def __init__(self, settings: Settings, topics: dict[str, str]) -> None:
        """``topics``: topic -> the identity field of its records."""
        super().__init__(daemon=True, name="kafka-tail")
        self.settings = settings
        self.topics = topics
        self.seen: dict[str, Counter[Any]] = {t: Counter() for t in topics}
        self.halt = threading.Event()
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def run(self) -> None:
        consumer = KafkaConsumer(**kafka_client_options(self.settings), enable_auto_commit=False)
        try:
            tps = [
                TopicPartition(topic, p)
                for topic in self.topics
                for p in consumer.partitions_for_topic(topic) or ()
            ]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            while not self.halt.is_set():
                for tp, records in consumer.poll(timeout_ms=200).items():
                    field = self.topics[tp.topic]
                    found = [
                        orjson.loads(r.value)[field]
                        for r in records
                        if not any(k == CONTROL_HEADER for k, _ in r.headers or ())
                    ]
                    with self._lock:
                        self.seen[tp.topic].update(found)
        except BaseException as exc:  # reported by has(); a dead tail must not look empty
            self.error = exc
        finally:
            consumer.close()

    def has(self, topics: Iterable[str], ids: Iterable[Any]) -> bool:
        """Every one of ``ids`` is in one of ``topics``."""
        if self.error is not None:
            raise AssertionError(f"the Kafka tail failed: {self.error!r}") from self.error
        with self._lock:
            present = set().union(*(self.seen[t].keys() for t in topics))
        return set(ids) <= present

    def counts(self, topic: str) -> Counter[Any]:
        with self._lock:
            return Counter(self.seen[topic])

    def stop(self) -> None:
        self.halt.set()
        self.join(10)
