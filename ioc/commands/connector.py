"""``ioc connector http|mqtt|outbox|file``: the source connectors."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from connectors.sources.edge import STREAMS
from ioc import process
from ioc.settings import Settings
from ioc.version import register_build_info
from schemas.timeutil import utcnow

if TYPE_CHECKING:
    from connectors.sources.base import Connector

# Connector modules (aiohttp, paho, psycopg, aiokafka) are imported inside each command, so
# every other `ioc` command starts without them.

app = typer.Typer(help="Source connectors: sources -> Kafka.", no_args_is_help=True)
http_app = typer.Typer(help="HTTP ingest gateway.", no_args_is_help=True)
outbox_app = typer.Typer(help="Dossier outbox poller (PostgreSQL).", no_args_is_help=True)
app.add_typer(http_app, name="http")
app.add_typer(outbox_app, name="outbox")
console = Console(stderr=True)


def _settings(ctx: typer.Context) -> Settings:
    # The root callback builds Settings; sub-command contexts inherit its obj.
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _run(
    settings: Settings,
    create_topics: bool,
    metrics_port: int,
    build: Callable[[], Connector],
    task: str,
) -> None:
    """A long-running connector: topics checked, /metrics, then run until a signal.

    ``task`` names the connector's own loop (the bridge's ``stopped``, the poller's
    ``wait``): when it ends, so does the process, non-zero if it failed.
    """
    from ioc.wiring import connectors as wire

    process.configure_logging(settings)
    wire.check_topics(settings, create=create_topics)
    connector = build()
    service = process.Connected(connector, getattr(connector, task))
    process.expose_metrics(
        settings, metrics_port, connector.registry, health=lambda: service.healthy
    )
    asyncio.run(process.serve(service))


# --- http ------------------------------------------------------------------------------


@http_app.command("serve")
def http_serve(
    ctx: typer.Context,
    port: Annotated[int | None, typer.Option(help="Listen port (default: IOC_HTTP_PORT)")] = None,
    keys_file: Annotated[Path | None, typer.Option(help="API keys file")] = None,
    create_topics: Annotated[
        bool, typer.Option("--create-topics", help="Create missing topics from the registry")
    ] = False,
) -> None:
    """Serve POST /v1/streams/{stream}/events, /health, /metrics, /openapi.json."""
    from ioc.wiring import connectors as wire

    settings = _settings(ctx).for_component("gateway")
    if keys_file is not None:
        settings = settings.model_copy(update={"http_api_keys_file": str(keys_file)})
    process.configure_logging(settings)
    wire.check_topics(settings, create=create_topics)
    gateway = wire.gateway(settings, port=port)
    register_build_info(gateway.registry)  # its own /metrics route serves this registry
    if not len(gateway.keys):
        console.print(f"[yellow]no API keys in {wire.keys_path(settings)}: every POST gets 401[/]")

    console.print(f"gateway listening on {gateway.url}")
    asyncio.run(process.serve(process.Connected(gateway)))


@http_app.command("add-key")
def http_add_key(
    ctx: typer.Context,
    source: Annotated[str, typer.Option(help="The source this key writes as")],
    streams: Annotated[str, typer.Option(help="Comma-separated streams, or *")] = "*",
    expires: Annotated[
        str | None,
        typer.Option(
            help="Refused from this instant on: ISO 8601 with an offset, "
            "e.g. 2027-06-30T00:00:00+07:00"
        ),
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Requests/s for this key (default IOC_HTTP_RATE_PER_KEY)")
    ] = None,
    burst: Annotated[
        int | None, typer.Option(help="Burst for this key (default IOC_HTTP_BURST_PER_KEY)")
    ] = None,
    keys_file: Annotated[Path | None, typer.Option(help="API keys file")] = None,
) -> None:
    """Create an API key; only its SHA-256 is stored, the key is printed once."""
    from connectors.sources.base import ConfigurationError
    from connectors.sources.http.keys import add_key, parse_expiry
    from ioc.wiring import connectors as wire

    path = keys_file or wire.keys_path(_settings(ctx))
    try:
        until = None if expires is None else parse_expiry(expires, "--expires")
        if until is not None and until <= utcnow():
            raise ConfigurationError(f"--expires {expires} is already past")
        raw = add_key(
            path,
            source,
            [s.strip() for s in streams.split(",") if s.strip()],
            expires=until,
            rate=rate,
            burst=burst,
        )
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"stored the hash in {path}; the key (shown once):")
    print(raw)


@http_app.command("revoke-key")
def http_revoke_key(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="Remove every key of this source")] = None,
    sha256_prefix: Annotated[
        str | None,
        typer.Option(help="Remove the one key whose hash starts so (8+ hex, see list-keys)"),
    ] = None,
    keys_file: Annotated[Path | None, typer.Option(help="API keys file")] = None,
) -> None:
    """Remove keys from the file; a running gateway refuses them within about a second."""
    from connectors.sources.base import ConfigurationError
    from connectors.sources.http.keys import revoke_keys
    from ioc.wiring import connectors as wire

    path = keys_file or wire.keys_path(_settings(ctx))
    try:
        removed = revoke_keys(path, source=source, sha256_prefix=sha256_prefix)
    except ConfigurationError as exc:
        raise typer.BadParameter(str(exc)) from None
    for key in removed:
        print(f"revoked {key.source} {key.sha256[:12]} {','.join(sorted(key.streams))}")
    console.print(f"{len(removed)} key(s) removed from {path}")


@http_app.command("list-keys")
def http_list_keys(
    ctx: typer.Context,
    keys_file: Annotated[Path | None, typer.Option(help="API keys file")] = None,
) -> None:
    """Print each key's source, hash prefix, streams, limits and expiry (never a key)."""
    from rich.table import Table

    from connectors.sources.http.keys import KeyStore
    from ioc.wiring import connectors as wire

    settings = _settings(ctx)
    path = keys_file or wire.keys_path(settings)
    now = utcnow()
    table = Table("source", "sha256", "streams", "rate/s", "burst", "expires", title=str(path))
    for key in sorted(KeyStore.load(path).keys(), key=lambda k: (k.source, k.sha256)):
        expires = "never" if key.expires is None else key.expires.isoformat()
        if key.expired(now):
            expires += " (expired)"
        table.add_row(
            key.source,
            key.sha256[:12],
            ",".join(sorted(key.streams)),
            f"{settings.http_rate_per_key:g}" if key.rate is None else f"{key.rate:g}",
            str(settings.http_burst_per_key if key.burst is None else key.burst),
            expires,
        )
    Console().print(table)


