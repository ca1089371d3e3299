"""``ioc topics``: the registry's topics and the principals' ACLs on Kafka."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ioc.settings import Settings

app = typer.Typer(
    help="Kafka topics from the registry, and who may use them.", no_args_is_help=True
)
console = Console()


def _settings(ctx: typer.Context) -> Settings:
    # The root callback builds Settings; sub-command contexts inherit its obj.
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


@app.command("create")
def topics_create(ctx: typer.Context) -> None:
    """Create missing topics and align retention/cleanup with the registry (idempotent)."""
    from ioc.ops.kafka_admin import admin_client, ensure_topics
    from schemas.topics import registry

    settings = _settings(ctx)
    admin = admin_client(settings)
    try:
        results = ensure_topics(
            admin,
            registry(settings.replay_horizon_days),
            profile=settings.partition_profile,
            replication_factor=settings.replication_factor,
        )
    finally:
        admin.close()
    table = Table("topic", "action", "detail")
    for result in results:
        table.add_row(result.name, result.action, result.detail)
    console.print(table)
    if any(r.action == "partition-mismatch" for r in results):
        raise typer.Exit(1)


@app.command("acls")
def topics_acls(
    ctx: typer.Context,
    dry_run: Annotated[bool, typer.Option(help="Print the table, change nothing")] = False,
) -> None:
    """Grant each component's principal its job on Kafka, nothing more (idempotent)."""
    from ioc.ops.kafka_acls import apply_grants, grants
    from ioc.ops.kafka_admin import admin_client

    table = Table("principal", "resource", "prefix", "operations")
    for grant in grants():
        table.add_row(grant.principal, grant.resource, grant.prefix, " ".join(grant.operations))
    console.print(table)
    if dry_run:
        return
    admin = admin_client(_settings(ctx))
    try:
        console.print(f"{apply_grants(admin, grants())} ACLs in place")
    finally:
        admin.close()
