"""File connector pieces: field maps, readers, pacing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError

from connectors.sources.base import ConfigurationError, ConnectorError
from connectors.sources.edge import EdgeValidator, TimePolicy, TopicRoutes
from connectors.sources.files import (
    FileConnector,
    FileJob,
    FileReport,
    _Pacer,
    apply_mapping,
    detect_format,
    parse_mapping,
    read_records,
)
from schemas.errors import ContractError
from schemas.privacy import PiiHasher

pytestmark = pytest.mark.unit

NOW = datetime.now(tz=UTC)
VALIDATOR = EdgeValidator(
    PiiHasher(b"unit-key", "k9"), TimePolicy(timedelta(minutes=5), timedelta(days=30))
)


def test_parse_mapping() -> None:
    assert parse_mapping(["a=b", "c=x.y", "drop="]) == {"a": "b", "c": "x.y", "drop": ""}
    with pytest.raises(ConfigurationError):
        parse_mapping(["nope"])
    with pytest.raises(ConfigurationError):
        parse_mapping(["=x"])


def test_apply_mapping_renames_nests_and_drops() -> None:
    record = {"speed": "40", "v1": "220", "voltage_v.l2": "221", "junk": "1", "keep": 2}
    mapping = {"speed": "average_speed_kmh", "v1": "voltage_v.l1", "junk": ""}
    assert apply_mapping(record, mapping) == {
        "average_speed_kmh": "40",
        "voltage_v": {"l1": "220", "l2": "221"},
        "keep": 2,
    }
    with pytest.raises(ContractError):
        apply_mapping({"a": 1, "a.b": 2}, {})


def test_readers(tmp_path: Path) -> None:
    csv_path = tmp_path / "x.csv"
    csv_path.write_text("\ufeffa,b\n1,\n3,4\n", encoding="utf-8")
    assert detect_format(csv_path) == "csv"
    assert list(read_records(csv_path, "csv")) == [(2, {"a": "1"}), (3, {"a": "3", "b": "4"})]
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_bytes(b'{"a": 1}\n\n{oops\n')
    assert detect_format(jsonl) == "jsonl"
    assert list(read_records(jsonl, "jsonl")) == [(1, b'{"a": 1}\n'), (3, b"{oops\n")]


def test_pacer_speedup_and_rate() -> None:
    t0 = datetime(2026, 11, 26, tzinfo=UTC)
    pacer = _Pacer(rate=None, speedup=60.0)
    start = pacer.due(t0)
    assert pacer.due(t0 + timedelta(minutes=1)) - start == pytest.approx(1.0, abs=0.01)
    # Out-of-order events are not held back.
    assert pacer.due(t0) - start == pytest.approx(0.0, abs=0.01)
    rated = _Pacer(rate=10.0, speedup=None)
    dues = [rated.due(None) for _ in range(3)]
    assert dues[2] - dues[0] == pytest.approx(0.2, abs=0.01)


class FlakyProducer:
    """Refuses the first ``failures`` batches the way a broker failover does."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.events: list[Any] = []

    async def send_events(self, topic: str, events: list[Any]) -> list[Any]:
        if self.failures:
            self.failures -= 1
            raise KafkaTimeoutError()
        self.events += events
        return []

    async def send_dead_letters(self, letters: list[Any], topic: str) -> list[Any]:
        return []


def _replay_with(producer: FlakyProducer, tmp_path: Path) -> FileReport:
    connector = FileConnector(
        validator=VALIDATOR, routes=TopicRoutes.default(), producer_factory=lambda: producer
    )
    connector.retry_min_s = connector.retry_max_s = 0.0  # no waiting in a unit test
    connector.link._producer = producer  # type: ignore[assignment]  # no broker here
    path = tmp_path / "in.jsonl"
    rows = [{"sensor_id": f"TS-{i}", "segment_id": "QL13-01", "observed_at": NOW.isoformat(),
             "period_s": 60, "intensity": i} for i in range(5)]  # fmt: skip
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    return asyncio.run(connector.run(FileJob(path=path, stream="traffic", batch_size=2)))


def test_a_batch_refused_during_a_failover_is_sent_again(tmp_path: Path) -> None:
    producer = FlakyProducer(failures=2)
    report = _replay_with(producer, tmp_path)
    assert report.accepted == len(producer.events) == 5
    assert report.rejected == 0


def test_kafka_refusing_every_try_fails_the_run_loudly(tmp_path: Path) -> None:
    producer = FlakyProducer(failures=100)
    with pytest.raises(ConnectorError, match=r"refused a batch 6 times.*KafkaTimeoutError"):
        _replay_with(producer, tmp_path)
    assert producer.events == []
