"""``ioc bench run``: every phase in one go, on one pre-generated data set.

Order: data set → (a) baseline, and the worker's engines alone (no Kafka) → (b)
saturation with each worker count → (c) fixed rate with each worker count → (d) the
Quix Streams peer → (f) recovery, on a data set of its own (≈ 100,000 entities). Phases
run one after the other, never side by side (two cores). A phase that fails is recorded
with its error and the run goes on; everything the run created is deleted at the end of
each phase.
"""

from __future__ import annotations

import logging
import signal
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from ioc.assets import CHECKOUT_ROOT
from ioc.settings import Settings
from ioc.tooling.bench import dataset, machine, report
from ioc.tooling.bench.kafka_ops import delete_run_topics
from ioc.tooling.bench.latency import run_latency
from ioc.tooling.bench.peer import run_peer
from ioc.tooling.bench.recovery import run_recovery
from ioc.tooling.bench.saturation import run_baseline, run_engine_only, run_saturation
from ioc.tooling.bench.scaling import scaling
from ioc.tooling.bench.stack import RunContext
from schemas.privacy import PiiHasher
from schemas.topics import EVENT_TOPICS, registry

log = logging.getLogger(__name__)

PEER_PYTHON = CHECKOUT_ROOT / ".cache" / "bench" / "peer-venv" / "bin" / "python"


@dataclass(frozen=True)
class BenchOptions:
    mode: str = "full"
    events: int = 150_000
    copies: int = 100
    """Profile clones: 100 × the default profile's 324 telemetry entities ≈ 32,400.

    ``--copies 310`` (≈ 100,000 entities) runs too since silence state is one record per
    group, but its worker needs ≈ 4.5 GB and the run takes twice as long; it is the
    memory target's measurement (docs/performance.md, known limits).
    """
    seed: int = 7
    rate: float = 2_000.0
    duration_s: float = 60.0
    lateness_s: int = 10
    """Allowed lateness of the fixed-rate phase (a KPI row waits for it; see docs)."""
    workers: tuple[int, ...] = (1, 2, 3)
    """Saturation worker counts: up to one per partition of a source topic (3 in dev)."""
    latency_workers: tuple[int, ...] = (1, 2)
    phases: tuple[str, ...] = ("baseline", "saturation", "latency", "peer", "recovery")
    """Which phases run ("baseline" includes the engines alone)."""
    recovery_copies: int = 310
    """The recovery phase's own data set: ×310 ≈ 100,000 entities (issue 17)."""
    recovery_events: int = 150_000
    """≈ 1.5 events per entity: every sensor, meter and check-point has state."""
    peer: bool = True
    profile: bool = False
    out_dir: Path = CHECKOUT_ROOT / "bench-results"
    peer_python: Path = PEER_PYTHON


QUICK = BenchOptions(
    mode="quick",
    events=12_000,
    copies=31,
    duration_s=6.0,
    lateness_s=3,
    workers=(1,),
    latency_workers=(1,),
    # Not the recovery phase: a restart after SIGKILL alone waits out the killed member's
    # session (30 s) — it cannot fit in a quick run.
    phases=("baseline", "saturation", "latency", "peer"),
)

Phases = list[tuple[str, str, Callable[[], Any]]]
"""(label, result key, job) in the order they run."""

DATASET_PHASES = frozenset({"baseline", "saturation", "latency", "peer"})
"""Phases that read the run's main data set (the recovery phase makes its own)."""


def _start(profile_zone: str) -> datetime:
    # Two local days back at 08:00 (QR and dossier offices busy): inside every topic's
    # retention, and the closing tick (a day later) is still in the past — the broker
    # refuses timestamps an hour ahead.
    zone = ZoneInfo(profile_zone)
    today = datetime.now(tz=zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today - timedelta(days=2)).replace(hour=8).astimezone(UTC)


def _phase(label: str, job: Callable[[], Any], console: Console) -> Any:
    console.print(f"[cyan]▶ {label}[/cyan]")
    started = time.monotonic()
    try:
        value = job()
    except Exception as exc:  # a failed phase is a result too; the others still run
        log.exception("phase %s failed", label)
        value = {"error": f"{type(exc).__name__}: {exc}"[:4_000], "trace": traceback.format_exc()}
    console.print(f"  done in {time.monotonic() - started:.0f} s")
    return value


def _interrupt_on_term() -> None:
    # SIGTERM (a CI timeout, `timeout`) unwinds like Ctrl-C, so every phase's finally
    # stops its processes and deletes its topics and database.
    def raise_interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, raise_interrupt)


