"""The ``ioc`` command line: the composition root that wires settings to the pieces."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ioc.commands.alerter import alerter_command
from ioc.commands.backtest import backtest_command
from ioc.commands.clickhouse_exporter import clickhouse_exporter_command
from ioc.commands.connector import app as connector_app
from ioc.commands.demo import demo_command
from ioc.commands.grafana import app as grafana_app
from ioc.commands.notify import notify_command
from ioc.commands.quality import quality_command
from ioc.commands.replay import app as replay_app
from ioc.commands.simulate import simulate_command
from ioc.commands.sink import sink_command
from ioc.commands.topics import app as topics_app
from ioc.commands.worker import worker_command
from ioc.settings import Settings
from schemas.errors import IocError

app = typer.Typer(help="IOC streaming pipeline: Kafka → faust → ClickHouse.", no_args_is_help=True)
db_app = typer.Typer(help="ClickHouse schema.", no_args_is_help=True)
config_app = typer.Typer(help="Settings.", no_args_is_help=True)
schemas_app = typer.Typer(help="Event and result contracts.", no_args_is_help=True)
app.add_typer(topics_app, name="topics")
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
app.add_typer(schemas_app, name="schemas")
bench_app = typer.Typer(help="Measurements (make bench).", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(connector_app, name="connector")
app.add_typer(grafana_app, name="grafana")
app.add_typer(replay_app, name="replay")
app.command("sink")(sink_command)
app.command("backtest")(backtest_command)
app.command("quality")(quality_command)
app.command("alerter")(alerter_command)
app.command("notify")(notify_command)
app.command("clickhouse-exporter")(clickhouse_exporter_command)
app.command("simulate")(simulate_command)
app.command("worker")(worker_command)
app.command("demo")(demo_command)

console = Console()


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


def _print_version(value: bool) -> None:
    if value:
        from ioc.version import describe

        print(describe())
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and the commit it was built from, then exit.",
        ),
    ] = False,
) -> None:
    # Built once, here; everything below receives it.
    ctx.obj = Settings()


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings (secrets masked)."""
    table = Table("setting", "value")
    for name, value in _settings(ctx).model_dump().items():
        table.add_row(f"IOC_{name.upper()}", str(value))
    console.print(table)


@db_app.command("migrate")
def db_migrate(
    ctx: typer.Context,
    chdb_path: Annotated[
        Path | None,
        typer.Option("--chdb", help="Apply to a chdb (current ClickHouse) directory instead"),
    ] = None,
) -> None:
    """Apply the numbered migrations in deploy/clickhouse/migrations (safe to run twice)."""
    from ioc.ops.db.executors import ChdbExecutor, ClickHouseExecutor
    from ioc.ops.db.migrate import migrate

    settings = _settings(ctx)
    executor = ChdbExecutor(chdb_path) if chdb_path else ClickHouseExecutor.from_settings(settings)
    try:
        newly = migrate(
            executor,
            settings.clickhouse_database,
            raw_retention_days=settings.raw_retention_days,
            cluster="" if chdb_path else settings.clickhouse_cluster,
        )
    finally:
        executor.close()
    if newly:
        for migration in newly:
            console.print(f"applied {migration.number:04d}_{migration.name}")
    else:
        console.print("schema is up to date")


