"""``python -m ioc.tooling.bench.engine_only``: the worker's pure engines on the data set, no Kafka.

The same engines, profile, detectors and batch size as ``ioc worker``, driven the way
:mod:`streams.runtime.partition` drives them (process, drain the state writes, encode results
and changelog as the worker does) but without faust, aiokafka or a broker. The gap
between this figure and the worker's is what Kafka, faust and delivery cost.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from ioc.commands.worker import SOURCES
from schemas.province.profile import load_profile
from schemas.results import Domain
from schemas.topics import CONTROL_HEADER
from streams.detect import DetectorSuite
from streams.detect.profile import params_from_profile
from streams.engine import TICK, EngineConfig, Outputs, PartitionEngine, SourceRecord
from streams.kpi.base import DomainLogic, KpiContext
from streams.kpi.dossier import DossierLogic
from streams.kpi.energy import EnergyLogic
from streams.kpi.qr import QrLogic
from streams.kpi.traffic import TrafficLogic
from streams.runtime.app import partitioner
from streams.runtime.gctune import tune_gc
from streams.topology import Topology
from streams.windows import DAY_MS, MINUTE_MS

LOGIC: dict[Domain, type[DomainLogic[Any]]] = {
    Domain.TRAFFIC: TrafficLogic,
    Domain.ENERGY: EnergyLogic,
    Domain.QR: QrLogic,
    Domain.DOSSIER: DossierLogic,
}
GROUP_KINDS = {Domain.TRAFFIC: ("sensor", "segment"), Domain.ENERGY: ("meter", "feeder")}
PARTITIONS = 3


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _records(path: Path) -> list[tuple[Domain, SourceRecord]]:
    domain_of = {topic: domain for domain, topic in SOURCES.items()}
    part = partitioner(PARTITIONS)
    offsets: dict[tuple[str, int], int] = {}
    out = []
    last = 0
    for line in path.read_bytes().splitlines():
        topic, key, value, ts = orjson.loads(line)
        p = part(key)
        offset = offsets.get((topic, p), 0)
        offsets[(topic, p)] = offset + 1
        last = max(last, ts)
        out.append(
            (domain_of[topic], SourceRecord(topic, p, offset, key.encode(), value.encode(), ts))
        )
    close = last + DAY_MS + 120_000 + MINUTE_MS  # the saturation phase's closing tick
    for (topic, p), offset in sorted(offsets.items()):
        tick = SourceRecord(topic, p, offset, None, b"", close, ((CONTROL_HEADER, TICK),))
        out.append((domain_of[topic], tick))
    return out


def run(data: Path, profile_path: Path, batch: int) -> dict[str, float | int]:
    """Drive the engines; figures of the processing alone."""
    tune_gc()  # as ``ioc worker`` does
    profile = load_profile(profile_path)
    topology = Topology.from_profile(profile)
    config = EngineConfig(
        kpi=KpiContext(topology, 120_000, 1, lambda: datetime.now(tz=UTC)),
        producer="bench",
        max_skew_ms=300_000,
        replay_horizon_ms=30 * DAY_MS,
        suite=DetectorSuite(params_from_profile(profile)),
    )
    part = partitioner(PARTITIONS)
    engines: dict[tuple[Domain, int], PartitionEngine] = {}

    def engine(domain: Domain, partition: int) -> PartitionEngine:
        found = engines.get((domain, partition))
        if found is None:
            kinds = GROUP_KINDS.get(domain)
            groups = (
                frozenset(g for g in topology.groups_of(kinds[1]) if part(g) == partition)
                if kinds
                else frozenset()
            )
            expected = topology.expected_in(kinds[0], groups) if kinds else []
            found = PartitionEngine(
                LOGIC[domain], config, partition, partition_of=part, expected=expected
            )
            engines[(domain, partition)] = found
        return found

    records = _records(data)
    loaded_mb = _peak_mb()
    started, cpu = time.perf_counter(), time.process_time()
    kpis = writes = 0
    for i in range(0, len(records), batch):
        out = Outputs()
        touched: dict[tuple[Domain, int], PartitionEngine] = {}
        for domain, record in records[i : i + batch]:
            eng = engine(domain, record.partition)
            touched[(domain, record.partition)] = eng
            # Catching up, like the saturated worker: silence stays quiet while lagging.
            out.extend(eng.process(record, lag_high=True))
        for kpi in out.kpis:
            kpi.model_dump_json()
        for anomaly in out.anomalies:
            anomaly.model_dump_json()
        for eng in touched.values():
            for key, value in eng.drain():
                writes += 1
                orjson.dumps(key)
                if value is not None:
                    orjson.dumps(value)
        kpis += len(out.kpis)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "events": len(records),
        "seconds": round(seconds, 2),
        "cpu_s": round(cpu, 2),
        "events_per_s": len(records) / seconds,
        "events_per_cpu_s": len(records) / cpu,
        "kpi_records": kpis,
        "state_writes": writes,
        "state_records": sum(len(e.state.records) for e in engines.values()),
        "rss_after_load_mb": round(loaded_mb, 1),
        "peak_rss_mb": round(_peak_mb(), 1),
    }


def main(argv: list[str]) -> int:
    """Parse arguments, run, print one JSON line."""
    parser = argparse.ArgumentParser(prog="ioc.tooling.bench.engine_only")
    parser.add_argument("--data", type=Path, required=True, help="JSON lines [topic,key,value,ts]")
    parser.add_argument("--profile", type=Path, required=True)
    parser.add_argument("--batch", type=int, default=1_000)
    args = parser.parse_args(argv[1:])
    result = run(args.data, args.profile, args.batch)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
