"""The partition engine: control ticks, bad input, duplicates, late events, recovery."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas.results import AnomalyState, Severity, WindowSize
from schemas.timeutil import to_ms
from schemas.topics import CONTROL_HEADER
from streams import dq
from streams.engine import PartitionEngine, SourceRecord
from streams.kpi.energy import EnergyLogic
from streams.kpi.traffic import TrafficLogic
from tests import factories as f
from tests.unit.streams.harness import engine_config
from tests.unit.streams.test_kpi_reference import profile

pytestmark = pytest.mark.unit

LATENESS = 120_000


class Feed:
    """Offsets in order, like a partition log."""

    def __init__(self, engine: PartitionEngine, topic: str = "ioc.traffic.obs.v1") -> None:
        self.engine, self.topic, self.offset = engine, topic, 0

    def raw(
        self, value: bytes | None, stamp: int | None, headers: tuple[tuple[str, bytes], ...] = ()
    ):  # type: ignore[no-untyped-def]
        out = self.engine.process(
            SourceRecord(self.topic, 0, self.offset, None, value, stamp, headers)
        )
        self.offset += 1
        return out

    def event(self, event, stamp: int | None = None):  # type: ignore[no-untyped-def]
        return self.raw(event.to_json(), to_ms(event.event_time) if stamp is None else stamp)

    def tick(self, at_ms: int):  # type: ignore[no-untyped-def]
        return self.raw(b"", at_ms, ((CONTROL_HEADER, b"tick"),))


def traffic_engine(partition_of=None) -> PartitionEngine:  # type: ignore[no-untyped-def]
    return PartitionEngine(
        TrafficLogic, engine_config(profile(), LATENESS), 0, partition_of=partition_of
    )


def counts(engine: PartitionEngine, source: str = "test") -> dq.SourceCounts:
    return next(c for c in dq.counters(engine.state) if c.source == source)


def test_a_tick_closes_idle_windows() -> None:
    feed = Feed(traffic_engine())
    assert feed.event(f.traffic()).kpis == []
    t0 = to_ms(f.T0)
    assert feed.tick(t0 + 30_000).kpis == []  # watermark t0 + 30 s − 120 s: nothing closes
    out = feed.tick(t0 + LATENESS + 60_000)  # past the minute's end
    assert {(k.entity_kind, k.window) for k in out.kpis} == {
        ("sensor", WindowSize.M1),
        ("segment", WindowSize.M1),
    }
    assert out.outcomes == {"control": 1}


def test_garbage_is_dead_lettered_and_counted_never_raised() -> None:
    feed = Feed(traffic_engine())
    cases = [
        (b"not json", "invalid_json"),
        (b'{"source": "kcat", "sensor_id": "x"}', "validation"),
        (
            f.traffic().to_json().replace(b'"schema_version":"1.0"', b'"schema_version":"2.0"'),
            "unknown_major_version",
        ),
        (None, "invalid_json"),
        (b"[1, 2]", "invalid_json"),
        # Hostile: nesting orjson accepts (it stops at 1,024) and nesting it refuses,
        # invalid UTF-8, a number out of float range, a megabyte of one string.
        (b'{"source": "kcat", "sensor_id": ' + b"[" * 900 + b"]" * 900 + b"}", "too_deep"),
        (b"[" * 5_000 + b"]" * 5_000, "invalid_json"),
        (b'{"source": "\xff\xfe"}', "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b'{"source": "kcat", "speed_kmh": 1e999}', "invalid_json"),
        (b'{"source": "kcat", "sensor_id": "' + b"x" * 1_000_000 + b'"}', "validation"),
    ]
    for value, reason in cases:
        out = feed.raw(value, 1)
        assert [d.reason for d in out.dead_letters] == [reason]
        letter = out.dead_letters[0]
        assert (letter.source_topic, letter.partition, letter.offset) == (
            "ioc.traffic.obs.v1",
            0,
            feed.offset - 1,
        )
    assert counts(feed.engine, "kcat").invalid == {"validation": 2, "too_deep": 1}
    assert sum(counts(feed.engine, "unknown").invalid.values()) == 7
    assert all(len(d.payload) <= 4_096 for d in out.dead_letters)


def test_record_time_checks_are_deterministic() -> None:
    feed = Feed(traffic_engine())
    event = f.traffic()
    future = feed.event(event, stamp=to_ms(event.observed_at) - 10 * 60_000)  # kcat-style stamp
    assert [d.reason for d in future.dead_letters] == ["clock_skew"]
    old = feed.event(event, stamp=to_ms(event.observed_at) + 500 * 86_400_000)
    assert [d.reason for d in old.dead_letters] == ["too_old"]


def test_a_key_in_the_wrong_partition_is_refused() -> None:
    feed = Feed(traffic_engine(partition_of=lambda key: 1))
    assert [d.reason for d in feed.event(f.traffic()).dead_letters] == ["wrong_partition"]


def test_duplicates_are_dropped_and_late_events_counted_and_applied() -> None:
    feed = Feed(traffic_engine())
    event = f.traffic()
    feed.event(event)
    assert feed.event(event).outcomes == {"duplicate": 1}
    later = f.traffic(observed_at=f.T0 + timedelta(minutes=10))
    feed.event(later)
    late = f.traffic(observed_at=f.T0 + timedelta(seconds=30), sensor_id="TS-QL13-01-B")
    out = feed.event(late)
    assert out.outcomes == {"late": 1}
    assert out.kpis, "a late event is applied (as corrections), not dropped"
    c = counts(feed.engine)
    assert (c.events, c.duplicates, c.late) == (4, 1, 1)
    assert c.last_seen_ms == to_ms(later.observed_at)


def test_a_late_event_corrects_dropped_windows_and_joins_held_ones_once() -> None:
    feed = Feed(traffic_engine())
    feed.event(f.traffic())
    feed.event(f.traffic(observed_at=f.T0 + timedelta(minutes=10)))
    late = f.traffic(observed_at=f.T0 + timedelta(seconds=30), intensity=7)
    for _ in range(2):  # the second copy: corrections again (the sink merges one), held once
        out = feed.event(late)
        corrections = {(k.entity_kind, k.window.value): k for k in out.kpis if k.correction}
        assert set(corrections) == {("sensor", "1m"), ("segment", "1m")}
        for k in corrections.values():
            assert k.event_id == late.event_id
            assert k.late_ids == [late.event_id]
            assert (k.parts.observations, k.parts.vehicles) == (1, 7)  # type: ignore[union-attr]
        assert corrections["segment", "1m"].members == [late.sensor_id]
        assert not [k for k in out.kpis if not k.correction]  # the 15 min window is open
    closing = feed.event(f.traffic(observed_at=f.T0 + timedelta(minutes=20)))
    quarter = [k for k in closing.kpis if k.entity_kind == "sensor" and k.window.value == "15m"]
    assert [(k.parts.observations, k.late_events) for k in quarter] == [(3, 1)]  # type: ignore[union-attr]
    assert quarter[0].late_ids == [late.event_id]


def test_a_late_event_within_the_lateness_re_emits_with_a_higher_sequence() -> None:
    feed = Feed(traffic_engine())
    feed.event(f.traffic())
    closing = feed.event(f.traffic(observed_at=f.T0 + timedelta(minutes=3, seconds=1)))
    first = [k for k in closing.kpis if k.entity_kind == "sensor" and k.window is WindowSize.M1]
    assert [k.sequence for k in first] == [1]
    again = feed.event(f.traffic(observed_at=f.T0 + timedelta(seconds=20), intensity=8))
    sensor = [k for k in again.kpis if k.entity_kind == "sensor" and k.window is WindowSize.M1]
    assert [(k.sequence, k.parts.vehicles) for k in sensor] == [(2, 50)]
    assert sensor[0].version == (1 << 32) + 2


def test_recovery_re_emits_held_windows_with_their_stored_sequence() -> None:
    engine = traffic_engine()
    feed = Feed(engine)
    feed.event(f.traffic())
    emitted = feed.event(f.traffic(observed_at=f.T0 + timedelta(minutes=3, seconds=1))).kpis
    changelog = dict(engine.drain())
    recovered = PartitionEngine(
        TrafficLogic,
        engine_config(profile(), LATENESS),
        0,
        [(k, v) for k, v in changelog.items() if v],
    )
    again = recovered.start().kpis
    assert {(k.key, k.version) for k in again} == {(k.key, k.version) for k in emitted}
    assert [k.parts for k in again] == [k.parts for k in emitted]
    replay = Feed(recovered)
    assert replay.event(f.traffic()).outcomes == {}  # below the stored offset: skipped whole


def test_a_register_reset_is_an_info_anomaly_opened_and_resolved() -> None:
    engine = PartitionEngine(EnergyLogic, engine_config(profile(), LATENESS), 0)
    feed = Feed(engine, "ioc.energy.readings.v1")
    feed.event(f.energy(energy_kwh_total=5000.0))
    out = feed.event(f.energy(energy_kwh_total=0.4, measured_at=f.T0 + timedelta(minutes=1)))
    assert [(a.severity, a.state, a.sequence) for a in out.anomalies] == [
        (Severity.INFO, AnomalyState.OPEN, 1),
        (Severity.INFO, AnomalyState.RESOLVED, 2),
    ]
    assert len({a.anomaly_id for a in out.anomalies}) == 1


def test_silence_state_is_one_record_per_group_and_finds_the_silent_sensor() -> None:
    # Two sensors of two segments expected on this partition; only one reports.
    expected = [("sensor", "TS-A", "SEG-A", 60), ("sensor", "TS-B", "SEG-B", 60)]
    engine = PartitionEngine(TrafficLogic, engine_config(profile(), LATENESS), 0, expected=expected)
    feed = Feed(engine)
    t0 = to_ms(f.T0)
    anomalies = []
    for minute in range(8):
        at = f.T0 + timedelta(minutes=minute)
        anomalies += feed.event(
            f.traffic(sensor_id="TS-A", segment_id="SEG-A", observed_at=at)
        ).anomalies
    anomalies += feed.tick(t0 + 8 * 60_000 + LATENESS).anomalies
    silent = {(a.entity_id, a.state) for a in anomalies if a.detector == "silence"}
    assert silent == {("TS-B", AnomalyState.OPEN)}
    keys = {key for key, _ in engine.state.items("sil")}
    assert keys == {"sil|SEG-A", "sil|SEG-B"}


def test_event_ids_recovered_after_a_restart_still_expire() -> None:
    import copy

    first = traffic_engine()
    feed = Feed(first)
    feed.event(f.traffic())
    first.drain()
    assert list(first.state.items("id|"))

    recovered = PartitionEngine(
        TrafficLogic, engine_config(profile(), LATENESS), 0, copy.deepcopy(first.state.records)
    )
    recovered.start()
    later = Feed(recovered)
    later.offset = feed.offset
    later.tick(to_ms(f.T0) + 10 * 60_000 + LATENESS)
    recovered.drain()  # persists the watermark that passes the id's drop point
    later.tick(to_ms(f.T0) + 11 * 60_000 + LATENESS)
    writes = dict(recovered.drain())  # deletes only behind a persisted watermark
    assert not list(recovered.state.items("id|"))
    assert any(k.startswith("id|") and v is None for k, v in writes.items())


def test_a_backlog_resolves_the_silence_it_proves_wrong_and_opens_none() -> None:
    expected = [("sensor", "TS-A", "SEG-A", 60), ("sensor", "TS-B", "SEG-B", 60)]
    engine = PartitionEngine(TrafficLogic, engine_config(profile(), LATENESS), 0, expected=expected)
    feed = Feed(engine)
    t0 = to_ms(f.T0)
    opened = []
    for minute in range(8):
        at = f.T0 + timedelta(minutes=minute)
        opened += feed.event(
            f.traffic(sensor_id="TS-A", segment_id="SEG-A", observed_at=at)
        ).anomalies
        if minute < 2:  # TS-B's connector goes quiet after two minutes
            feed.event(f.traffic(sensor_id="TS-B", segment_id="SEG-B", observed_at=at))
    opened += feed.tick(t0 + 10 * 60_000 + LATENESS).anomalies
    assert {(a.entity_id, a.state) for a in opened} == {("TS-B", AnomalyState.OPEN)}
    # The backlog: TS-B's readings of minutes 2..7, all late now.
    backlog = []
    for minute in range(2, 8):
        at = f.T0 + timedelta(minutes=minute)
        out = feed.event(f.traffic(sensor_id="TS-B", segment_id="SEG-B", observed_at=at))
        assert out.outcomes == {"late": 1}
        backlog += out.anomalies
    assert not backlog  # corrections are not judged again
    after = feed.tick(t0 + 11 * 60_000 + LATENESS).anomalies
    silence = [a for a in after if a.entity_id == "TS-B"]  # (TS-A has gone quiet by now)
    assert [(a.detector, a.state) for a in silence] == [("silence", AnomalyState.RESOLVED)]
    assert silence[0].ended_at == f.T0 + timedelta(minutes=7)


def test_a_held_window_keeps_a_bounded_list_of_late_ids_and_counts_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("streams.book.MAX_LATE_IDS", 2)
    feed = Feed(traffic_engine())
    feed.event(f.traffic())
    feed.event(f.traffic(observed_at=f.T0 + timedelta(minutes=10)))
    late = [f.traffic(observed_at=f.T0 + timedelta(seconds=s), intensity=s) for s in (5, 6, 7)]
    for event in late:
        assert feed.event(event).outcomes == {"late": 1}
    closing = feed.event(f.traffic(observed_at=f.T0 + timedelta(minutes=20)))
    quarter = [k for k in closing.kpis if k.entity_kind == "sensor" and k.window.value == "15m"]
    assert [(k.late_events, len(k.late_ids)) for k in quarter] == [(3, 2)]


def test_a_late_event_that_fails_half_way_leaves_no_correction_to_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import streams.kpi.traffic as traffic

    feed = Feed(traffic_engine())
    feed.event(f.traffic())
    feed.event(f.traffic(observed_at=f.T0 + timedelta(minutes=10)))
    real = traffic.add_observation
    calls = {"n": 0}

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:  # after the sensor's 1 min correction was made
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(traffic, "add_observation", flaky)
    failed = feed.event(f.traffic(observed_at=f.T0 + timedelta(seconds=5)))
    assert [d.reason for d in failed.dead_letters] == ["processing_error"]
    nxt = f.traffic(observed_at=f.T0 + timedelta(seconds=6), sensor_id="TS-QL13-01-B")
    out = feed.event(nxt)
    corrections = [k for k in out.kpis if k.correction]
    assert corrections
    assert {k.event_id for k in corrections} == {nxt.event_id}
    assert {k.entity_id for k in corrections if k.entity_kind == "sensor"} == {nxt.sensor_id}
