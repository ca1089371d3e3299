"""``ioc replay reset-group | copy | rebuild | promote | generations``: replay for engineers.

Every verb that changes anything takes ``--dry-run`` (print the plan) or ``--execute``
(carry it out), as ``kafka-consumer-groups --reset-offsets`` does; neither is a default.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ioc.ops.replay.times import ReplayUsageError, local, parse_instant, parse_range
from ioc.settings import Settings
from schemas.results import Domain
from schemas.timeutil import to_ms

if TYPE_CHECKING:
    from clickhouse_driver import Client
    from kafka.admin import KafkaAdminClient

    from ioc.ops.replay.rebuild import RebuildPlan, RebuildSummary

app = typer.Typer(
    help="Replay: reset a group, copy a time range, rebuild KPIs.", no_args_is_help=True
)
console = Console()

DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing")]
Execute = Annotated[bool, typer.Option("--execute", help="Carry the plan out")]


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


def _mode(dry_run: bool, execute: bool) -> bool:
    """True to execute; exactly one of the two flags, as Kafka's own tools insist."""
    if dry_run == execute:
        raise ReplayUsageError("pass exactly one of --dry-run (show the plan) or --execute")
    return execute


@contextmanager
def _admin(settings: Settings) -> Iterator[KafkaAdminClient]:
    from ioc.ops.kafka_admin import admin_client

    admin = admin_client(settings)
    try:
        yield admin
    finally:
        admin.close()


