"""The end of a run: the feed settled, every window closed, then the pipeline's output
reconciled — in Kafka against what each client got accepted, in ClickHouse event by
event against the same, and KPI row by KPI row against the independent reference
(tests/unit/streams/reference.py, which shares no code with the worker).

The reference is computed from the source partitions as the worker read them (events
and ticks in offset order, read back from Kafka) once every event there has been
checked to be one a client got accepted, with the content it sent.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from connectors.sinks.clickhouse.rows import KPI_PARTS
from schemas.base import Event
from schemas.results import Domain
from schemas.timeutil import to_ms
from tests import clock
from tests.integration.faults.faults import sink_caught_up
from tests.integration.faults.feed import Feeder, HttpFeeder, MqttFeeder, OutboxFeeder
from tests.integration.faults.pipeline import DATABASE, Pipeline, until
from tests.integration.faults.tail import KafkaTail
from tests.integration.streams.test_worker import LATENESS_MS, SKEW_MS, profile
from tests.unit.streams import reference
from tests.unit.streams.reference_base import Expected

Key = tuple[str, str, str, int]
Log = list[tuple[str, Any]]
FED = (Domain.QR, Domain.TRAFFIC, Domain.ENERGY, Domain.DOSSIER)
EVENT_ID = "toString(event_id)"
# A dossier event is named by the history row it came from: the feeder knows the row ids
# it committed, not the ids the poller derives from them.
DOSSIER_ID = "concat(toString(outbox_id), '/', status)"


def settle(p: Pipeline, feeders: list[Feeder], tail: KafkaTail) -> None:
    """The feed finished and in Kafka; a tick at the scenario's now in every source
    partition closes what it can; the worker and then the sink past every record."""
    for feeder in feeders:
        feeder.join(120)
        feeder.check()
        assert feeder.done, f"the {feeder.name_} feed did not finish"

    def in_kafka() -> bool:
        return all(tail.has(list(tail.topics), f.accepted) for f in feeders)

    until(in_kafka, 60, "every accepted event in Kafka", p)
    for domain in FED:
        p.stack.produce_ticks(domain, to_ms(clock.now()) - SKEW_MS)
    ends = p.stack.end_offsets()
    until(
        lambda: all(p.stack.committed().get(tp, 0) >= n for tp, n in ends.items()),
        120, "the worker to take every record", p,
    )  # fmt: skip
    sink_caught_up(p, "the end of the feed")


# --- Kafka ----------------------------------------------------------------------------------


def source_logs(p: Pipeline) -> dict[Domain, dict[int, Log]]:
    """Each source partition as the worker read it: ("tick", ms) or ("event", event)."""
    return {domain: p.stack.source_log(domain, ticks=True) for domain in FED}


def kafka_problems(
    logs: dict[Domain, dict[int, Log]], http: HttpFeeder, mqtt: MqttFeeder, outbox: OutboxFeeder
) -> tuple[list[str], int]:
    """Every event in Kafka is one a client got accepted, with the content it sent, and
    every accepted one is there; copies (redeliveries, retries) are counted, not refused:
    they are the pipeline's to de-duplicate. ([problems], copies)."""
    expected: dict[str, Event] = {**http.expected, **mqtt.expected}
    changes = dict(zip(outbox.accepted, outbox.items, strict=True))
    problems: list[str] = []
    copies = 0
    for domain, by_partition in logs.items():
        events = [e for log in by_partition.values() for kind, e in log if kind == "event"]
        if domain is Domain.DOSSIER:
            named = Counter(e.outbox_id for e in events)
            want = set(outbox.accepted)
            for e in events:
                c = changes.get(e.outbox_id)
                sent = c and (c.dossier_id, c.status, c.changed_at)
                if sent != (e.dossier_id, e.status, e.changed_at):
                    problems.append(f"dossier row {e.outbox_id} in Kafka: {e}, written: {sent}")
        else:
            named = Counter(str(e.event_id) for e in events)
            accepted = http.accepted if domain is Domain.QR else mqtt.accepted
            want = {i for i in accepted if domain is Domain.QR or mqtt.domain_of[i] is domain}
            for e in events:
                sent_event = expected.get(str(e.event_id))
                if sent_event is not None and sent_event != e:
                    problems.append(f"{domain} {e.event_id} in Kafka: {e}, sent: {sent_event}")
        missing, extra = sorted(want - named.keys()), sorted(named.keys() - want)
        if missing:
            problems.append(f"{domain}: {len(missing)} accepted, not in Kafka: {missing[:5]}")
        if extra:
            problems.append(f"{domain}: {len(extra)} in Kafka, never accepted: {extra[:5]}")
        copies += sum(n - 1 for n in named.values())
    return problems, copies


# --- ClickHouse: events -----------------------------------------------------------------------


def places(logs: dict[Domain, dict[int, Log]]) -> dict[str, str]:
    """Each event's place in Kafka, to name it in a failure (a record's index in its
    partition is its offset: no compaction, no transactions on the source topics)."""
    found = {}
    for domain, by_partition in logs.items():
        for p, log in by_partition.items():
            for i, (kind, e) in enumerate(log):
                if kind == "event":
                    dossier = domain is Domain.DOSSIER
                    name = f"{e.outbox_id}/{e.status.value}" if dossier else str(e.event_id)
                    found[name] = f"{domain} partition {p} offset {i}"
    return found


