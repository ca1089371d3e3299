"""``ioc simulate``: seeded province streams into Kafka or JSONL files, with ground truth.

The composition root for the simulator: settings give the PII key, the broker and
the topic suffix; the profile, seed, period and sink come from the command line.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import replace
from datetime import datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from connectors.sources.producer import EventProducer
from ioc.kafka_client import kafka_client_options
from ioc.settings import Settings
from ioc.tooling.simulator import (
    DOMAINS,
    JsonlOutput,
    KafkaOutput,
    Output,
    RealTime,
    RunSummary,
    Simulation,
    SimulationConfig,
    run,
)
from ioc.tooling.simulator.planner import DEFAULT_PER_WEEK
from ioc.tooling.simulator.truth import write_csv
from schemas.errors import IocError
from schemas.privacy import PiiHasher
from schemas.province.loading import DEFAULT_PROFILE, load_profile
from schemas.timeutil import from_ms, to_ms, utcnow

console = Console()
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3_600, "d": 86_400, "w": 604_800}
REALTIME_HORIZON = timedelta(days=7)
"""Simulated span a real-time run plans injections over when no --period bounds it."""


class SimulateUsageError(IocError):
    """The options of ``ioc simulate`` do not make a run."""


def parse_duration(text: str) -> timedelta:
    """'60s', '90m', '2h', '21d', '1w' (a bare number is seconds)."""
    match = _DURATION.match(text)
    if match is None or float(match.group(1)) <= 0:
        raise SimulateUsageError(f"not a duration: {text!r} (use e.g. 60s, 90m, 2h, 21d)")
    return timedelta(seconds=float(match.group(1)) * _UNIT_S[match.group(2)])


def parse_start(text: str | None, default: datetime) -> datetime:
    """An ISO 8601 instant with an offset; a naive one is refused, never guessed."""
    if text is None:
        return default
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise SimulateUsageError(f"--start: not an ISO 8601 datetime: {text!r}") from None
    if value.tzinfo is None:
        raise SimulateUsageError("--start needs a UTC offset, e.g. 2026-11-01T00:00:00+07:00")
    return value


def parse_domains(text: str) -> tuple[str, ...]:
    """'traffic,energy' → ('traffic', 'energy'), validated."""
    chosen = tuple(d.strip() for d in text.split(",") if d.strip())
    unknown = [d for d in chosen if d not in DOMAINS]
    if unknown or not chosen:
        raise SimulateUsageError(f"--domains: unknown {unknown}; choose from {', '.join(DOMAINS)}")
    return chosen


def make_output(target: str, settings: Settings, topic_suffix: str, batch_size: int) -> Output:
    """``kafka`` or ``jsonl:DIR``."""
    if target == "kafka":

        def producer() -> EventProducer:
            return EventProducer(
                kafka_client_options(settings),
                client_id="ioc-simulator",
                request_timeout_ms=settings.request_timeout_ms,
            )

        return KafkaOutput(producer, batch_size=batch_size, topic_suffix=topic_suffix)
    if target.startswith("jsonl:") and len(target) > len("jsonl:"):
        return JsonlOutput(Path(target.removeprefix("jsonl:")))
    if target.startswith("connectors:") and len(target) > len("connectors:"):
        # Through the real connectors: QR scans to the HTTP gateway (API key from the
        # file), telemetry to Mosquitto for the MQTT bridge, dossiers into the
        # one-stop-shop outbox table for the poller. They must be running.
        from ioc.tooling.demo.feed import build_output as connector_output

        api_key = Path(target.removeprefix("connectors:")).read_text(encoding="utf-8").strip()
        return connector_output(settings, api_key)
    raise SimulateUsageError(
        f"--to: expected kafka, jsonl:DIR or connectors:API_KEY_FILE, got {target!r}"
    )


def simulate_command(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="kafka, jsonl:DIR (a file per topic), or connectors:KEY_FILE (HTTP, MQTT, outbox)",
        ),
    ],
    profile: Annotated[
        str, typer.Option(help="Profile name (shipped) or path to a profile JSON file")
    ] = DEFAULT_PROFILE,
    seed: Annotated[int, typer.Option(help="Same seed, same profile → identical output")] = 7,
    start: Annotated[
        str | None,
        typer.Option(
            help="First simulated instant, ISO 8601 with offset. Default: now (real time), "
            "or the local midnight one --period before today (--fast)"
        ),
    ] = None,
    period: Annotated[
        str | None, typer.Option(help="Simulated span, e.g. 21d (required with --fast)")
    ] = None,
    fast: Annotated[bool, typer.Option("--fast", help="As fast as possible over --period")] = False,
    duration: Annotated[
        str | None, typer.Option(help="Real time: wall-clock run time, e.g. 60s")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Real time: events per second, all streams")
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(help="Ground-truth CSV (default with jsonl:DIR: DIR/truth.csv)"),
    ] = None,
    domains: Annotated[
        str, typer.Option(help="Comma-separated subset of traffic,energy,qr,dossier")
    ] = ",".join(DOMAINS),
    anomalies: Annotated[
        bool, typer.Option("--anomalies/--no-anomalies", help="Inject anomalies")
    ] = True,
    per_week: Annotated[
        float, typer.Option("--injections-per-week", help="Injections per kind per week")
    ] = DEFAULT_PER_WEEK,
    topic_suffix: Annotated[
        str | None,
        typer.Option(help="Appended to every topic written (default: IOC_CONNECTOR_TOPIC_SUFFIX)"),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Kafka: events per acknowledged batch")] = 2_000,
    create_topics: Annotated[
        bool,
        typer.Option(
            "--create-topics", help="Kafka: create missing topics from the registry (+ suffix)"
        ),
    ] = False,
) -> None:
    """Simulate the province: realistic, seeded streams with injected anomalies and ground truth.

    Examples:
      ioc simulate --seed 7 --start 2026-11-01T00:00:00+07:00 --period 21d --fast
        --to jsonl:.cache/sim --truth .cache/sim/truth.csv
      ioc simulate --seed 7 --duration 60s --rate 200 --to kafka
    """
    settings = ctx.obj
    assert isinstance(settings, Settings)
    settings = settings.for_component("simulator")  # its Kafka principal, ioc-simulator
    config, pace = _plan(profile, seed, start, period, fast, duration, rate, domains)
    config = replace(config, anomalies=anomalies, injections_per_week=per_week)
    suffix = topic_suffix if topic_suffix is not None else settings.connector_topic_suffix
    sink = make_output(to, settings, suffix, batch_size)
    if truth is None and isinstance(sink, JsonlOutput):
        truth = sink.directory / "truth.csv"
    hasher = PiiHasher(settings.pii_hmac_key.get_secret_value().encode(), settings.pii_key_id)
    sim = Simulation(config, hasher)
    if to.startswith("connectors:"):  # a client sends raw ids; the gateway hashes them
        from ioc.tooling.demo.senders import RoutingOutput

        assert isinstance(sink, RoutingOutput)
        sink.http.identities = sim.identities
    if isinstance(sink, KafkaOutput):
        actual = {topic: sink.topic(topic) for topic in sim.topics()}
        from ioc.ops import kafka_admin

        kafka_admin.check_topics(
            settings,
            {written: base for base, written in actual.items()},
            create=create_topics,
            missing_error=SimulateUsageError,
        )
    summary = _run_with_progress(sim, sink, pace)
    written = write_csv(truth, sim.truth_rows(until_ms=summary.reached_ms)) if truth else 0
    _print_summary(sim, summary, sink, truth, written)


def _plan(
    profile: str,
    seed: int,
    start: str | None,
    period: str | None,
    fast: bool,
    duration: str | None,
    rate: float | None,
    domains: str,
) -> tuple[SimulationConfig, RealTime | None]:
    p = load_profile(profile)
    now = utcnow()
    if fast:
        if period is None or duration is not None or rate is not None:
            raise SimulateUsageError("--fast needs --period and takes no --duration/--rate")
        span = parse_duration(period)
        today = datetime.combine(now.astimezone(p.zone).date(), dtime(0), tzinfo=p.zone)
        first = parse_start(start, today - span)
        pace = None
    else:
        if duration is None or rate is None:
            raise SimulateUsageError(
                "choose a mode: --period P --fast, or --duration D --rate R (real time)"
            )
        first = parse_start(start, now.replace(microsecond=0))
        if to_ms(first) > to_ms(now) + 60_000:
            raise SimulateUsageError(
                "--start is in the future: a real-time run never sends an event before its "
                "event time (Kafka refuses records over an hour ahead); use --fast to write "
                "future periods to files"
            )
        span = parse_duration(period) if period else REALTIME_HORIZON
        pace = RealTime(rate=rate, duration_s=parse_duration(duration).total_seconds())
    config = SimulationConfig(
        profile=p,
        seed=seed,
        start=first,
        end=first + span,
        domains=parse_domains(domains),
    )
    return config, pace


def _run_with_progress(sim: Simulation, sink: Output, pace: RealTime | None) -> RunSummary:
    began = time.monotonic()
    columns = (
        TextColumn("[bold]simulating[/bold] {task.fields[at]}"),
        BarColumn(),
        TextColumn("{task.fields[sent]:>12,} events"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        total = pace.duration_s if pace else (sim.end_ms - sim.start_ms) / 1000
        task = progress.add_task("simulate", total=total, at="", sent=0)

        def update(t_ms: int, sent: int) -> None:
            done = time.monotonic() - began if pace else (t_ms - sim.start_ms) / 1000
            at = from_ms(t_ms).astimezone(sim.config.profile.zone).strftime("%Y-%m-%d %H:%M")
            progress.update(task, completed=min(done, total), at=at, sent=sent)

        summary = asyncio.run(run(sim, sink, realtime=pace, on_progress=update))
        progress.update(task, completed=total)
    return summary


def _print_summary(
    sim: Simulation, summary: RunSummary, sink: Output, truth: Path | None, written: int
) -> None:
    table = Table("topic", "events", title="events written")
    for topic in sim.topics():
        name = sink.topic(topic) if isinstance(sink, KafkaOutput) else topic
        table.add_row(name, f"{summary.events.get(topic, 0):,}")
    table.add_row("[bold]total[/bold]", f"[bold]{summary.total:,}[/bold]")
    console.print(table)
    kinds = Table("kind", "injections", title="anomalies injected")
    for kind, count in sorted(summary.injections.items()):
        kinds.add_row(kind, str(count))
    console.print(kinds)
    controls = ", ".join(f"{k} {n}" for k, n in sorted(summary.controls.items()))
    zone = sim.config.profile.zone
    console.print(
        f"simulated {from_ms(sim.start_ms).astimezone(zone).isoformat()} → "
        f"{from_ms(summary.reached_ms).astimezone(zone).isoformat()} "
        f"(seed {sim.config.seed}, profile {sim.config.profile.name})\n"
        f"negative controls: {controls or 'none'}\n"
        f"{summary.total:,} events in {summary.wall_s:.1f} s = {summary.events_per_s:,.0f} events/s"
    )
    if truth is not None:
        console.print(f"ground truth: {truth} ({written} rows)")
    else:
        console.print("ground truth: not written (pass --truth FILE)")