@db_app.command("load-entities")
def db_load_entities(
    ctx: typer.Context,
    profile: Annotated[str, typer.Option(help="Profile name or path")] = "binh-phuoc-2021",
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            exists=True,
            dir_okay=False,
            help="A CSV of the province's own devices (docs/sink.md): its kinds replace "
            "the profile's",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count; do not touch ClickHouse")
    ] = False,
    write_profile: Annotated[
        Path | None,
        typer.Option(help="Also write the resulting profile here (for IOC_PROVINCE_PROFILE)"),
    ] = None,
) -> None:
    """Load the profile's areas (with ancestor paths) and entities into ClickHouse."""
    from ioc.ops.db.executors import ClickHouseExecutor
    from ioc.ops.db.maintenance import load_entities
    from schemas.province.entities import EntityKind
    from schemas.province.inventory import load_inventory
    from schemas.province.loading import load_profile

    chosen = load_profile(profile)
    if inventory is not None:
        merged = load_inventory(inventory, chosen)
        chosen = merged.profile
        for kind in EntityKind:
            source = "inventory" if kind in merged.replaced else "profile"
            console.print(f"{kind}: {merged.counts[kind]} (from the {source})")
    if write_profile is not None:
        write_profile.write_text(chosen.to_json_text(), encoding="utf-8")
        console.print(f"wrote {write_profile}")
    if dry_run:
        console.print(f"dry run: {len(chosen.areas.areas)} areas; nothing written to ClickHouse")
        return
    settings = _settings(ctx)
    executor = ClickHouseExecutor.from_settings(settings)
    try:
        report = load_entities(
            executor, settings.clickhouse_database, chosen, cluster=settings.clickhouse_cluster
        )
    finally:
        executor.close()
    console.print(
        f"loaded {report.areas} areas, {report.area_paths} area paths, {report.entities} entities"
    )


@db_app.command("retention")
def db_retention(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would go")] = False,
) -> None:
    """Drop raw-event partitions older than IOC_RAW_RETENTION_DAYS (servers without TTL)."""
    from ioc.ops.db.executors import ClickHouseExecutor
    from ioc.ops.db.maintenance import drop_expired, expired_partitions, today_local
    from schemas.timeutil import utcnow

    settings = _settings(ctx)
    executor = ClickHouseExecutor.from_settings(settings)
    today = today_local(utcnow())
    db, days = settings.clickhouse_database, settings.raw_retention_days
    try:
        gone = (
            expired_partitions(executor, db, days, today, cluster=settings.clickhouse_cluster)
            if dry_run
            else drop_expired(executor, db, days, today, cluster=settings.clickhouse_cluster)
        )
    finally:
        executor.close()
    verb = "would drop" if dry_run else "dropped"
    for table, month in gone:
        console.print(f"{verb} {table} partition {month}")
    if not gone:
        console.print(f"nothing older than {days} days")


@db_app.command("erase")
def db_erase(
    ctx: typer.Context,
    reason: Annotated[
        str, typer.Option(help="Why: the request's reference (stored; never the identifier)")
    ],
    subject_hash: Annotated[
        str | None, typer.Option("--subject-hash", help="HMAC of the person's id, as stored")
    ] = None,
    identifier: Annotated[
        str | None,
        typer.Option(
            "--identifier",
            help="The raw citizen id or plate: hashed with the current and every previous "
            "PII key (IOC_PII_PREVIOUS_KEYS), so rows from before a rotation go too",
        ),
    ] = None,
) -> None:
    """Erase one person: recorded in the erasure register, then their rows deleted."""
    from ioc.ops.db.erasure import Erasure, clean_reason, erase
    from ioc.ops.db.executors import ClickHouseExecutor
    from ioc.wiring.connectors import hasher_ring

    if (subject_hash is None) == (identifier is None):
        raise typer.BadParameter("give exactly one of --subject-hash and --identifier")
    settings = _settings(ctx)
    why = clean_reason(reason, identifier)
    if identifier is not None:
        targets = [Erasure(h.hash(identifier), h.key_id, why) for h in hasher_ring(settings)]
    else:
        targets = [Erasure(str(subject_hash), "given", why)]
    executor = ClickHouseExecutor.from_settings(settings)
    try:
        found = erase(
            executor, settings.clickhouse_database, targets, skew_s=settings.max_clock_skew_s,
            settle_s=settings.erase_settle_s, report=console.print,
            cluster=settings.clickhouse_cluster,
        )  # fmt: skip
    finally:
        executor.close()
    for key_id, tables in found.items():
        for table, n in tables.items():
            console.print(f"{table}: {n} rows erased (key {key_id})")


