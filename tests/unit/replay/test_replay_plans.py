"""Replay plans as plain data: targets, offsets files, clamping, snapshots, final windows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.admin import OffsetSpec, OffsetTimestamp

from connectors.sinks.clickhouse.rows import COLUMNS
from ioc.ops.replay import copy, reset, snapshot
from ioc.ops.replay.generations import parts_columns, same_parts
from ioc.ops.replay.kafka_io import Span
from ioc.ops.replay.times import ReplayUsageError, parse_instant, parse_range
from ioc.settings import settings_for_tests
from schemas.topics import TRAFFIC_OBS

pytestmark = pytest.mark.unit


def test_instants_need_an_offset_and_ranges_an_order() -> None:
    assert parse_instant("2026-11-26T08:00:00+07:00", "--from") == datetime(
        2026, 11, 26, 1, tzinfo=UTC
    )
    with pytest.raises(ReplayUsageError, match="UTC offset"):
        parse_instant("2026-11-26T08:00:00", "--from")
    with pytest.raises(ReplayUsageError, match="must be after"):
        parse_range("2026-11-26T08:00:00+07:00", "2026-11-26T07:00:00+07:00")


def test_exactly_one_reset_target() -> None:
    reset.Target(earliest=True)
    for bad in ({}, {"earliest": True, "to_ms": 1}, {"to_ms": 1, "offsets": {0: 1}}):
        with pytest.raises(ReplayUsageError, match="exactly one"):
            reset.Target(**bad)  # type: ignore[arg-type]


def test_offsets_file_is_kafkas_export_format(tmp_path: Path) -> None:
    path = tmp_path / "offsets.csv"
    path.write_text("# exported\nt,0,10\nother,0,99\nt,2,30\n")
    assert reset.read_offsets_file(path, "t") == {0: 10, 2: 30}
    path.write_text("t,0\n")
    with pytest.raises(ReplayUsageError, match="topic,partition,offset"):
        reset.read_offsets_file(path, "t")
    path.write_text("other,0,1\n")
    with pytest.raises(ReplayUsageError, match="no line for topic t"):
        reset.read_offsets_file(path, "t")


class FakeAdmin:
    """The few admin calls a reset plan makes, over fixed offsets of topic ``t``."""

    def __init__(self, first: list[int], end: list[int], committed: dict[int, int]) -> None:
        self.first, self.end, self.committed = first, end, committed
        self.by_time: dict[int, int] = {}
        self.members: list[dict[str, str]] = []
        self.altered: dict[Any, Any] | None = None

    def list_topics(self) -> list[str]:
        return ["t"]

    def describe_topics(self, names: list[str]) -> list[dict[str, Any]]:
        return [{"name": "t", "partitions": [{"partition_index": p} for p in range(3)]}]

    def list_partition_offsets(self, specs: dict[TopicPartition, Any]) -> dict[Any, Any]:
        out = {}
        for tp, spec in specs.items():
            if isinstance(spec, OffsetTimestamp):
                offset = self.by_time.get(tp.partition, -1)
            elif spec == OffsetSpec.EARLIEST:
                offset = self.first[tp.partition]
            else:
                offset = self.end[tp.partition]
            out[tp] = SimpleNamespace(offset=offset)
        return out

    def list_group_offsets(self, specs: dict[str, Any]) -> dict[str, Any]:
        return {
            g: {
                TopicPartition("t", p): SimpleNamespace(offset=o) for p, o in self.committed.items()
            }
            for g in specs
        }

    def describe_groups(self, groups: list[str]) -> dict[str, Any]:
        return {g: {"members": self.members} for g in groups}

    def alter_group_offsets(self, group: str, offsets: dict[Any, Any]) -> dict[Any, Any]:
        self.altered = offsets
        return {tp: SimpleNamespace(errno=0, __name__="NoError") for tp in offsets}


def test_reset_plan_by_time_clamps_and_falls_back_to_the_end() -> None:
    admin = FakeAdmin(first=[5, 0, 0], end=[50, 40, 30], committed={0: 50, 1: 40})
    admin.by_time = {0: 2, 1: 17}  # partition 0's time is before what it retains; 2 has none
    moves = reset.plan(admin, "g", "t", reset.Target(to_ms=123))  # type: ignore[arg-type]
    assert [(m.current, m.new) for m in moves] == [(50, 5), (40, 17), (None, 30)]
    assert [m.lag_after for m in moves] == [45, 23, 0]


def test_reset_plan_from_a_file_keeps_unnamed_partitions() -> None:
    admin = FakeAdmin(first=[0, 0, 0], end=[50, 40, 30], committed={0: 50, 1: 40})
    moves = reset.plan(admin, "g", "t", reset.Target(offsets={0: 7, 2: 99}))  # type: ignore[arg-type]
    assert [m.new for m in moves] == [7, 40, 30]  # 99 is past the end: clamped
    with pytest.raises(ReplayUsageError, match="no partition"):
        reset.plan(admin, "g", "t", reset.Target(offsets={5: 1}))  # type: ignore[arg-type]


def test_reset_refuses_while_the_group_has_members() -> None:
    admin = FakeAdmin(first=[0, 0, 0], end=[5, 5, 5], committed={})
    moves = reset.plan(admin, "g", "t", reset.Target(earliest=True))  # type: ignore[arg-type]
    admin.members = [{"client_id": "ioc-sink", "client_host": "/127.0.0.1"}]
    with pytest.raises(reset.GroupActiveError, match="ioc-sink"):
        reset.execute(admin, "g", moves)  # type: ignore[arg-type]
    assert admin.altered is None
    admin.members = []
    reset.execute(admin, "g", moves)  # type: ignore[arg-type]
    assert admin.altered is not None
    assert sorted(v.offset for v in admin.altered.values()) == [0, 0, 0]


def test_copy_target_has_the_sources_partitions_and_unlimited_retention() -> None:
    settings = settings_for_tests()
    spec = copy._spec_for(TRAFFIC_OBS + ".it-x", settings, 7, "replayed")
    assert spec.name == "replayed"
    assert spec.partitions("dev") == spec.partitions("prod") == 7
    assert spec.config()["retention.ms"] == "-1"
    assert copy._spec_for("someone.elses", settings, 2, "c").config()["retention.ms"] == "-1"


def test_spans_count_records() -> None:
    assert Span(0, 10, 15).size == 5
    assert Span(0, 10, 3).size == 0


def test_snapshot_keeps_only_changes_below_the_start_offset() -> None:
    def row(offset: int) -> list[Any]:
        return [offset + 1000, "received", 0, 0, 0, True, False, True, offset]

    record = {"ev": [row(3), row(9), row(12)], "o": 12}
    assert snapshot.as_of(record, 10) == {"ev": [row(3), row(9)], "o": 9}
    assert snapshot.as_of(record, 3) is None
    assert record["o"] == 12  # the live record is not changed
    assert snapshot.changelog_topic("ioc-worker") == "ioc-worker-dossier-state-changelog"


def test_parts_compare_exactly_for_counts_and_closely_for_float_sums() -> None:
    assert same_parts((1, 0.1 + 0.2, None), (1, 0.3, None))
    assert not same_parts((1, 0.3, None), (2, 0.3, None))
    assert not same_parts((1, 0.3, None), (1, 0.3, 0.0))
    assert not same_parts((1, 0.3), (1, 0.31))
    parts = parts_columns("kpi_qr")
    assert parts[0] == "scans"
    assert "version" not in parts
    assert set(parts) < set(COLUMNS["kpi_qr"])
