"""DomainRuntime applies records in the order its state is owed them (streams.runtime.resume).

faust is replaced by small fakes: a consumer that records seeks, a log probe over a list
of present offsets. The records are control ticks, which every engine applies (and
stamps ``meta.o`` with) without needing events.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest

from schemas.domains import CONTRACTS
from schemas.province.loading import load_profile
from schemas.results import Domain
from schemas.topics import CONTROL_HEADER
from streams.domains import DomainSpec, EngineFactory
from streams.kpi.traffic import TrafficLogic
from streams.runtime.messages import OutputTopics
from streams.runtime.metrics import StreamMetrics
from streams.runtime.partition import EXIT_PROCESSING_FAILED, DomainRuntime
from streams.runtime.sender import OutRecord
from streams.topology import Topology
from tests.unit.streams import harness

pytestmark = pytest.mark.unit

TOPIC = "ioc.traffic.obs.v1"
PARTITION = 1
TICK_S = 1_790_000_000.0


@dataclass(frozen=True)
class TP:
    topic: str
    partition: int


@dataclass
class FakeConsumer:
    seeks: list[int] = field(default_factory=list)
    end: int | None = None
    """The log's end as the fetch last saw it (None: not fetched yet)."""

    def assignment(self) -> set[TP]:
        return {TP(TOPIC, PARTITION)}

    def highwater(self, tp: TP) -> int | None:
        return self.end

    async def seek_wait(self, partitions: dict[TP, int]) -> None:
        self.seeks.extend(partitions.values())


@dataclass
class FakeProbe:
    present: list[int]
    asked: list[int] = field(default_factory=list)

    async def first_offset_from(self, topic: str, partition: int, offset: int) -> int | None:
        self.asked.append(offset)
        return min((o for o in self.present if o >= offset), default=None)


@dataclass
class FakeSender:
    sent: list[OutRecord] = field(default_factory=list)

    async def send(self, records: list[OutRecord]) -> None:
        self.sent.extend(records)


@dataclass
class FakeStream:
    acked: list[int] = field(default_factory=list)

    async def ack(self, event: Any) -> None:
        self.acked.append(event.message.offset)


def tick(offset: int) -> Any:
    message = SimpleNamespace(
        topic=TOPIC,
        partition=PARTITION,
        offset=offset,
        key=None,
        value=b"",
        timestamp=TICK_S + offset,
        headers=[(CONTROL_HEADER, b"tick")],
        tp=TP(TOPIC, PARTITION),
    )
    return SimpleNamespace(message=message)


@dataclass
class Rig:
    runtime: DomainRuntime
    consumer: FakeConsumer
    probe: FakeProbe
    stream: FakeStream

    def deliver(self, *offsets: int) -> None:
        asyncio.run(self.runtime.handle(self.stream, [tick(o) for o in offsets]))

    @property
    def applied(self) -> int:
        return self.runtime.engines[PARTITION].offset

    @property
    def rewinds(self) -> float:
        value = self.runtime.metrics.registry.get_sample_value(
            "ioc_stream_rewinds_total", {"stream": "traffic"}
        )
        return float(value or 0.0)


def rig(present: list[int], *, empty_state_from_group: bool = False) -> Rig:
    consumer = FakeConsumer()
    probe = FakeProbe(present)
    table = SimpleNamespace(
        data={}, changelog_topic=SimpleNamespace(get_topic_name=lambda: "changelog")
    )
    profile = load_profile()
    factory = EngineFactory(
        DomainSpec(CONTRACTS[Domain.TRAFFIC], TrafficLogic),  # no expected entities
        harness.engine_config(profile, 120_000, detect=False),
        Topology.from_profile(profile),
        partitions=3,
    )
    factory.partition_of = lambda group: PARTITION
    runtime = DomainRuntime(
        app=SimpleNamespace(consumer=consumer, in_recovery=False, rebalancing=False),
        table=table,
        topic=TOPIC,
        factory=factory,
        outputs=OutputTopics(kpi="kpi", anomalies="anomalies", deadletter="dlq", dq="dq"),
        lag_threshold_s=60.0,
        metrics=StreamMetrics(),
        sender=FakeSender(),  # type: ignore[arg-type]
        probe=probe,  # type: ignore[arg-type]
        empty_state_from_group=empty_state_from_group,
    )
    return Rig(runtime, consumer, probe, FakeStream())


def test_records_in_order_are_applied_without_asking_the_log() -> None:
    r = rig(present=list(range(20)))
    r.deliver(0, 1, 2)
    assert r.applied == 2
    assert r.probe.asked == []
    assert r.consumer.seeks == []
    assert r.stream.acked == [0, 1, 2]