def event_problems(
    query: Callable[[str], Any], http: HttpFeeder, mqtt: MqttFeeder, outbox: OutboxFeeder,
    where: dict[str, str],
) -> tuple[list[str], dict[str, int]]:  # fmt: skip
    """Each events table after OPTIMIZE … FINAL, counted without FINAL: exactly the
    accepted events, each once. ([problems, each event named with its place in Kafka],
    {table: rows})."""
    traffic = {i for i in mqtt.accepted if mqtt.domain_of[i] is Domain.TRAFFIC}
    wanted: dict[str, tuple[str, set[str], list[Any]]] = {
        "events_qr": (EVENT_ID, set(http.accepted), http.accepted),
        "events_traffic": (EVENT_ID, traffic, mqtt.accepted),
        "events_energy": (EVENT_ID, set(mqtt.accepted) - traffic, mqtt.accepted),
        "events_dossier": (
            DOSSIER_ID,
            {f"{i}/{outbox.status_of[i]}" for i in outbox.accepted},
            outbox.accepted,
        ),
    }
    problems: list[str] = []
    counted: dict[str, int] = {}
    for table, (identity, want, accepted) in wanted.items():
        assert len(set(accepted)) == len(accepted), f"a client was given one id twice ({table})"
        # Rows written more than once (a batch re-written after a kill) before the merge:
        # what the faults did, reported; after it, what a panel without FINAL counts.
        before = int(query(f"SELECT count() FROM {DATABASE}.{table}")[0][0])
        query(f"OPTIMIZE TABLE {DATABASE}.{table} FINAL")
        rows = query(f"SELECT {identity}, count() FROM {DATABASE}.{table} GROUP BY {identity}")
        got = {str(name): int(n) for name, n in rows}
        missing, extra = sorted(want - got.keys()), sorted(got.keys() - want)
        twice = sorted(name for name, n in got.items() if n > 1)
        counted[table] = sum(got.values())
        counted["rewritten"] = counted.get("rewritten", 0) + before - counted[table]
        for label, names in (("missing", missing), ("never accepted", extra), ("twice", twice)):
            if names:
                named = [f"{n} ({where.get(n, 'not in Kafka')})" for n in names[:8]]
                problems.append(f"{table}: {len(names)} {label}: {named}")
        if missing:  # where the rows should be: the table's parts (the server's log has them)
            parts = query(
                "SELECT name, rows, modification_time, active FROM system.parts "
                f"WHERE database = '{DATABASE}' AND table = '{table}' ORDER BY min_block_number"
            )
            problems.append(f"{table} parts: {parts}")
    return problems, counted


# --- ClickHouse: KPIs -------------------------------------------------------------------------


def expected_kpis(logs: dict[Domain, dict[int, Log]]) -> dict[Domain, dict[Key, Expected]]:
    """The reference's windows, every one closed by the final ticks."""
    return {d: reference.expected_kpis(d.value, logs[d], profile(), LATENESS_MS) for d in FED}


def kpi_rows(query: Callable[..., Any], domain: Domain) -> dict[Key, dict[str, Any]]:
    data, columns = query(
        f"SELECT *, toUnixTimestamp(window_start) AS start_s FROM {DATABASE}.kpi_{domain}_live",
        with_column_types=True,
    )
    names = [name for name, _ in columns]
    rows = [dict(zip(names, values, strict=True)) for values in data]
    return {
        (r["entity_kind"], r["entity_id"], r["window_size"], r["start_s"] * 1000): r for r in rows
    }


def _same(have: Any, want: Any) -> bool:
    if have is None or want is None:
        return have is None and want is None
    if isinstance(want, float) or isinstance(have, float):
        return math.isclose(have, want, rel_tol=1e-9, abs_tol=1e-9)
    return bool(have == want)


def kpi_problems(
    query: Callable[..., Any], expected: dict[Domain, dict[Key, Expected]]
) -> tuple[list[str], dict[str, int]]:
    """Every live KPI row against the reference: the same windows both ways, every part
    equal (integers exactly, floats to 1e-9); and no window stored twice once merged.
    ([problems, the differing rows first], {table: rows})."""
    problems: list[str] = []
    counted: dict[str, int] = {}
    for domain, want in expected.items():
        table = f"kpi_{domain}"
        got = kpi_rows(query, domain)
        counted[table] = len(got)
        for key in sorted(want.keys() - got.keys()):
            problems.append(f"{table} missing {key}: want {want[key].parts}")
        for key in sorted(got.keys() - want.keys()):
            problems.append(f"{table} extra {key}: {_parts(got[key], domain)}")
        for key in sorted(want.keys() & got.keys()):
            differ = {
                name: (got[key][name], value)
                for name, value in want[key].parts.items()
                if not _same(got[key][name], value)
            }
            if differ:
                problems.append(f"{table} {key} (got, want): {differ}")
        query(f"OPTIMIZE TABLE {DATABASE}.{table} FINAL")
        stored = int(query(f"SELECT count() FROM {DATABASE}.{table}")[0][0])
        if stored != len(got):
            problems.append(
                f"{table}: {stored} rows without FINAL after OPTIMIZE, {len(got)} windows"
            )
    return problems, counted


def _parts(row: dict[str, Any], domain: Domain) -> dict[str, Any]:
    return {name: row[name] for name in KPI_PARTS[domain.value]}