def run(settings: Settings, options: BenchOptions, console: Console) -> tuple[dict[str, Any], Path]:
    """Run every phase; return the result and the JSON file written."""
    _interrupt_on_term()
    started = datetime.now(tz=UTC)
    tag = uuid.uuid4().hex[:8]
    workdir = CHECKOUT_ROOT / ".cache" / "bench" / f"run-{tag}"
    hasher = PiiHasher(settings.pii_hmac_key.get_secret_value().encode(), settings.pii_key_id)
    result: dict[str, Any] = {
        "schema": 1,
        "mode": options.mode,
        "started_at": started.isoformat(),
        "tag": tag,
        "machine": machine.machine(),
        "load_before": machine.load_average(),
        "versions": machine.versions(options.peer_python),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        "settings": {
            "kafka_version": settings.kafka_version,
            # TLS + SASL or not (docs/performance.md compares the two, decision 0039)
            "kafka_security_protocol": settings.kafka_security_protocol,
            "stream_batch_size": settings.stream_batch_size,
            "stream_batch_within_s": settings.stream_batch_within_s,
            "allowed_lateness_s": settings.allowed_lateness_s,
            "sink_batch_max_rows": settings.sink_batch_max_rows,
            "sink_batch_max_age_s": settings.sink_batch_max_age_s,
            # The bench creates its topics with the registry's dev counts (kafka_ops).
            "partitions_per_source_topic": max(
                s.partitions("dev") for s in registry() if s.name in EVENT_TOPICS
            ),
        },
    }
    make = partial(_data, settings, options, hasher)
    phases: Phases = []
    wanted = set(options.phases)
    if wanted & DATASET_PHASES:
        console.print(f"generating the data set ({options.events:,} events, ×{options.copies}) …")
        data = make(options.copies, options.events, workdir)
        result["dataset"] = _describe(data)
        phases += _main_phases(RunContext(settings, tag, workdir, data), options)
    if "recovery" in wanted:
        recovery = partial(
            _recovery, settings, tag, workdir, make, options.recovery_copies,
            options.recovery_events,
        )  # fmt: skip
        phases.append(("recovery", "recovery", recovery))
    result["saturation"], result["latency"] = [], []
    try:
        for label, key, job in phases:
            value = _phase(label, job, console)
            if key in ("saturation", "latency"):
                result[key].append(value)
            else:
                result[key] = value
    finally:
        delete_run_topics(settings, tag)  # whatever a failed phase left
    result["scaling"] = scaling(result["saturation"])
    result["load_after"] = machine.load_average()
    result["finished_at"] = datetime.now(tz=UTC).isoformat()
    return result, report.write(result, options.out_dir, started)


def _data(
    settings: Settings, options: BenchOptions, hasher: PiiHasher, copies: int, events: int,
    directory: Path,
) -> dataset.Dataset:  # fmt: skip
    return dataset.generate(
        base_profile=settings.province_profile,
        copies=copies,
        events=events,
        seed=options.seed,
        start=_start(settings.display_timezone),
        hasher=hasher,
        directory=directory,
    )


def _describe(data: dataset.Dataset) -> dict[str, Any]:
    return {
        "events": len(data.records),
        "by_topic": data.by_topic(),
        "entities": data.entities,
        "copies": data.copies,
        "seed": data.seed,
        "start": data.start.isoformat(),
        "event_time_span_s": (data.last_ms - data.first_ms) / 1000,
        "generate_s": round(data.generate_s, 1),
    }


def _timeout(data: dataset.Dataset) -> float:
    return max(300.0, len(data.records) / 200)  # far beyond any plausible run


def _main_phases(ctx: RunContext, options: BenchOptions) -> Phases:
    """Baseline … peer, on the run's main data set."""
    timeout = _timeout(ctx.dataset)
    wanted = set(options.phases)
    phases: Phases = []
    if "baseline" in wanted:
        phases.append(("baseline", "baseline", partial(run_baseline, ctx, timeout)))
        phases.append(
            ("engines without Kafka", "engine_only", partial(run_engine_only, ctx, timeout))
        )
    for n in options.workers if "saturation" in wanted else ():
        spy = None
        if options.profile and n == 1:
            spy = options.out_dir / f"profile-{ctx.tag}-worker.txt"
        phases.append(
            (f"saturation {n}w", "saturation", partial(run_saturation, ctx, n, timeout, spy))
        )
    for n in options.latency_workers if "latency" in wanted else ():
        live = partial(
            run_latency, ctx, n, rate=options.rate, duration_s=options.duration_s,
            lateness_s=options.lateness_s, timeout_s=timeout,
        )  # fmt: skip
        phases.append((f"latency {n}w", "latency", live))
    if options.peer and "peer" in wanted:
        phases.append(("peer", "peer", partial(run_peer, ctx, options.peer_python, timeout)))
    return phases


def _recovery(
    settings: Settings,
    tag: str,
    workdir: Path,
    make: Callable[[int, int, Path], dataset.Dataset],
    copies: int,
    events: int,
) -> dict[str, Any]:
    # Generated inside the phase (its time and memory belong to it, not to the others).
    data = make(copies, events, workdir / "recovery")
    ctx = RunContext(settings, tag, workdir, data)
    return {**run_recovery(ctx, _timeout(data)), "dataset": _describe(data)}


def quick(**overrides: Any) -> BenchOptions:
    """The quick preset with overrides."""
    return replace(QUICK, **overrides)
