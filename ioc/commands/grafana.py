"""``ioc grafana``: build the dashboards and provisioning files, publish them to Grafana."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from ioc import assets
from ioc.settings import Settings

app = typer.Typer(help="Grafana dashboards as code.", no_args_is_help=True)
console = Console()


def _settings(ctx: typer.Context) -> Settings:
    settings = ctx.obj
    assert isinstance(settings, Settings)
    return settings


@app.command("build")
def build(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help="Only report stale files; exit 1 if any")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Grafana directory to write (dashboards/, provisioning/); default "
            "deploy/grafana of the checkout. Required when ioc is installed from a wheel.",
        ),
    ] = None,
) -> None:
    """Regenerate <dir>/dashboards/<language>/*.json and <dir>/provisioning (deploy/grafana)."""
    from ioc.ops.grafana.build import stale, write_all
    from schemas.province.loading import load_profile

    if out is None and not check and assets.is_packaged():
        console.print(f"[red]error:[/red] the installed files ({assets.grafana_dir()}) are "
                      "the package's own: pass --out DIR")  # fmt: skip
        raise typer.Exit(2)
    root = out.resolve() if out is not None else None
    profile = load_profile(_settings(ctx).province_profile)
    changed = stale(profile, root) if check else write_all(profile, root)
    base = root or assets.grafana_dir()
    for path in changed:
        console.print(f"{'stale' if check else 'wrote'} {base.name}/{path.relative_to(base)}")
    if not changed:
        console.print("dashboards and provisioning files are up to date")
    if check and changed:
        raise typer.Exit(1)


@app.command("push")
def push(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing")
    ] = False,
) -> None:
    """Publish the data sources, the IOC folder and the dashboards (IOC_DASHBOARD_LANGUAGE)."""
    from ioc.ops.grafana.build import dashboards
    from ioc.ops.grafana.push import client, offline_plan, plan_and_apply
    from schemas.errors import ServiceUnavailableError
    from schemas.province.loading import load_profile

    settings = _settings(ctx)
    profile = load_profile(settings.province_profile)
    language = settings.dashboard_language
    wanted = [d.to_json(language, profile.timezone) for d in dashboards(profile)]
    try:
        changes = plan_and_apply(client(settings), settings, wanted, dry_run=dry_run)
    except ServiceUnavailableError as exc:
        if not dry_run:
            raise
        console.print(f"[yellow]{exc}[/yellow]: showing everything push would publish")
        changes = offline_plan(wanted)
    verb = "would" if dry_run else "did"
    table = Table("kind", "uid", "title", f"{verb}", "detail", title=settings.grafana_url)
    for change in changes:
        table.add_row(change.kind, change.uid, change.title, change.action, change.detail)
    console.print(table)
    counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "unchanged")}
    console.print(", ".join(f"{n} {a}" for a, n in counts.items()))