@http_app.command("openapi")
def http_openapi() -> None:
    """Print the gateway's OpenAPI document."""
    from connectors.sources.http.openapi import openapi_document

    print(orjson.dumps(openapi_document(), option=orjson.OPT_INDENT_2).decode())


@http_app.command("bench")
def http_bench(
    ctx: typer.Context,
    events: Annotated[int, typer.Option(help="Events to send in total")] = 50_000,
    batch_size: Annotated[int, typer.Option(help="Events per request")] = 100,
    concurrency: Annotated[int, typer.Option(help="Requests in flight")] = 8,
) -> None:
    """Measure accepted events/s of a gateway subprocess on fresh topics (deleted after)."""
    from ioc.tooling.bench.gateway import run_bench

    result = asyncio.run(run_bench(_settings(ctx), events, batch_size, concurrency))
    console.print(result.table())
    print(orjson.dumps(result.as_dict()).decode())


# --- mqtt ------------------------------------------------------------------------------


@app.command("mqtt")
def mqtt_command(
    ctx: typer.Context,
    metrics_port: Annotated[
        int | None, typer.Option(help="/metrics port, 0 = none (default IOC_MQTT_METRICS_PORT)")
    ] = None,
    create_topics: Annotated[
        bool, typer.Option("--create-topics", help="Create missing topics from the registry")
    ] = False,
) -> None:
    """Bridge MQTT telemetry (QoS 1, persistent session) into Kafka."""
    from ioc.wiring import connectors as wire

    settings = _settings(ctx).for_component("bridge")
    port = settings.mqtt_metrics_port if metrics_port is None else metrics_port
    _run(settings, create_topics, port, lambda: wire.bridge(settings), "stopped")


# --- outbox ----------------------------------------------------------------------------