@db_app.command("panel-access")
def db_panel_access(ctx: typer.Context) -> None:
    """Panel views run with their definer's rights; print Grafana's GRANTs (decision 0037)."""
    from ioc.ops.db.access import definer_views, grafana_grants
    from ioc.ops.db.executors import ClickHouseExecutor

    settings = _settings(ctx)
    executor = ClickHouseExecutor.from_settings(settings)
    try:
        done = definer_views(executor, settings.clickhouse_database)
    finally:
        executor.close()
    if done:
        console.print(f"{len(done)} views now SQL SECURITY DEFINER")
    else:
        console.print("no SQL SECURITY on this server (18.16): Grafana's user reads the database")
    for grant in grafana_grants(settings.clickhouse_database, settings.clickhouse_grafana_user):
        print(f"{grant};")


@bench_app.command("sink-load")
def bench_sink_load(
    ctx: typer.Context,
    rows: Annotated[int, typer.Option(help="Traffic events to pre-load")] = 1_000_000,
) -> None:
    """Rows/s the sink writes: pre-load N traffic events, time the sink until all are in."""
    from ioc.tooling.bench.sink_load import run

    result = run(_settings(ctx), rows)
    console.print(
        f"sink wrote {result.rows:,} rows in {result.sink_s:.1f} s = "
        f"[bold]{result.rows_per_s:,.0f} rows/s[/bold] (pre-load took {result.produce_s:.1f} s)"
    )


@bench_app.command("run")
def bench_run(
    ctx: typer.Context,
    quick: Annotated[
        bool, typer.Option("--quick", help="Small data, short phases (≈ 1 min)")
    ] = False,
    events: Annotated[int | None, typer.Option(help="Events in the data set")] = None,
    copies: Annotated[
        int | None, typer.Option(help="Profile clones (entities ≈ 324 × copies)")
    ] = None,
    rate: Annotated[
        float | None, typer.Option(help="Fixed rate of the latency phase, events/s")
    ] = None,
    duration: Annotated[float | None, typer.Option(help="Latency phase length, s")] = None,
    lateness: Annotated[
        int | None, typer.Option(help="Allowed lateness in the latency phase, s")
    ] = None,
    workers: Annotated[str | None, typer.Option(help="Worker counts, e.g. 1,2,3")] = None,
    no_peer: Annotated[bool, typer.Option("--no-peer", help="Skip the Quix Streams peer")] = False,
    phases: Annotated[
        str | None, typer.Option(help="Only these: baseline,saturation,latency,peer,recovery")
    ] = None,
    recovery_copies: Annotated[
        int | None, typer.Option(help="Profile clones of the recovery phase (310 ≈ 100,000)")
    ] = None,
    recovery_events: Annotated[
        int | None, typer.Option(help="Events of the recovery phase's data set")
    ] = None,
    profile: Annotated[
        bool, typer.Option("--profile", help="py-spy the 1-worker saturation")
    ] = False,
    out: Annotated[Path | None, typer.Option(help="Result directory (bench-results/)")] = None,
) -> None:
    """Baseline, saturation, fixed-rate latency, Quix peer, recovery: one run, one JSON."""
    from dataclasses import replace

    from ioc.tooling.bench.report import show
    from ioc.tooling.bench.run import QUICK, BenchOptions
    from ioc.tooling.bench.run import run as run_bench

    options = QUICK if quick else BenchOptions()
    changes: dict[str, object] = {
        k: v
        for k, v in {"events": events, "copies": copies, "rate": rate, "duration_s": duration,
                     "lateness_s": lateness, "out_dir": out, "recovery_copies": recovery_copies,
                     "recovery_events": recovery_events}.items()
        if v is not None
    }  # fmt: skip
    if phases:
        changes["phases"] = tuple(p.strip() for p in phases.split(","))
    if workers:
        counts = tuple(int(w) for w in workers.split(","))
        changes["workers"] = counts
        changes["latency_workers"] = counts if not quick else counts[:1]
    options = replace(options, peer=not no_peer, profile=profile, **changes)  # type: ignore[arg-type]
    result, path = run_bench(_settings(ctx), options, console)
    show(result, console)
    console.print(f"wrote {path}")


@schemas_app.command("export")
def schemas_export() -> None:
    """Write the JSON Schema files of every contract to schemas/json/."""
    from schemas.export import write

    for path in write():
        console.print(f"wrote {path}")


def main() -> None:
    """Entry point: turn project errors into a clear message and exit code 1."""
    try:
        app()
    except IocError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise SystemExit(1) from None
