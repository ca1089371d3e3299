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
from pathlib import Path

import orjson

from ioc.settings import Settings
from ioc.wiring.worker import worker_config
from schemas.domains import CONTRACTS
from schemas.results import Domain
from schemas.timeutil import utcnow
from schemas.topics import CONTROL_HEADER
from streams.detect import DetectorSuite
from streams.domains import DOMAINS, EngineFactory
from streams.engine import TICK, Outputs, PartitionEngine, SourceRecord
from streams.murmur import partitioner
from streams.runtime.app import engine_config
from streams.runtime.gctune import tune_gc
from streams.windows import DAY_MS, MINUTE_MS

PARTITIONS = 3


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _records(path: Path) -> list[tuple[Domain, SourceRecord]]:
    domain_of = {c.topic: d for d, c in CONTRACTS.items()}
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
    # The worker's own configuration (settings' defaults) on the given profile.
    settings = Settings(province_profile=str(profile_path))
    config = worker_config(settings, dict.fromkeys(Domain, PARTITIONS))
    engine_settings = engine_config(config, DetectorSuite(config.detector_params), utcnow)
    factories = {
        d: EngineFactory(DOMAINS[d], engine_settings, config.topology, PARTITIONS) for d in Domain
    }
    engines: dict[tuple[Domain, int], PartitionEngine] = {}

    def engine(domain: Domain, partition: int) -> PartitionEngine:
        found = engines.get((domain, partition))
        if found is None:
            found = engines[(domain, partition)] = factories[domain].engine(partition)
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