@outbox_app.command("run")
def outbox_run(
    ctx: typer.Context,
    metrics_port: Annotated[
        int | None, typer.Option(help="/metrics port, 0 = none (default IOC_OUTBOX_METRICS_PORT)")
    ] = None,
    create_topics: Annotated[
        bool, typer.Option("--create-topics", help="Create missing topics from the registry")
    ] = False,
) -> None:
    """Poll the dossier status history into Kafka (snapshot of open dossiers first time)."""
    from ioc.wiring import connectors as wire

    settings = _settings(ctx).for_component("outbox")
    port = settings.outbox_metrics_port if metrics_port is None else metrics_port
    _run(settings, create_topics, port, lambda: wire.poller(settings), "wait")


@outbox_app.command("init-db")
def outbox_init_db(ctx: typer.Context) -> None:
    """Create the dossier tables, the poller's position table and its read-only rights.

    Runs as the system's owner role (IOC_POSTGRES_USER); the poller's role
    (IOC_OUTBOX_USER) must exist. deploy/postgres/*.sql and position/*.sql; idempotent.
    """
    from ioc.wiring import connectors as wire

    settings = _settings(ctx)
    for name in wire.prepare_outbox_db(settings):
        console.print(f"applied {name}")
    console.print(
        f"{settings.outbox_user} may read {settings.outbox_schema}.dossier and "
        f"dossier_status_history and write {settings.outbox_position_schema}.ioc_outbox_position"
    )


@outbox_app.command("seed")
def outbox_seed(
    ctx: typer.Context,
    dossiers: Annotated[int, typer.Option(help="Dossiers to create")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed")] = 1,
    prefix: Annotated[str, typer.Option(help="Dossier id prefix")] = "H21",
) -> None:
    """Write realistic dossier lifecycles through the system's own write path."""
    import psycopg

    from connectors.sources.outbox.seed import seed as write_seed
    from ioc.wiring import connectors as wire

    settings = _settings(ctx)
    with psycopg.connect(
        **wire.pg_conninfo(settings), options=f"-c search_path={settings.outbox_schema}"
    ) as conn:
        rows = write_seed(
            conn,
            dossiers=dossiers,
            now=utcnow(),
            rng=random.Random(seed),  # noqa: S311  # reproducible fake data, prefix=prefix
        )
    console.print(f"wrote {rows} status changes of {dossiers} dossiers")


# --- file ------------------------------------------------------------------------------


@app.command("file")
def file_command(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="JSONL or CSV")],
    stream: Annotated[str, typer.Option(help=f"One of {', '.join(STREAMS)}")],
    topic: Annotated[str | None, typer.Option(help="Target topic (default: the stream's)")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl or csv (default: suffix)")
    ] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="src=dst (dotted dst nests; empty drops)")
    ] = None,
    rate: Annotated[float | None, typer.Option(help="At most N events/s")] = None,
    speedup: Annotated[
        float | None, typer.Option(help="Replay event-time spacing X times faster")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar")] = True,
    create_topics: Annotated[
        bool, typer.Option("--create-topics", help="Create missing topics from the registry")
    ] = False,
) -> None:
    """Replay a file into a topic; bad rows are dead-lettered with their line number."""
    from connectors.sources.files import FileJob, detect_format, parse_mapping
    from ioc.wiring import connectors as wire

    settings = _settings(ctx).for_component("file")
    if fmt not in (None, "jsonl", "csv"):
        raise typer.BadParameter("--format must be jsonl or csv")
    job = FileJob(
        path=path,
        stream=stream,
        topic=topic,
        fmt=(fmt or detect_format(path)),  # type: ignore[arg-type]
        mapping=parse_mapping(mapping or []),
        rate=rate,
        speedup=speedup,
    )
    if stream not in STREAMS:
        raise typer.BadParameter(f"--stream must be one of {', '.join(STREAMS)}")
    wire.check_topics(
        settings, create=create_topics, extra={topic: STREAMS[stream].topic} if topic else None
    )
    connector = wire.file_connector(settings)
    total = sum(1 for line in path.open("rb") if line.strip()) - (1 if job.fmt == "csv" else 0)

    async def main() -> None:
        await connector.start()
        try:
            with Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TimeElapsedColumn(), console=console, disable=not progress,
            ) as bar:  # fmt: skip
                task = bar.add_task(path.name, total=total)
                report = await connector.run(job, lambda n: bar.advance(task, n))
        finally:
            await connector.stop()
        console.print(
            f"read {report.read}, accepted {report.accepted}, dead-lettered {report.rejected} "
            f"in {report.seconds:.1f} s"
        )

    asyncio.run(main())