def test_a_jump_mid_run_seeks_back_and_resumes_at_the_missing_record() -> None:
    r = rig(present=list(range(20)))
    r.deliver(0, 1, 2)
    r.deliver(10, 11)  # faust's fetch loop dropped 3..9 (streams.runtime.resume)
    assert r.applied == 2  # neither applied
    assert r.probe.asked == [3]
    assert r.consumer.seeks == [3, 3]  # 11 arrived after the seek: seek again
    assert r.rewinds == 1
    assert r.stream.acked == [0, 1, 2, 10, 11]  # acked unapplied: the state is the truth
    r.deliver(3, 4)
    assert r.applied == 4
    assert r.runtime.rewinding == {}


def test_records_before_the_awaited_one_are_skipped() -> None:
    r = rig(present=list(range(20)))
    r.deliver(0, 1, 2, 10)
    r.deliver(1)  # fetched before the seek, already applied
    assert r.consumer.seeks == [3]
    r.deliver(3)
    assert r.applied == 3


def test_a_real_gap_in_the_log_is_accepted() -> None:
    r = rig(present=[0, 1, 2, 10, 11])  # 3..9: transaction markers or retention
    r.deliver(0, 1, 2, 10)
    assert r.applied == 10
    assert r.consumer.seeks == []
    assert r.rewinds == 0


def test_an_empty_state_is_owed_the_log_from_its_start() -> None:
    r = rig(present=list(range(20)))
    r.deliver(7)  # the group's offset, ahead of a state that applied nothing
    assert r.applied == -1
    assert r.consumer.seeks == [0]
    r.deliver(0)
    assert r.applied == 0


def test_an_empty_state_starts_at_the_first_retained_record() -> None:
    r = rig(present=list(range(5, 20)))  # 0..4 deleted by retention
    r.deliver(5)
    assert r.applied == 5
    assert r.consumer.seeks == []


def test_an_operator_can_start_empty_states_at_the_group_offset() -> None:
    # IOC_STREAM_EMPTY_STATE_FROM=group: a new app id from a group reset past a backlog.
    r = rig(present=list(range(20)), empty_state_from_group=True)
    r.deliver(7, 9)
    assert r.consumer.seeks == [8]  # only an empty state trusts the group: 8 is missing
    assert r.applied == 7


def test_records_during_table_recovery_are_not_applied() -> None:
    r = rig(present=list(range(20)))
    r.runtime.app.in_recovery = True
    r.deliver(0, 1)
    assert r.runtime.engines == {}  # no engine loaded from a half-restored table
    assert r.stream.acked == [0, 1]
    r.runtime.app.in_recovery = False
    r.deliver(2)  # faust jumped past them: the state asks for them again
    assert r.consumer.seeks == [0]
    r.deliver(0, 1, 2)
    assert r.applied == 2


def test_a_batch_that_raises_ends_the_process_and_acks_nothing() -> None:
    r = rig(present=list(range(20)))
    exits: list[int] = []
    r.runtime.app_exit = exits.append

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ZeroDivisionError("a bug in a KPI")

    r.deliver(0)
    r.runtime.engines[PARTITION].process = broken  # type: ignore[method-assign]
    with pytest.raises(ZeroDivisionError):
        r.deliver(1, 2)
    assert exits == [EXIT_PROCESSING_FAILED]
    assert r.stream.acked == [0]


def test_a_wedged_offset_probe_times_out_loudly_and_is_replaced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One probe that never answers would hold the lock every agent's probe needs."""
    from aiokafka.errors import KafkaTimeoutError

    from streams.runtime import resume

    monkeypatch.setattr(resume, "PROBE_DEADLINE_S", 0.05)
    probe = resume.LogProbe({"bootstrap_servers": "127.0.0.1:1"}, client_id="t")
    calls: list[int] = []

    async def wedged(topic: str, partition: int, offset: int) -> int | None:
        calls.append(offset)
        if len(calls) == 1:
            await asyncio.Event().wait()  # never answers
        return offset

    monkeypatch.setattr(probe, "_first_offset_from", wedged)

    async def run() -> int | None:
        with pytest.raises(KafkaTimeoutError, match="no answer within"):
            await probe.first_offset_from("t", 0, 7)
        return await probe.first_offset_from("t", 0, 8)  # the lock is free again

    assert asyncio.run(run()) == 8
    assert calls == [7, 8]