def _progress(total: int, what: str) -> Progress:
    bar = Progress(
        TextColumn(f"[bold]{what}[/bold]"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console,
    )  # fmt: skip
    bar.add_task(what, total=max(total, 1))
    return bar


# --- reset-group -----------------------------------------------------------------------


@app.command("reset-group")
def reset_group(
    ctx: typer.Context,
    group: Annotated[str, typer.Option(help="Consumer group (stopped)")],
    topic: Annotated[str, typer.Option(help="Topic whose offsets move")],
    to_datetime: Annotated[
        str | None, typer.Option("--to-datetime", help="ISO 8601 with offset")
    ] = None,
    to_offsets: Annotated[
        Path | None,
        typer.Option(
            "--to-offsets", exists=True, dir_okay=False, help="CSV topic,partition,offset"
        ),
    ] = None,
    to_earliest: Annotated[bool, typer.Option("--to-earliest")] = False,
    dry_run: DryRun = False,
    execute: Execute = False,
) -> None:
    """Move a stopped consumer group's offsets (refuses while it has members)."""
    from ioc.ops.replay import reset

    run = _mode(dry_run, execute)
    settings = _settings(ctx)
    target = reset.Target(
        to_ms=None if to_datetime is None else to_ms(parse_instant(to_datetime, "--to-datetime")),
        offsets=None if to_offsets is None else reset.read_offsets_file(to_offsets, topic),
        earliest=to_earliest,
    )
    with _admin(settings) as admin:
        moves = reset.plan(admin, group, topic, target)
        active = reset.members(admin, group)
        table = Table("topic", "partition", "current", "new", "earliest", "end", "to re-read",
                      title=f"group {group}")  # fmt: skip
        for m in moves:
            table.add_row(m.topic, str(m.partition), "-" if m.current is None else str(m.current),
                          str(m.new), str(m.earliest), str(m.end), str(m.lag_after))  # fmt: skip
        console.print(table)
        if active:
            console.print(f"[yellow]the group has {len(active)} member(s): {', '.join(active)}")
        if not run:
            console.print("dry run: nothing changed (use --execute)")
            return
        reset.execute(admin, group, moves)
    console.print(f"[green]group {group} reset on {len(moves)} partition(s) of {topic}")


# --- copy ------------------------------------------------------------------------------


@app.command("copy")
def copy_command(
    ctx: typer.Context,
    topic: Annotated[str, typer.Option(help="Source topic")],
    start: Annotated[str, typer.Option("--from", help="ISO 8601 with offset (inclusive)")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601 with offset (exclusive)")],
    into: Annotated[
        str, typer.Option("--into", help="Target topic (created, unlimited retention)")
    ],
    rate: Annotated[float | None, typer.Option(help="At most N records/s")] = None,
    dry_run: DryRun = False,
    execute: Execute = False,
) -> None:
    """Copy records whose timestamp is in [from, to) to another topic, partition for partition."""
    from ioc.ops.replay import copy

    run = _mode(dry_run, execute)
    settings = _settings(ctx)
    lo, hi = parse_range(start, end)
    with _admin(settings) as admin:
        plan = copy.plan(admin, settings, topic, into, lo, hi)
        table = Table("partition", "from offset", "to offset", "records", title=f"{topic} → {into}")
        for s in plan.spans:
            table.add_row(str(s.partition), str(s.start), str(s.stop), str(s.size))
        console.print(table)
        console.print(
            f"{local(lo)} → {local(hi)}; target {'exists' if plan.target_exists else 'created'}"
            f" with {len(plan.spans)} partitions, retention unlimited"
        )
        if not run:
            console.print("dry run: nothing copied (use --execute)")
            return
        erased = copy.erased_subjects(settings)
        with _progress(plan.records, "copying") as bar:
            summary = copy.execute(
                admin, settings, plan, erased=erased, rate=rate,
                progress=lambda n: bar.advance(bar.task_ids[0], n),
            )  # fmt: skip
    out = Table("partition", "messages", title="copied")
    for p, n in sorted(summary.per_partition.items()):
        out.add_row(str(p), f"{n:,}")
    console.print(out)
    console.print(
        f"{summary.messages:,} messages, {summary.bytes:,} bytes in {summary.seconds:.1f} s; "
        f"{summary.skipped_outside:,} read but outside the time range; "
        f"{summary.skipped_erased:,} left out: erased subjects ({len(erased):,} in the register)"
    )


# --- rebuild ---------------------------------------------------------------------------


@app.command("rebuild")
def rebuild_command(
    ctx: typer.Context,
    start: Annotated[str, typer.Option("--from", help="ISO 8601 with offset")],
    end: Annotated[str, typer.Option("--to", help="ISO 8601 with offset")],
    into_database: Annotated[
        str | None, typer.Option("--into-database", help="Write to this database instead")
    ] = None,
    promote: Annotated[bool, typer.Option("--promote", help="Panels read it when done")] = False,
    domain: Annotated[
        list[Domain] | None, typer.Option("--domain", help="Only these domains (repeatable)")
    ] = None,
    dry_run: DryRun = False,
    execute: Execute = False,
) -> None:
    """Recompute KPIs and anomalies of [from, to) under a new generation."""
    from ioc.ops.replay import rebuild

    run = _mode(dry_run, execute)
    settings = _settings(ctx)
    lo, hi = parse_range(start, end)
    client = _clickhouse(settings)
    try:
        with _admin(settings) as admin:
            plan = rebuild.plan(admin, client, settings, lo, hi, into_database=into_database,
                                promote=promote, domains=domain)  # fmt: skip
            _print_rebuild_plan(plan)
            if not run:
                console.print("dry run: nothing written (use --execute)")
                return
            with _progress(plan.records, "rebuilding") as bar:
                summary = rebuild.execute(
                    settings, admin, client, plan,
                    progress=lambda n: bar.advance(bar.task_ids[0], n),
                )  # fmt: skip
    finally:
        client.disconnect()
    _print_rebuild_summary(plan, summary)


def _clickhouse(settings: Settings) -> Client:
    from ioc.ops.db.executors import clickhouse_client

    return clickhouse_client(settings, role="replay", connect_timeout=5, send_receive_timeout=120)


def _print_rebuild_plan(plan: RebuildPlan) -> None:
    where = "in place" if plan.in_place else f"into database {plan.database}"
    console.print(
        f"generation [bold]{plan.generation}[/bold] (application id {plan.app_id}), {where}\n"
        f"range {local(plan.from_ms)} → {local(plan.to_ms)}; reads "
        f"{local(plan.read_from_ms)} → {local(plan.read_to_ms)} (lookback, lateness, skew)"
    )
    table = Table("topic", "partition", "from offset", "to offset", "records")
    for d, spans in plan.spans.items():
        for s in spans:
            table.add_row(plan.topics[d], str(s.partition), str(s.start), str(s.stop), str(s.size))
    console.print(table)


def _print_rebuild_summary(plan: RebuildPlan, summary: RebuildSummary) -> None:
    table = Table("table", "written", "unchanged", "changed", "new", "only before",
                  title=f"generation {plan.generation} vs what panels read")  # fmt: skip
    for name, t in sorted(summary.tables.items()):
        table.add_row(name, f"{t.written:,}", f"{t.unchanged:,}", f"{t.changed:,}", f"{t.new:,}",
                      f"{t.only_before:,}")  # fmt: skip
    console.print(table)
    outcomes = ", ".join(f"{k} {v:,}" for k, v in sorted(summary.outcomes.items()))
    console.print(
        f"{summary.records:,} records read ({outcomes}); {summary.anomalies} anomalies written "
        f"(never posted); {summary.held_back} windows in range not yet final (not written); "
        f"{summary.seeded_dossiers} open dossiers from the snapshot; {summary.seconds:.1f} s"
    )
    if summary.rejected:
        console.print(f"[red]{summary.rejected} rows refused by ClickHouse")
    if plan.in_place and plan.promote:
        console.print(f"[green]generation {plan.generation} promoted: panels read it now")
    elif plan.in_place:
        console.print(
            f"not promoted: `ioc replay promote --generation {plan.generation} --execute` "
            "switches the panels to it"
        )


# --- generations -----------------------------------------------------------------------


@app.command("generations")
def generations_command(ctx: typer.Context) -> None:
    """List the generations recorded in ClickHouse."""
    from ioc.ops.replay.generations import Registry

    settings = _settings(ctx)
    client = _clickhouse(settings)
    try:
        rows = Registry(client, settings.clickhouse_database).all()
    finally:
        client.disconnect()
    table = Table("generation", "kind", "application id", "range", "status", "promoted", "note")
    for g in rows:
        span = (
            "all"
            if g.range_from_ms is None or g.range_to_ms is None
            else (f"{local(g.range_from_ms)} → {local(g.range_to_ms)}")
        )
        table.add_row(str(g.generation), g.kind, g.application_id, span, g.status,
                      "yes" if g.promoted else "no", g.note)  # fmt: skip
    console.print(table)


@app.command("promote")
def promote_command(
    ctx: typer.Context,
    generation: Annotated[int, typer.Option(help="A completed rebuild generation")],
    undo: Annotated[bool, typer.Option("--undo", help="Un-promote it instead")] = False,
    dry_run: DryRun = False,
    execute: Execute = False,
) -> None:
    """Make panels read a rebuild's rows for the windows it covers (or stop, with --undo)."""
    import dataclasses

    from ioc.ops.replay.generations import KIND_REBUILD, Registry

    run = _mode(dry_run, execute)
    settings = _settings(ctx)
    client = _clickhouse(settings)
    try:
        registry = Registry(client, settings.clickhouse_database)
        found = registry.get(generation)
        if found is None or found.kind != KIND_REBUILD:
            raise ReplayUsageError(f"generation {generation} is not a recorded rebuild")
        if found.status not in {"complete", "promoted"}:
            raise ReplayUsageError(f"generation {generation} is {found.status}, not complete")
        verb = "un-promote" if undo else "promote"
        console.print(f"{verb} generation {generation} ({found.note})")
        if not run:
            console.print("dry run: nothing changed (use --execute)")
            return
        registry.record(
            dataclasses.replace(found, promoted=not undo, status="complete" if undo else "promoted")
        )
    finally:
        client.disconnect()
    console.print(f"[green]generation {generation} {'un-promoted' if undo else 'promoted'}")
