"""``ioc backtest``: the stream's detector code, offline, over a CSV series or a JSONL of events."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from ioc.settings import Settings
from ioc.tooling.backtest import (
    BacktestInputError,
    backtest_csv,
    backtest_events,
    detector_params,
)
from schemas.province.loading import DEFAULT_PROFILE, load_profile


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BacktestInputError(f"unknown time zone {name!r}") from None


def backtest_command(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", help="CSV to write")],
    input_path: Annotated[
        Path | None,
        typer.Option("--input", help="CSV of timestamp,value rows (one series)", exists=True),
    ] = None,
    detector: Annotated[
        str | None,
        typer.Option(
            help="seasonal, contextual or a rule name (default: what an unknown metric gets)"
        ),
    ] = None,
    params_file: Annotated[
        Path | None, typer.Option("--params", help="JSON overriding detector parameters")
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", help="Zone of naive timestamps [Asia/Ho_Chi_Minh]")
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option(help="JSONL of events instead of --input (aggregated to 1-minute points)"),
    ] = None,
    metric: Annotated[
        str | None, typer.Option(help="With --events: the metric to detect on")
    ] = None,
    profile: Annotated[
        str, typer.Option(help="Province profile (name or file): thresholds, holidays")
    ] = DEFAULT_PROFILE,
) -> None:
    """Run the stream's detectors offline; one output row per input row."""
    settings = ctx.obj
    assert isinstance(settings, Settings)
    params = detector_params(params_file, profile)
    zone = _zone(tz or settings.display_timezone)
    if (input_path is None) == (events is None):
        raise typer.BadParameter("give exactly one of --input or --events")
    if input_path is not None:
        rows, anomalies = backtest_csv(input_path, output, params, zone=zone, detector=detector)
    else:
        if metric is None:
            raise typer.BadParameter("--events needs --metric")
        assert events is not None
        rows, anomalies = backtest_events(
            events, output, params, metric=metric, profile=load_profile(profile), detector=detector
        )
    typer.echo(f"{rows} rows, {anomalies} anomalies opened → {output}")
